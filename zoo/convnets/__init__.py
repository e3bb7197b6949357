"""Convolutional networks, one file per book section."""

from .alexnet import AlexNet
from .batchnorm import BatchNorm, BatchNormLeNet
from .densenet import DenseNet
from .googlenet import GoogLeNet
from .lenet import LeNet
from .nin import NiN
from .resnet import ResNet
from .vgg import VGG

__all__ = ["VGG", "AlexNet", "BatchNorm", "BatchNormLeNet", "DenseNet", "GoogLeNet", "LeNet", "NiN", "ResNet"]
