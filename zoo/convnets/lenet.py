"""LeNet-5 (book section "Convolutional Neural Networks (LeNet)"): sigmoid activations and average
pooling, as LeCun built it, with Xavier-initialised weights."""

from __future__ import annotations

from torch import nn

from ..core.base import Classifier
from ..core.init import init_weights
from ..core.registry import Book, register_model


def lenet(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """28x28 -> conv5(6, pad 2) -> avgpool -> conv5(16) -> avgpool -> 120 -> 84 -> num_classes."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )  # fmt: skip


class LeNet(Classifier):
    """LeNet on 28x28 images; the book's recipe is SGD with lr 0.9, batch 256, 10 epochs.

    Args:
        num_classes: output classes.
        in_channels: input channels (on the command line: the data module's; 1 for Fashion-MNIST).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``xavier``.
        lr: learning rate.
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 1, init: str = "xavier", lr: float = 0.9, **kwargs
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.net = init_weights(lenet(num_classes, in_channels), init)


register_model(
    "lenet",
    LeNet,
    network="LeNet",
    book=Book(v1="7.6 Convolutional Neural Networks (LeNet)", v017="6.6 Convolutional Neural Networks (LeNet)"),
    configs=["convnets/lenet.yaml"],
    data="FashionMNIST",
    input_shape=(1, 28, 28),
)
