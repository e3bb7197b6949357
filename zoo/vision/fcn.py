"""Transposed convolution and the fully convolutional network (book sections "Transposed Convolution" and "Fully
Convolutional Networks").

:func:`trans_conv` is the chapter's scratch transposed convolution (each input element scatters the kernel, scaled,
into the output); ``nn.ConvTranspose2d`` computes the same. :func:`bilinear_kernel` is the kernel with which a
transposed convolution of stride s (kernel 2s, padding s / 2) upsamples by bilinear interpolation.

The FCN: ResNet-18 (torchvision's, ImageNet weights with ``weights="imagenet"``) without its global pooling and
fully connected layer turns a 320x480 photo into 512 maps of 10x15; a 1x1 convolution makes them 21 class maps, and
a transposed convolution (kernel 64, padding 16, stride 32), started as bilinear interpolation, brings them back to
320x480. Loss, metrics and the predicted label images are the segmentation base's
(:class:`~zoo.core.segmentation.Segmenter`).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torchvision
from torch import nn

from ..core.imagenet import Pretrained, load_matching
from ..core.registry import Book, register_model
from ..core.segmentation import Segmenter

# --- transposed convolution (scratch) -----------------------------------------------------------------------------


def trans_conv(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Scratch: the transposed convolution (stride 1, no padding) of X (h, w) with kernel K (kh, kw), shape
    (h + kh - 1, w + kw - 1): every X[i, j] adds X[i, j] * K to the output window at (i, j)."""
    h, w = K.shape
    Y = X.new_zeros((X.shape[0] + h - 1, X.shape[1] + w - 1))
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            Y[i : i + h, j : j + w] += X[i, j] * K
    return Y


def bilinear_kernel(in_channels: int, out_channels: int, kernel_size: int) -> torch.Tensor:
    """The book's ``bilinear_kernel``: the (in_channels, out_channels, k, k) weight of a transposed convolution
    that upsamples each channel by bilinear interpolation (channel i to channel i; the others get zeros)."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float32)
    ramp = 1 - torch.abs(og - center) / factor
    filt = ramp.reshape(-1, 1) * ramp.reshape(1, -1)
    weight = torch.zeros((in_channels, out_channels, kernel_size, kernel_size))
    channels = range(min(in_channels, out_channels))
    weight[channels, channels, :, :] = filt
    return weight


# --- the network --------------------------------------------------------------------------------------------


def fcn_layers(num_classes: int) -> nn.Sequential:
    """ResNet-18's layers up to ``layer4`` (named as torchvision names them, so its weights load by name), the 1x1
    ``final_conv`` to `num_classes` maps and the bilinear ``transpose_conv`` that upsamples them 32 times."""
    backbone = list(torchvision.models.resnet18().named_children())[:-2]  # no avgpool, no fc
    transpose_conv = nn.ConvTranspose2d(num_classes, num_classes, kernel_size=64, padding=16, stride=32)
    with torch.no_grad():
        transpose_conv.weight.copy_(bilinear_kernel(num_classes, num_classes, 64))
    return nn.Sequential(
        OrderedDict(
            [*backbone, ("final_conv", nn.Conv2d(512, num_classes, kernel_size=1)), ("transpose_conv", transpose_conv)]
        )
    )


class FCN(Pretrained, Segmenter):
    """The book's FCN on a ResNet-18 backbone.

    Args:
        num_classes: classes, the background included (VOC: 21).
        weights: the backbone's start: None (random, torchvision's initialisation), ``"imagenet"`` (the book:
            torchvision's ``ResNet18_Weights.IMAGENET1K_V1``, downloaded through torch.hub) or a local copy of that
            file (hash-checked); loaded when training starts (see :mod:`zoo.core.imagenet`).
        lr, weight_decay: SGD's (the book: 0.001 and 1e-3).
        ignore_index, max_drawn, optimizer, momentum: see :class:`~zoo.core.segmentation.Segmenter`.

    The output has the input's height and width: exactly so for sides that are multiples of 32 (the backbone
    divides by 32, the transposed convolution multiplies by 32); other sizes are cut back from the next multiple.
    """

    pretrained_weights = "ResNet18_Weights.IMAGENET1K_V1"

    def __init__(
        self, num_classes: int = 21, weights: str | None = None, lr: float = 0.001, weight_decay: float = 1e-3, **kwargs
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, weight_decay=weight_decay, **kwargs)
        self.init_pretrained()
        self.net = fcn_layers(num_classes)

    def load_pretrained_state(self, state: dict) -> None:
        """ImageNet weights for the backbone; ``final_conv`` and ``transpose_conv`` keep their start."""
        load_matching(self.net, state, new=("final_conv.", "transpose_conv."))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)[..., : X.shape[-2], : X.shape[-1]]


register_model(
    "fcn_resnet18",
    FCN,
    network="FCN (ResNet-18 backbone, 1x1 conv to 21 classes, bilinear transposed conv x32)",
    book=Book(
        v1=(
            "14.9 Semantic Segmentation and the Dataset",
            "14.10 Transposed Convolution",
            "14.11 Fully Convolutional Networks",
        ),
        v017=(
            "13.9 Semantic Segmentation and the Dataset",
            "13.10 Transposed Convolution",
            "13.11 Fully Convolutional Networks",
        ),
    ),
    configs=["vision/fcn_voc.yaml"],
    data="VOCSegmentation",
    input_shape=(3, 320, 480),
    kwargs={"weights": "imagenet"},
)
