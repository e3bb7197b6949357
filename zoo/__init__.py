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
    ZooModule,
    get_model,
    list_models,
)
from .core.pretrained import list_pretrained, load_pretrained
from .core.registry import get_model_entry, models_table
from .linear import LinearRegression, PolynomialRegression, SoftmaxRegression, WeightDecay
from .mlp import MLP, HousePriceRegression
from .convnets import VGG, AlexNet, BatchNorm, BatchNormLeNet, DenseNet, EdgeDetector, GoogLeNet, LeNet, NiN, ResNet
from .rnn import RNNLM, Seq2Seq, SineMLP
from .attention import Bahdanau, NadarayaWatson, Transformer
from . import optim
from .optim import ScratchSGD, Yogi
from .vision import FCN, FineTuneResNet, StyleTransfer, TinySSD
from .nlp_pretraining import BERT
from .course import BasicCNN, BinaryMLP, InceptionANet, ResidualBlockNet
from .core.detection import Detector  # after the vision chapter, whose anchors it uses
from .core.segmentation import Segmenter

__all__ = [
    "BERT",
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
    "Detector",
    "EdgeDetector",
    "EncoderDecoder",
    "FCN",
    "FineTuneResNet",
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
    "Segmenter",
    "Seq2Seq",
    "SineMLP",
    "SoftmaxRegression",
    "StyleTransfer",
    "TinySSD",
    "Transformer",
    "WeightDecay",
    "Yogi",
    "ZooModule",
    "get_model",
    "get_model_entry",
    "list_models",
    "list_pretrained",
    "load_pretrained",
    "models_table",
    "optim",
]
