"""The networks of Dive into Deep Learning as LightningModules, grouped like the book's chapters."""

from .base import BinaryClassifier, Classifier, Regressor, ScratchSGD, ZooModule
from .binary import BinaryMLP
from .convnets import LeNet
from .house_prices import HousePriceRegression
from .linear import LinearRegression, SoftmaxRegression
from .mlp import MLP
from .sequence import RNNLM, LanguageModel, SineMLP

__all__ = [
    "BinaryClassifier",
    "BinaryMLP",
    "HousePriceRegression",
    "MLP",
    "RNNLM",
    "Classifier",
    "LanguageModel",
    "LeNet",
    "LinearRegression",
    "Regressor",
    "ScratchSGD",
    "SineMLP",
    "SoftmaxRegression",
    "ZooModule",
]
