"""A small multilayer perceptron for yes/no questions on tabular features.

The companion PyTorch course's diabetes classifier ("multiple-dimension input" and "Dataset and
DataLoader" lectures): 8 features -> 6 -> 4 -> 1 with sigmoid activations, binary cross-entropy,
SGD lr 0.1. The course ends with a sigmoid and ``BCELoss``; here the last sigmoid is folded into the
loss (:class:`~zoo.core.base.BinaryClassifier`), which computes the same value, stably.
"""

from __future__ import annotations

from torch import nn

from ..core.base import BinaryClassifier
from ..core.checks import check_choice
from ..core.init import init_weights
from ..core.registry import Book, register_model

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}


def binary_mlp(num_inputs: int, num_hiddens: list[int], activation: str = "sigmoid") -> nn.Sequential:
    """Linear layers of widths ``num_inputs -> *num_hiddens -> 1``, `activation` after each hidden layer."""
    widths = [num_inputs, *num_hiddens]
    layers: list[nn.Module] = []
    for i, o in zip(widths, widths[1:]):
        layers += [nn.Linear(i, o), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 1))


class BinaryMLP(BinaryClassifier):
    """The course's 8-6-4-1 sigmoid network (by default); ``forward`` returns the logit of class 1.

    Args:
        num_inputs: feature columns (the diabetes table: 8); None: the data module's, once it has read its file.
        num_hiddens: hidden layer widths.
        activation: ``sigmoid`` (the course) or ``relu`` (the course's suggested experiment).
        init: ``default`` (PyTorch's, as the course), ``normal`` or ``xavier``.
    """

    def __init__(
        self,
        num_inputs: int | None = 8,
        num_hiddens: list[int] = [6, 4],  # noqa: B006
        activation: str = "sigmoid",
        init: str = "default",
        lr: float = 0.1,
        **kwargs,
    ) -> None:
        super().__init__(lr=lr, **kwargs)
        check_choice("activation", activation, tuple(ACTIVATIONS))
        if (num_inputs is not None and num_inputs < 1) or any(h < 1 for h in num_hiddens):
            raise ValueError(f"layer widths must be positive, got num_inputs={num_inputs}, num_hiddens={num_hiddens}")
        self.net: nn.Sequential | None = None
        if num_inputs is not None:
            self.build()

    def build(self) -> None:
        """The layers, once ``num_inputs`` is known (given, or the data module's: see :mod:`zoo.core.links`)."""
        hp = self.hparams
        self.net = init_weights(binary_mlp(hp.num_inputs, list(hp.num_hiddens), hp.activation), hp.init)

    def configure_model(self) -> None:
        super().configure_model()
        if self.net is None:
            raise ValueError("BinaryMLP needs num_inputs: give it, or train on a data module that has it")


register_model(
    "course_diabetes",
    BinaryMLP,
    network="PyTorch course: diabetes MLP 8-6-4-1, BCE",
    book=Book(course=("7 Multiple Dimension Input", "8 Dataset and DataLoader")),
    configs=["course/diabetes.yaml"],
    data="CSVTable",
    input_shape=(8,),
)
