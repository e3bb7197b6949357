"""Convolutional networks: convolutions from scratch, LeNet, then the modern CNNs (AlexNet to DenseNet), one file
per book section."""

# ruff: noqa: I001  (imported in the book's order: importing a file registers its networks in zoo.list_models())
from .convolutions import Conv2D, EdgeDetector
from .lenet import LeNet
from .alexnet import AlexNet
from .vgg import VGG
from .nin import NiN
from .googlenet import GoogLeNet
from .batchnorm import BatchNorm, BatchNormLeNet
from .resnet import ResNet
from .densenet import DenseNet

__all__ = [
    "VGG",
    "AlexNet",
    "BatchNorm",
    "BatchNormLeNet",
    "Conv2D",
    "DenseNet",
    "EdgeDetector",
    "GoogLeNet",
    "LeNet",
    "NiN",
    "ResNet",
]
