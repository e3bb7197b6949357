"""Linear neural networks: linear regression and softmax regression, each from scratch and concise.

Book sections "Linear Regression Implementation from Scratch", "Concise Implementation of Linear
Regression", "Softmax Regression Implementation from Scratch" and its concise twin.
``impl="scratch"`` builds what the book builds by hand; ``impl="concise"`` uses ``torch.nn``.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Classifier, Regressor
from .init import init_weights

IMPLS = ("scratch", "concise")


def check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    return impl


# --- scratch pieces (hand-written, as the book teaches them) -------------------------------------


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Scratch: mean of (y_hat - y)^2 / 2."""
    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).mean()


def softmax(X: torch.Tensor) -> torch.Tensor:
    """Scratch: exp(X) / row sums (the max is subtracted first so large logits do not overflow)."""
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Scratch: mean of -log of the probability given to the true class."""
    return -torch.log(y_hat[torch.arange(len(y_hat)), y]).mean()


# --- linear regression ---------------------------------------------------------------------------


class LinearRegression(Regressor):
    """y = Xw + b, trained on squared loss. After fit it prints how far w and b are from the truth."""

    def __init__(self, num_inputs: int = 2, impl: str = "concise", lr: float = 0.03, **kwargs) -> None:
        super().__init__(lr=lr, **kwargs)
        self.impl = check_impl(impl)
        if impl == "scratch":
            self.w = nn.Parameter(torch.normal(0, 0.01, (num_inputs, 1)))
            self.b = nn.Parameter(torch.zeros(1))
        else:
            self.net = init_weights(nn.Linear(num_inputs, 1), "normal")

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.impl == "scratch":
            return X @ self.w + self.b
        return self.net(X)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return squared_loss(y_hat, y) if self.impl == "scratch" else super().loss(y_hat, y)

    def get_w_b(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.impl == "scratch":
            return self.w.detach().reshape(-1), self.b.detach()
        return self.net.weight.detach().reshape(-1), self.net.bias.detach()

    def on_fit_end(self) -> None:
        w, b = (t.cpu() for t in self.get_w_b())
        self.print(f"estimated w = {[round(v, 4) for v in w.tolist()]}, b = {b.item():.4f}")
        data = getattr(self.trainer, "datamodule", None)
        if data is not None and hasattr(data, "w"):
            w_err = (data.w - w).tolist()
            self.print(f"error in w: {[round(v, 4) for v in w_err]}, error in b: {data.b - b.item():.4f}")


# --- softmax regression --------------------------------------------------------------------------


class SoftmaxRegression(Classifier):
    """One linear layer from flattened pixels to class scores, W ~ N(0, 0.01).

    Scratch: ``forward`` returns probabilities from the hand-written softmax and the loss is the
    hand-written cross-entropy. Concise: ``forward`` returns logits and the loss is
    ``F.cross_entropy`` (which fuses log-softmax for numerical stability).
    """

    def __init__(
        self, num_inputs: int = 784, num_outputs: int = 10, impl: str = "concise", lr: float = 0.1, **kwargs
    ) -> None:
        super().__init__(num_classes=num_outputs, lr=lr, **kwargs)
        self.impl = check_impl(impl)
        if impl == "scratch":
            self.W = nn.Parameter(torch.normal(0, 0.01, (num_inputs, num_outputs)))
            self.b = nn.Parameter(torch.zeros(num_outputs))
        else:
            self.net = init_weights(nn.Sequential(nn.Flatten(), nn.Linear(num_inputs, num_outputs)), "normal")

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.impl == "scratch":
            return softmax(X.reshape(-1, self.W.shape[0]) @ self.W + self.b)
        return self.net(X)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return cross_entropy(y_hat, y) if self.impl == "scratch" else super().loss(y_hat, y)
