"""AlexNet (book section "Deep Convolutional Neural Networks (AlexNet)"), in the book's Fashion-MNIST
variant: one input channel, 224x224 inputs, FC 6400-4096-4096-10 with dropout 0.5."""

from __future__ import annotations

import torch
from torch import nn

from ..base import Classifier
from ..init import init_weights


def check_dropout(p: float) -> float:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    return p


def check_input_size(X: torch.Tensor, size: int, network: str) -> None:
    """A clear error for networks whose fully connected layers fix the input side length."""
    if tuple(X.shape[-2:]) != (size, size):
        raise ValueError(
            f"{network} expects {size}x{size} inputs (set --data.resize {size}), got {tuple(X.shape[-2:])}"
        )


def alexnet(num_classes: int = 10, dropout: float = 0.5) -> nn.Sequential:
    """224x224x1 -> five convolutions (11x11/4, 5x5, 3x3 x3) with three max-pools -> 6400 -> 4096 -> 4096."""
    return nn.Sequential(
        # A large 11x11 window with stride 4 captures objects; many more output channels than LeNet
        nn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        # Smaller window, padding 2 keeps height and width, more output channels
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        # Three consecutive 3x3 convolutions
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        # Fully connected layers with dropout against overfitting
        nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(4096, num_classes),
    )  # fmt: skip


class AlexNet(Classifier):
    """AlexNet on 224x224 grey images; the book's recipe is SGD with lr 0.01, batch 128, 10 epochs.

    Args:
        num_classes: output classes.
        dropout: dropout probability after each hidden fully connected layer.
        lr: learning rate (the rest of the optimiser settings: see :class:`~zoo.base.ZooModule`).
    """

    input_size = 224

    def __init__(self, num_classes: int = 10, dropout: float = 0.5, lr: float = 0.01, **kwargs) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.net = init_weights(alexnet(num_classes, check_dropout(dropout)), "xavier")

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_input_size(X, self.input_size, "AlexNet")
        return self.net(X)
