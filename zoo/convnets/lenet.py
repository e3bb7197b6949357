"""LeNet-5 (book section "Convolutional Neural Networks (LeNet)"): sigmoid activations and average
pooling, as LeCun built it, with Xavier-initialised weights."""

from __future__ import annotations

from torch import nn

from ..base import Classifier
from ..init import init_weights


def lenet(num_classes: int = 10) -> nn.Sequential:
    """28x28x1 -> conv5(6, pad 2) -> avgpool -> conv5(16) -> avgpool -> 120 -> 84 -> num_classes."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )  # fmt: skip


class LeNet(Classifier):
    """LeNet on 28x28 grey images; the book's recipe is SGD with lr 0.9, batch 256, 10 epochs."""

    def __init__(self, num_classes: int = 10, lr: float = 0.9, **kwargs) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.net = init_weights(lenet(num_classes), "xavier")

    def forward(self, X):
        return self.net(X)
