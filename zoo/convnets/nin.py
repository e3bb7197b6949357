"""Network in Network (book section "Network in Network (NiN)"): convolutions followed by two 1x1
convolutions (per-pixel MLPs), no fully connected layers; global average pooling over 10 channels
gives the class scores."""

from __future__ import annotations

from torch import nn

from ..core.base import Classifier
from ..core.checks import check_dropout
from ..core.init import init_weights
from ..core.registry import Book, register_model


def nin_block(in_channels: int, out_channels: int, kernel_size: int, strides: int, padding: int) -> nn.Sequential:
    """A convolution and two 1x1 convolutions, each followed by ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )  # fmt: skip


def nin(num_classes: int = 10, dropout: float = 0.5, in_channels: int = 1) -> nn.Sequential:
    """AlexNet's convolution shapes as NiN blocks; the last block has one channel per class."""
    return nn.Sequential(
        nin_block(in_channels, 96, kernel_size=11, strides=4, padding=0),
        nn.MaxPool2d(3, stride=2),
        nin_block(96, 256, kernel_size=5, strides=1, padding=2),
        nn.MaxPool2d(3, stride=2),
        nin_block(256, 384, kernel_size=3, strides=1, padding=1),
        nn.MaxPool2d(3, stride=2),
        nn.Dropout(dropout),
        nin_block(384, num_classes, kernel_size=3, strides=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),  # (batch, num_classes, 1, 1) -> (batch, num_classes)
    )


class NiN(Classifier):
    """NiN (the book resizes to 224; any side >= 67 works); SGD lr 0.1, batch 128, 10 epochs.

    Args:
        num_classes: output classes.
        dropout: dropout probability before the last NiN block.
        in_channels: input channels (on the command line: the data module's; 1 for Fashion-MNIST).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``xavier``.
        lr: learning rate.
    """

    def __init__(
        self,
        num_classes: int = 10,
        dropout: float = 0.5,
        in_channels: int = 1,
        init: str = "xavier",
        lr: float = 0.1,
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.net = init_weights(nin(num_classes, check_dropout(dropout), in_channels), init)


register_model(
    "nin",
    NiN,
    network="NiN",
    book=Book(v1="8.3 Network in Network (NiN)", v017="7.3 Network in Network (NiN)"),
    configs=["convnets/nin.yaml"],
    data="FashionMNIST",
    input_shape=(1, 224, 224),
)
