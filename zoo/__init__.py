"""The networks of Dive into Deep Learning as LightningModules, in folders that follow the book's chapters.

``zoo.list_models()`` names every network, in the book's order; ``zoo.get_model(name, **overrides)`` builds
one for its recipe's data; every class is also here by name (``zoo.LeNet``).
"""

# ruff: noqa: I001  (chapters imported in the book's order: importing a file registers its networks)
from .core import (
    BinaryClassifier,
    Classifier,
    EncoderDecoder,
    LanguageModel,
    Regressor,
    ScratchSGD,
    ZooModule,
    get_model,
    list_models,
)
from .core.registry import get_model_entry, models_table
from .linear import LinearRegression, PolynomialRegression, SoftmaxRegression, WeightDecay
from .mlp import MLP, HousePriceRegression
from .convnets import VGG, AlexNet, BatchNorm, BatchNormLeNet, DenseNet, EdgeDetector, GoogLeNet, LeNet, NiN, ResNet
from .rnn import RNNLM, Seq2Seq, SineMLP
from .attention import Bahdanau, NadarayaWatson, Transformer
from .course import BasicCNN, BinaryMLP, InceptionANet, ResidualBlockNet

__all__ = [
    "MLP",
    "RNNLM",
    "VGG",
    "AlexNet",
    "Bahdanau",
    "BasicCNN",
    "BatchNorm",
    "BatchNormLeNet",
    "BinaryClassifier",
    "BinaryMLP",
    "Classifier",
    "DenseNet",
    "EdgeDetector",
    "EncoderDecoder",
    "GoogLeNet",
    "HousePriceRegression",
    "InceptionANet",
    "LanguageModel",
    "LeNet",
    "LinearRegression",
    "NadarayaWatson",
    "NiN",
    "PolynomialRegression",
    "Regressor",
    "ResNet",
    "ResidualBlockNet",
    "ScratchSGD",
    "Seq2Seq",
    "SineMLP",
    "SoftmaxRegression",
    "Transformer",
    "WeightDecay",
    "ZooModule",
    "get_model",
    "get_model_entry",
    "list_models",
    "models_table",
]
