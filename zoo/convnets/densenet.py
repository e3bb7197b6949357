"""Densely connected networks (book section "Densely Connected Networks (DenseNet)"): each convolution
in a dense block sees the concatenation of all earlier outputs; transition layers (1x1 convolution and
average pooling) halve the channels and the side between blocks."""

from __future__ import annotations

import torch
from torch import nn

from ..core.base import Classifier
from ..core.init import init_weights
from ..core.registry import Book, register_model


def conv_block(input_channels: int, num_channels: int) -> nn.Sequential:
    """Batch norm, ReLU, 3x3 convolution (the ResNet v2 order)."""
    return nn.Sequential(
        nn.BatchNorm2d(input_channels), nn.ReLU(),
        nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1),
    )  # fmt: skip


class DenseBlock(nn.Module):
    """`num_convs` conv blocks; each one's output is concatenated onto its input along the channels,
    so the block adds ``num_convs * num_channels`` channels (``num_channels`` is the growth rate)."""

    def __init__(self, num_convs: int, input_channels: int, num_channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *(conv_block(num_channels * i + input_channels, num_channels) for i in range(num_convs))
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        for blk in self.net:
            Y = blk(X)
            X = torch.cat((X, Y), dim=1)  # concatenate input and output along the channels
        return X


def transition_block(input_channels: int, num_channels: int) -> nn.Sequential:
    """Batch norm, ReLU, 1x1 convolution to `num_channels`, 2x2 average pooling (halves the side)."""
    return nn.Sequential(
        nn.BatchNorm2d(input_channels), nn.ReLU(),
        nn.Conv2d(input_channels, num_channels, kernel_size=1),
        nn.AvgPool2d(kernel_size=2, stride=2),
    )  # fmt: skip


def densenet(
    num_channels: int = 64,
    growth_rate: int = 32,
    num_convs_in_dense_blocks: list[int] = [4, 4, 4, 4],  # noqa: B006
    num_classes: int = 10,
    in_channels: int = 1,
) -> nn.Sequential:
    """ResNet's stem, dense blocks with transition layers between them, BN, ReLU, global average pool, FC."""
    b1 = nn.Sequential(
        nn.Conv2d(in_channels, num_channels, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(num_channels), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )  # fmt: skip
    blks: list[nn.Module] = []
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        blks.append(DenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate  # the channels this dense block outputs
        if i != len(num_convs_in_dense_blocks) - 1:  # a transition layer halving the channels between blocks
            blks.append(transition_block(num_channels, num_channels // 2))
            num_channels = num_channels // 2
    return nn.Sequential(
        b1, *blks,
        nn.BatchNorm2d(num_channels), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
        nn.Linear(num_channels, num_classes),
    )  # fmt: skip


class DenseNet(Classifier):
    """DenseNet (the book resizes to 96); SGD lr 0.1, batch 256, 10 epochs.

    Args:
        num_channels: channels out of the stem.
        growth_rate: channels each convolution in a dense block adds.
        num_convs_in_dense_blocks: convolutions in each dense block.
        num_classes: output classes.
        in_channels: input channels (on the command line: the data module's; 1 for Fashion-MNIST).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``xavier``.
        lr: learning rate.
    """

    def __init__(
        self,
        num_channels: int = 64,
        growth_rate: int = 32,
        num_convs_in_dense_blocks: list[int] = [4, 4, 4, 4],  # noqa: B006
        num_classes: int = 10,
        in_channels: int = 1,
        init: str = "xavier",
        lr: float = 0.1,
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        if num_channels < 2 or growth_rate < 1:
            raise ValueError(f"num_channels must be >= 2 and growth_rate >= 1, got {num_channels}, {growth_rate}")
        if not num_convs_in_dense_blocks or min(num_convs_in_dense_blocks) < 1:
            raise ValueError(
                f"num_convs_in_dense_blocks must be a non-empty list of positive ints, got {num_convs_in_dense_blocks}"
            )
        blocks = list(num_convs_in_dense_blocks)
        self.net = init_weights(densenet(num_channels, growth_rate, blocks, num_classes, in_channels), init)


register_model(
    "densenet",
    DenseNet,
    network="DenseNet",
    book=Book(v1="8.7 Densely Connected Networks (DenseNet)", v017="7.7 Densely Connected Networks (DenseNet)"),
    configs=["convnets/densenet.yaml"],
    data="FashionMNIST",
    input_shape=(1, 96, 96),
)
