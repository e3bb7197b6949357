"""Underfitting and overfitting (book section "Model Selection, Underfitting, and Overfitting"):
fit y = 5 + 1.2 x - 3.4 x^2/2! + 5.6 x^3/3! + noise with the first 2, 4 or 20 polynomial features
(data: :class:`datamodules.PolynomialData`).

With 4 features the fit recovers the true weights; with 2 (a line) it underfits; with 20 it has
room to fit the noise of its 100 training examples (the book trains it for 1500 epochs).
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.base import Regressor
from ..core.init import init_weights
from ..core.registry import Book, register_model


class PolynomialRegression(Regressor):
    """A linear layer without bias on the first `num_inputs` polynomial features; ``MSELoss``; SGD lr 0.01.

    The first feature is x^0 = 1, so its weight plays the bias.

    Args:
        num_inputs: polynomial features (on the command line: the data module's ``num_features``).
        lr: learning rate.
        init: weight initialisation (:mod:`zoo.core.init`); the book keeps PyTorch's ``default``.
    """

    def __init__(self, num_inputs: int = 4, lr: float = 0.01, init: str = "default", **kwargs) -> None:
        super().__init__(lr=lr, **kwargs)
        if num_inputs < 1:
            raise ValueError(f"num_inputs must be positive, got {num_inputs}")
        self.net = init_weights(nn.Linear(num_inputs, 1, bias=False), init)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)

    @property
    def weight(self) -> torch.Tensor:
        return self.net.weight.detach().reshape(-1)

    def on_fit_end(self) -> None:
        self.print(f"weight: {[round(v, 4) for v in self.weight.cpu().tolist()]}")


register_model(
    "polynomial_regression",
    PolynomialRegression,
    network="Polynomial fitting (underfitting and overfitting)",
    book=Book(v017="4.4 Model Selection, Underfitting, and Overfitting"),
    configs=["linear/polynomial.yaml"],
    data="PolynomialData",
    input_shape=(4,),
)
