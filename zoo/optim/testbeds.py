"""The chapter's two testbeds, as registry entries of networks defined elsewhere.

- The optimizers' testbed (sections "Minibatch Stochastic Gradient Descent" to "Adam", 11.5-11.10 in 0.17 /
  12.5-12.10 in 1.0; the book's ``train_ch11``): a linear regression with the scratch version's own w ~ N(0, 0.01),
  b = 0 and squared loss / 2, on the standardised airfoil data (:class:`datamodules.Airfoil`), batch 10, 2 epochs;
  one config per optimizer with the section's hyperparameters (``configs/optim/airfoil_*.yaml``).
- The schedule study (section "Learning Rate Scheduling", 11.11 / 12.11): LeNet with ReLU and max-pooling and
  PyTorch's default initialisation on Fashion-MNIST, SGD, batch 256, 30 epochs; one config per schedule
  (``configs/optim/lenet_*.yaml``).
"""

from __future__ import annotations

from ..convnets.lenet import LeNet
from ..core.registry import Book, register_model
from ..linear.regression import LinearRegression

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "yogi")
AIRFOIL_CONFIGS = [f"optim/airfoil_{name}.yaml" for name in OPTIMIZERS]
SCHEDULE_CONFIGS = [
    f"optim/lenet_{name}.yaml" for name in ("constant", "square_root", "multi_factor", "cosine", "cosine_warmup")
]

register_model(
    "airfoil_regression",
    LinearRegression,
    network="Linear regression on the airfoil data (the optimizers' testbed)",
    book=Book(
        v1=(
            "12.5 Minibatch Stochastic Gradient Descent",
            "12.6 Momentum",
            "12.7 Adagrad",
            "12.8 RMSProp",
            "12.9 Adadelta",
            "12.10 Adam",
        ),
        v017=(
            "11.5 Minibatch Stochastic Gradient Descent",
            "11.6 Momentum",
            "11.7 Adagrad",
            "11.8 RMSProp",
            "11.9 Adadelta",
            "11.10 Adam",
        ),
    ),
    configs=AIRFOIL_CONFIGS,
    data="Airfoil",
    input_shape=(5,),
    kwargs={"impl": "scratch"},
)

register_model(
    "lenet_relu",
    LeNet,
    network="LeNet with ReLU and max-pooling (the schedule study)",
    book=Book(v1="12.11 Learning Rate Scheduling", v017="11.11 Learning Rate Scheduling"),
    configs=SCHEDULE_CONFIGS,
    data="FashionMNIST",
    input_shape=(1, 28, 28),
    kwargs={"activation": "relu", "pooling": "max", "init": "default"},
)
