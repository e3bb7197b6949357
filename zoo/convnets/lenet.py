"""LeNet-5 (book section "Convolutional Neural Networks (LeNet)"): sigmoid activations and average
pooling, as LeCun built it, with Xavier-initialised weights. The optimization chapter's schedule study trains
its modern variant, ReLU and max-pooling (``activation="relu", pooling="max"``; registered as ``lenet_relu`` in
:mod:`zoo.optim.testbeds`)."""

from __future__ import annotations

from torch import nn

from ..core.base import Classifier
from ..core.checks import check_choice
from ..core.init import init_weights
from ..core.registry import Book, register_model

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
POOLINGS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


def lenet(
    num_classes: int = 10, in_channels: int = 1, activation: str = "sigmoid", pooling: str = "avg"
) -> nn.Sequential:
    """28x28 -> conv5(6, pad 2) -> pool -> conv5(16) -> pool -> 120 -> 84 -> num_classes; sigmoid and average
    pooling (LeNet-5), or ``relu`` and ``max`` (the schedule study's)."""
    act = ACTIVATIONS[check_choice("activation", activation, ACTIVATIONS)]
    pool = POOLINGS[check_choice("pooling", pooling, POOLINGS)]
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), act(),
        pool(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), act(),
        pool(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), act(),
        nn.Linear(120, 84), act(),
        nn.Linear(84, num_classes),
    )  # fmt: skip


class LeNet(Classifier):
    """LeNet on 28x28 images; the book's recipe is SGD with lr 0.9, batch 256, 10 epochs.

    Args:
        num_classes: output classes.
        in_channels: input channels (on the command line: the data module's; 1 for Fashion-MNIST).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``xavier`` (the schedule study's
            ``default``, PyTorch's own).
        lr: learning rate.
        activation: ``sigmoid`` (LeNet-5, the book's section) or ``relu`` (the schedule study's).
        pooling: ``avg`` (LeNet-5) or ``max`` (the schedule study's).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        init: str = "xavier",
        lr: float = 0.9,
        activation: str = "sigmoid",
        pooling: str = "avg",
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.net = init_weights(lenet(num_classes, in_channels, activation, pooling), init)


register_model(
    "lenet",
    LeNet,
    network="LeNet",
    book=Book(v1="7.6 Convolutional Neural Networks (LeNet)", v017="6.6 Convolutional Neural Networks (LeNet)"),
    configs=["convnets/lenet.yaml"],
    data="FashionMNIST",
    input_shape=(1, 28, 28),
)
