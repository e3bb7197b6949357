"""AlexNet (book section "Deep Convolutional Neural Networks (AlexNet)"), in the book's Fashion-MNIST
variant: one input channel, 224x224 inputs, FC 6400-4096-4096-10 with dropout 0.5."""

from __future__ import annotations

import torch
from torch import nn

from ..core.base import Classifier
from ..core.checks import check_dropout, check_input_size
from ..core.init import init_weights
from ..core.registry import Book, register_model


def alexnet(num_classes: int = 10, dropout: float = 0.5, in_channels: int = 1) -> nn.Sequential:
    """224x224 -> five convolutions (11x11/4, 5x5, 3x3 x3) with three max-pools -> 6400 -> 4096 -> 4096."""
    return nn.Sequential(
        # A large 11x11 window with stride 4 captures objects; many more output channels than LeNet
        nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
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
    """AlexNet on 224x224 images; the book's recipe is SGD with lr 0.01, batch 128, 10 epochs.

    Args:
        num_classes: output classes.
        dropout: dropout probability after each hidden fully connected layer.
        in_channels: input channels (on the command line: the data module's; 1 for Fashion-MNIST).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``xavier``.
        lr: learning rate (the rest of the optimizer settings: see :class:`~zoo.core.base.ZooModule`).
    """

    input_size = 224

    def __init__(
        self,
        num_classes: int = 10,
        dropout: float = 0.5,
        in_channels: int = 1,
        init: str = "xavier",
        lr: float = 0.01,
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.net = init_weights(alexnet(num_classes, check_dropout(dropout), in_channels), init)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_input_size(X, self.input_size, "AlexNet")
        return self.net(X)


register_model(
    "alexnet",
    AlexNet,
    network="AlexNet (the Fashion-MNIST variant)",
    book=Book(
        v1="8.1 Deep Convolutional Neural Networks (AlexNet)", v017="7.1 Deep Convolutional Neural Networks (AlexNet)"
    ),
    configs=["convnets/alexnet.yaml"],
    data="FashionMNIST",
    input_shape=(1, 224, 224),
)
