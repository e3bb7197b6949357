"""GoogLeNet (book section "Networks with Parallel Concatenations (GoogLeNet)"): five stages b1..b5,
the middle three built from Inception blocks whose four parallel paths are concatenated along the channels."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.base import Classifier
from ..core.init import init_weights
from ..core.registry import Book, register_model


class Inception(nn.Module):
    """Four parallel paths: 1x1 conv; 1x1 then 3x3; 1x1 then 5x5; 3x3 max-pool then 1x1.

    ``c1``..``c4`` are the output channels of each path (``c2``, ``c3`` are pairs: the 1x1 reduction
    and the 3x3/5x5 convolution). The output has ``c1 + c2[1] + c3[1] + c4`` channels, same side.
    """

    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int], c4: int) -> None:
        super().__init__()
        self.p1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)  # path 1: a single 1x1 convolution
        self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)  # path 2: 1x1 then 3x3
        self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)  # path 3: 1x1 then 5x5
        self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)  # path 4: 3x3 max-pool then 1x1
        self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p1 = F.relu(self.p1_1(x))
        p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
        p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
        p4 = F.relu(self.p4_2(self.p4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)


def googlenet(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """b1 (7x7 conv, pool), b2 (1x1 and 3x3 conv, pool), b3 (2 Inception), b4 (5 Inception), b5 (2 Inception, GAP)."""
    b1 = nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )  # fmt: skip
    b2 = nn.Sequential(
        nn.Conv2d(64, 64, kernel_size=1), nn.ReLU(),
        nn.Conv2d(64, 192, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )  # fmt: skip
    b3 = nn.Sequential(
        Inception(192, 64, (96, 128), (16, 32), 32),
        Inception(256, 128, (128, 192), (32, 96), 64),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )
    b4 = nn.Sequential(
        Inception(480, 192, (96, 208), (16, 48), 64),
        Inception(512, 160, (112, 224), (24, 64), 64),
        Inception(512, 128, (128, 256), (24, 64), 64),
        Inception(512, 112, (144, 288), (32, 64), 64),
        Inception(528, 256, (160, 320), (32, 128), 128),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )
    b5 = nn.Sequential(
        Inception(832, 256, (160, 320), (32, 128), 128),
        Inception(832, 384, (192, 384), (48, 128), 128),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
    )
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, num_classes))


class GoogLeNet(Classifier):
    """GoogLeNet (the book resizes to 96); SGD lr 0.1, batch 128, 10 epochs.

    Args:
        num_classes: output classes.
        in_channels: input channels (on the command line: the data module's; 1 for Fashion-MNIST).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``xavier``.
        lr: learning rate.
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 1, init: str = "xavier", lr: float = 0.1, **kwargs
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.net = init_weights(googlenet(num_classes, in_channels), init)


register_model(
    "googlenet",
    GoogLeNet,
    network="GoogLeNet",
    book=Book(v1="8.4 Multi-Branch Networks (GoogLeNet)", v017="7.4 Networks with Parallel Concatenations (GoogLeNet)"),
    configs=["convnets/googlenet.yaml"],
    data="FashionMNIST",
    input_shape=(1, 96, 96),
)
