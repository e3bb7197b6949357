"""The networks of Dive into Deep Learning as LightningModules, grouped like the book's chapters."""

from .base import BinaryClassifier, Classifier, Regressor, ScratchSGD, ZooModule
from .binary import BinaryMLP
from .companion import BasicCNN, InceptionANet, ResidualBlockNet
from .convnets import VGG, AlexNet, BatchNormLeNet, DenseNet, GoogLeNet, LeNet, NiN, ResNet
from .house_prices import HousePriceRegression
from .linear import LinearRegression, SoftmaxRegression
from .mlp import MLP
from .model_selection import PolynomialRegression
from .sequence import RNNLM, LanguageModel, SineMLP
from .weight_decay import WeightDecay

__all__ = [
    "VGG",
    "AlexNet",
    "BatchNormLeNet",
    "DenseNet",
    "GoogLeNet",
    "NiN",
    "ResNet",
    "BasicCNN",
    "InceptionANet",
    "PolynomialRegression",
    "ResidualBlockNet",
    "WeightDecay",
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
