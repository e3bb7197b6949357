"""Underfitting and overfitting (book section "Model Selection, Underfitting, and Overfitting"):
fit y = 5 + 1.2 x - 3.4 x^2/2! + 5.6 x^3/3! + noise with the first 2, 4 or 20 polynomial features
(data: :class:`datamodules.polynomial.PolynomialData`).

With 4 features the fit recovers the true weights; with 2 (a line) it underfits; with 20 it has
room to fit the noise of its 100 training examples (the book trains it for 1500 epochs).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Regressor


class PolynomialRegression(Regressor):
    """A linear layer without bias on ``num_features`` polynomial features; ``MSELoss``; SGD lr 0.01.

    The first feature is x^0 = 1, so its weight plays the bias. PyTorch's default initialisation,
    as in the book.
    """

    def __init__(self, num_features: int = 4, lr: float = 0.01, **kwargs) -> None:
        super().__init__(lr=lr, **kwargs)
        if num_features < 1:
            raise ValueError(f"num_features must be positive, got {num_features}")
        self.num_features = num_features
        self.net = nn.Linear(num_features, 1, bias=False)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)

    def setup(self, stage: str) -> None:
        data = getattr(self._trainer, "datamodule", None)
        features = getattr(data, "num_features", self.num_features)
        if features != self.num_features:
            raise ValueError(
                f"the model takes {self.num_features} features but the data gives {features}: "
                f"set --model.num_features and --data.num_features to the same value"
            )

    @property
    def weight(self) -> torch.Tensor:
        return self.net.weight.detach().reshape(-1)

    def on_fit_end(self) -> None:
        self.print(f"weight: {[round(v, 4) for v in self.weight.cpu().tolist()]}")
