"""Softmax regression (book sections "Softmax Regression Implementation from Scratch" and "Concise
Implementation of Softmax Regression"): one linear layer from flattened pixels to class scores.

``impl="scratch"`` builds the softmax and the cross-entropy by hand; ``impl="concise"`` returns logits
and uses ``F.cross_entropy``, which fuses log-softmax for numerical stability.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.base import Classifier
from ..core.checks import check_impl
from ..core.init import init_weights
from ..core.registry import Book, register_model
from .regression import linear_parameters

# --- scratch pieces (hand-written, as the book teaches them) -------------------------------------


def softmax(X: torch.Tensor) -> torch.Tensor:
    """Scratch: exp(X) / row sums (the max is subtracted first so large logits do not overflow)."""
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Scratch: mean of -log of the probability given to the true class."""
    return -torch.log(y_hat[torch.arange(len(y_hat)), y]).mean()


# --- the model ---------------------------------------------------------------------------------


class SoftmaxRegression(Classifier):
    """Flattened inputs -> one linear layer -> class scores, W ~ N(0, 0.01).

    Scratch: ``forward`` returns probabilities from the hand-written softmax and the loss is the
    hand-written cross-entropy. Concise: ``forward`` returns logits.

    Args:
        num_inputs: input features, 784 = 28 x 28 pixels (on the command line: the data module's).
        num_classes: output classes (the book's ``num_outputs``).
        impl: ``scratch`` or ``concise``.
        lr: learning rate (the book: 0.1).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``normal``.
    """

    def __init__(
        self,
        num_inputs: int = 784,
        num_classes: int = 10,
        impl: str = "concise",
        lr: float = 0.1,
        init: str = "normal",
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.impl = check_impl(impl)
        if impl == "scratch":
            self.W, self.b = linear_parameters(num_inputs, num_classes, init)
        else:
            self.net = init_weights(nn.Sequential(nn.Flatten(), nn.Linear(num_inputs, num_classes)), init)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.impl == "scratch":
            return softmax(X.reshape(-1, self.W.shape[0]) @ self.W + self.b)
        return self.net(X)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return cross_entropy(y_hat, y) if self.impl == "scratch" else super().loss(y_hat, y)


register_model(
    "softmax_regression",
    SoftmaxRegression,
    network="Softmax regression",
    book=Book(
        v1=("4.4 Softmax Regression Implementation from Scratch", "4.5 Concise Implementation of Softmax Regression"),
        v017=(
            "3.6 Implementation of Softmax Regression from Scratch",
            "3.7 Concise Implementation of Softmax Regression",
        ),
    ),
    configs=["linear/softmax_regression.yaml"],
    data="FashionMNIST",
    input_shape=(1, 28, 28),
    variants={"impl": ("scratch", "concise")},
)
