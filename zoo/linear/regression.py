"""Linear regression (book sections "Linear Regression Implementation from Scratch" and "Concise
Implementation of Linear Regression"): y = Xw + b on squared loss, from scratch and concise.

``impl="scratch"`` keeps w and b as hand-made parameters and the hand-written squared loss (train it with
``optimizer: sgd-scratch`` for the book's whole scratch version); ``impl="concise"`` uses ``nn.Linear``
and ``F.mse_loss``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.base import Regressor
from ..core.checks import check_impl
from ..core.init import init_weights
from ..core.registry import Book, register_model

# --- scratch pieces (hand-written, as the book teaches them) -------------------------------------


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Scratch: mean of (y_hat - y)^2 / 2."""
    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).mean()


def linear_parameters(num_inputs: int, num_outputs: int, init: str = "normal") -> tuple[nn.Parameter, nn.Parameter]:
    """Scratch: W (num_inputs, num_outputs) and b for X @ W + b. ``normal`` draws W ~ N(0, 0.01) and b = 0 as the
    book does; another scheme takes the weights of an equally initialised ``nn.Linear``."""
    if init == "normal":
        return nn.Parameter(torch.normal(0, 0.01, (num_inputs, num_outputs))), nn.Parameter(torch.zeros(num_outputs))
    linear = init_weights(nn.Linear(num_inputs, num_outputs), init)
    return nn.Parameter(linear.weight.detach().T.clone()), nn.Parameter(linear.bias.detach().clone())


# --- the model ---------------------------------------------------------------------------------


class LinearRegression(Regressor):
    """y = Xw + b, trained on squared loss; prints its estimate of w and b after fit.

    Args:
        num_inputs: input features (on the command line: the data module's ``num_inputs``).
        impl: ``scratch`` (hand-made w, b and squared loss) or ``concise`` (``nn.Linear``, ``F.mse_loss``).
        lr: learning rate (the book: 0.03).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``normal``, N(0, 0.01).
    """

    def __init__(
        self, num_inputs: int = 2, impl: str = "concise", lr: float = 0.03, init: str = "normal", **kwargs
    ) -> None:
        super().__init__(lr=lr, **kwargs)
        self.impl = check_impl(impl)
        if impl == "scratch":
            self.w, self.b = linear_parameters(num_inputs, 1, init)
        else:
            self.net = init_weights(nn.Linear(num_inputs, 1), init)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.impl == "scratch":
            return X @ self.w + self.b
        return self.net(X)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return squared_loss(y_hat, y) if self.impl == "scratch" else super().loss(y_hat, y)

    def get_w_b(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The estimated weights (flattened) and bias."""
        if self.impl == "scratch":
            return self.w.detach().reshape(-1), self.b.detach()
        return self.net.weight.detach().reshape(-1), self.net.bias.detach()

    def on_fit_end(self) -> None:
        w, b = (t.cpu() for t in self.get_w_b())
        self.print(f"estimated w = {[round(v, 4) for v in w.tolist()]}, b = {b.item():.4f}")


register_model(
    "linear_regression",
    LinearRegression,
    network="Linear regression",
    book=Book(
        v1=("3.4 Linear Regression Implementation from Scratch", "3.5 Concise Implementation of Linear Regression"),
        v017=("3.2 Linear Regression Implementation from Scratch", "3.3 Concise Implementation of Linear Regression"),
    ),
    configs=["linear/linear_regression.yaml"],
    data="SyntheticRegression",
    input_shape=(2,),
    variants={"impl": ("scratch", "concise")},
)
