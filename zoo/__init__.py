"""The networks of Dive into Deep Learning as LightningModules, grouped like the book's chapters."""

from .base import Classifier, Regressor, ScratchSGD, ZooModule
from .convnets import LeNet
from .linear import LinearRegression, SoftmaxRegression
from .mlp import MLP

__all__ = [
    "MLP",
    "Classifier",
    "LeNet",
    "LinearRegression",
    "Regressor",
    "ScratchSGD",
    "SoftmaxRegression",
    "ZooModule",
]
