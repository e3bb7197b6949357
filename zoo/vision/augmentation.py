"""Image augmentation (book section "Image Augmentation"): the book's ResNet-18 for CIFAR-10 trained with and
without random left-right flips.

The network is ``d2l.resnet18(10, 3)``: ResNet-18 with the 3x3, stride-1 stem and no max-pool (the multi-GPU
chapter's), three input channels, Xavier-uniform weights; the zoo's :class:`~zoo.convnets.resnet.ResNet` with
``stem="small"`` and ``in_channels=3`` (the data's). Adam at lr 0.001, batch 256, 10 epochs. The augmentations
themselves are the data's (``datamodules.CIFAR10(augment=[...])``, batched on the device:
:mod:`datamodules.images.augment`): ``configs/vision/cifar10_flip.yaml`` flips, ``cifar10_noaug.yaml`` does not.
"""

from __future__ import annotations

from ..convnets.resnet import ResNet
from ..core.registry import Book, register_model

register_model(
    "resnet18_cifar10",
    ResNet,
    network="ResNet-18 for CIFAR-10 (3x3 stem), with and without augmentation",
    book=Book(v1="14.1 Image Augmentation", v017="13.1 Image Augmentation"),
    configs=["vision/cifar10_flip.yaml", "vision/cifar10_noaug.yaml"],
    data="CIFAR10",
    input_shape=(3, 32, 32),
    kwargs={"stem": "small", "in_channels": 3, "optimizer": "adam", "lr": 0.001},
)
