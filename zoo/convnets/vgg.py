"""VGG (book section "Networks Using Blocks (VGG)"): repeated blocks of 3x3 convolutions and a 2x2 max-pool.

``arch`` lists ``[num_convs, out_channels]`` per block. The default is VGG-11
``[[1, 64], [1, 128], [2, 256], [2, 512], [2, 512]]``; the book trains a quarter-width copy
``[[1, 16], [1, 32], [2, 64], [2, 128], [2, 128]]`` on Fashion-MNIST (``configs/convnets/vgg.yaml``).
Each block halves the side, and the first fully connected layer expects 7x7 feature maps, so the
input side is 7 * 2**len(arch): 224 for five blocks.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.base import Classifier
from ..core.checks import check_dropout, check_input_size, check_pairs
from ..core.init import init_weights
from ..core.registry import Book, register_model

VGG11 = [[1, 64], [1, 128], [2, 256], [2, 512], [2, 512]]
VGG11_QUARTER = [[num_convs, channels // 4] for num_convs, channels in VGG11]  # the book's Fashion-MNIST run


def vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    """`num_convs` 3x3 convolutions (padding 1) with ReLU, then a 2x2 max-pool that halves the side."""
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(arch: list[list[int]], num_classes: int = 10, dropout: float = 0.5, in_channels: int = 1) -> nn.Sequential:
    """The convolutional blocks of `arch`, then FC (channels*7*7)-4096-4096-num_classes with dropout."""
    blocks = []
    for num_convs, out_channels in arch:
        blocks.append(vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    return nn.Sequential(
        *blocks, nn.Flatten(),
        nn.Linear(in_channels * 7 * 7, 4096), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(4096, num_classes),
    )  # fmt: skip


class VGG(Classifier):
    """VGG on images of side 7 * 2**len(arch); the book's recipe is SGD lr 0.05, batch 128, 10 epochs.

    Args:
        arch: ``[num_convs, out_channels]`` for each block (default VGG-11).
        num_classes: output classes.
        dropout: dropout probability after each hidden fully connected layer.
        in_channels: input channels (on the command line: the data module's; 1 for Fashion-MNIST).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``xavier``.
        lr: learning rate.
    """

    def __init__(
        self,
        arch: list[list[int]] = VGG11,  # noqa: B006
        num_classes: int = 10,
        dropout: float = 0.5,
        in_channels: int = 1,
        init: str = "xavier",
        lr: float = 0.05,
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.arch = check_pairs(arch, "[num_convs, out_channels]")
        self.input_size = 7 * 2 ** len(self.arch)
        self.net = init_weights(vgg(self.arch, num_classes, check_dropout(dropout), in_channels), init)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_input_size(X, self.input_size, f"VGG with {len(self.arch)} blocks")
        return self.net(X)


register_model(
    "vgg",
    VGG,
    network="VGG-11 at a quarter of the width (the book's Fashion-MNIST run)",
    book=Book(v1="8.2 Networks Using Blocks (VGG)", v017="7.2 Networks Using Blocks (VGG)"),
    configs=["convnets/vgg.yaml"],
    data="FashionMNIST",
    input_shape=(1, 224, 224),
    kwargs={"arch": VGG11_QUARTER},
)
