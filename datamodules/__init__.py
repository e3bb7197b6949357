"""LightningDataModules for the data the book trains on, grouped by kind (images, text, tables, synthetic),
with the shared pieces at the top: the bases, downloads, batching and vocabularies."""

from .base import DataModule, FileDataModule
from .batching import TensorBatches, split_off
from .download import DATA_ENV, DataError, RemoteFile, fetch_all, resolve_data_dir
from .images import CIFAR10, MNIST, Bananas, FashionMNIST, Hotdog, StyleImages, VOCSegmentation, read_idx
from .synthetic import (
    EdgeImage,
    KernelRegressionData,
    PolynomialData,
    SineSequence,
    SyntheticRegression,
    polynomial_features,
)
from .tables import Airfoil, CSVTable, KaggleHouse, get_k_fold_data
from .text import TimeMachine, Translation, WikiText2
from .vocab import Vocab, tokenize

__all__ = [
    "CIFAR10",
    "DATA_ENV",
    "MNIST",
    "Airfoil",
    "Bananas",
    "CSVTable",
    "DataError",
    "DataModule",
    "EdgeImage",
    "FashionMNIST",
    "FileDataModule",
    "Hotdog",
    "KaggleHouse",
    "KernelRegressionData",
    "PolynomialData",
    "RemoteFile",
    "SineSequence",
    "StyleImages",
    "SyntheticRegression",
    "TensorBatches",
    "TimeMachine",
    "Translation",
    "VOCSegmentation",
    "Vocab",
    "WikiText2",
    "fetch_all",
    "get_k_fold_data",
    "polynomial_features",
    "read_idx",
    "resolve_data_dir",
    "split_off",
    "tokenize",
]
