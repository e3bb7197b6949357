"""Residual networks (book section "Residual Networks (ResNet)"), and the variant for 28x28 inputs from
"Concise Implementation for Multiple GPUs" (3x3 stem convolution with stride 1, no max-pool).

``arch`` lists ``[num_residuals, num_channels]`` per stage; the default is ResNet-18:
a stem, four stages of two residual blocks (64, 128, 256, 512 channels), global average pooling and
one fully connected layer. Every stage but the first halves the side with a strided block whose
shortcut is a 1x1 convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.base import Classifier
from ..core.checks import check_choice, check_pairs
from ..core.init import init_weights
from ..core.registry import Book, register_model

RESNET18 = [[2, 64], [2, 128], [2, 256], [2, 512]]
STEMS = ("book", "small")


class Residual(nn.Module):
    """Two 3x3 convolutions with batch norm; the input (through a 1x1 convolution if asked) is added back.

    Args:
        input_channels: channels in.
        num_channels: channels out.
        use_1x1conv: pass the shortcut through a 1x1 convolution (needed when channels or side change).
        strides: stride of the first 3x3 convolution (and of the 1x1 shortcut).
    """

    def __init__(self, input_channels: int, num_channels: int, use_1x1conv: bool = False, strides: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        return F.relu(Y + X)


def resnet_block(
    input_channels: int, num_channels: int, num_residuals: int, first_block: bool = False
) -> nn.Sequential:
    """A stage of residual blocks; unless it is the first stage, its first block halves the side."""
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels, num_channels))
    return nn.Sequential(*blk)


def resnet_stem(num_channels: int, stem: str = "book", in_channels: int = 1) -> nn.Sequential:
    """b1. ``book``: 7x7 conv stride 2, BN, ReLU, 3x3 max-pool stride 2 (side / 4).
    ``small``: 3x3 conv stride 1, BN, ReLU, no pooling (the multi-GPU chapter's version for 28x28)."""
    if stem == "small":
        return nn.Sequential(nn.Conv2d(in_channels, num_channels, kernel_size=3, stride=1, padding=1),
                             nn.BatchNorm2d(num_channels), nn.ReLU())  # fmt: skip
    return nn.Sequential(nn.Conv2d(in_channels, num_channels, kernel_size=7, stride=2, padding=3),
                         nn.BatchNorm2d(num_channels), nn.ReLU(),
                         nn.MaxPool2d(kernel_size=3, stride=2, padding=1))  # fmt: skip


def resnet(
    arch: list[list[int]] = RESNET18,  # noqa: B006
    num_classes: int = 10,
    stem: str = "book",
    in_channels: int = 1,
) -> nn.Sequential:
    """b1 (stem), one stage per ``[num_residuals, num_channels]`` of `arch`, global average pool, FC.

    ``resnet(RESNET18, num_classes, "small", in_channels)`` is the book's ``resnet18(num_classes, in_channels)``
    of the multi-GPU chapters (and the CIFAR-10 network of the augmentation chapter)."""
    channels = arch[0][1]
    stages = [resnet_stem(channels, stem, in_channels)]
    for i, (num_residuals, num_channels) in enumerate(arch):
        stages.append(resnet_block(channels, num_channels, num_residuals, first_block=i == 0))
        channels = num_channels
    return nn.Sequential(*stages, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(channels, num_classes))


class ResNet(Classifier):
    """ResNet-18 by default. The book resizes Fashion-MNIST to 96 (SGD lr 0.05, batch 256, 10 epochs);
    ``stem="small"`` is the multi-GPU chapter's network for 28x28 inputs (lr 0.1, batch 256).

    Args:
        arch: ``[num_residuals, num_channels]`` for each stage (default ResNet-18).
        stem: ``book`` (7x7/2 convolution and max-pool) or ``small`` (3x3/1 convolution, no pooling).
        num_classes: output classes.
        in_channels: input channels (on the command line: the data module's; 1 for Fashion-MNIST).
        init: weight initialisation (``xavier`` as in ``train_ch6``; the multi-GPU chapter uses ``normal``).
        lr: learning rate.
    """

    def __init__(
        self,
        arch: list[list[int]] = RESNET18,  # noqa: B006
        stem: str = "book",
        num_classes: int = 10,
        in_channels: int = 1,
        init: str = "xavier",
        lr: float = 0.05,
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.arch = check_pairs(arch, "[num_residuals, num_channels]")
        self.stem = check_choice("stem", stem, STEMS)
        self.net = init_weights(resnet(self.arch, num_classes, stem, in_channels), init)


register_model(
    "resnet18",
    ResNet,
    network="ResNet-18",
    book=Book(v1="8.6 Residual Networks (ResNet) and ResNeXt", v017="7.6 Residual Networks (ResNet)"),
    configs=["convnets/resnet18.yaml"],
    data="FashionMNIST",
    input_shape=(1, 96, 96),
    variants={"stem": STEMS},
)
register_model(
    "resnet18_28px",
    ResNet,
    network="ResNet-18 for 28x28 inputs (3x3 stem, no max-pool)",
    book=Book(v1="13.6 Concise Implementation for Multiple GPUs", v017="12.6 Concise Implementation for Multiple GPUs"),
    configs=["convnets/resnet18_28px.yaml", "performance/resnet18_ddp.yaml"],
    data="FashionMNIST",
    input_shape=(1, 28, 28),
    kwargs={"stem": "small", "init": "normal", "lr": 0.1},
)
