"""The networks of Dive into Deep Learning as LightningModules, grouped like the book's chapters."""

from .base import Classifier, Regressor, ScratchSGD, ZooModule
from .convnets import LeNet
from .linear import LinearRegression, SoftmaxRegression
from .mlp import MLP
from .sequence import RNNLM, LanguageModel, SineMLP

__all__ = [
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
