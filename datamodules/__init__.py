"""LightningDataModules for the data sets the book trains on, plus the shared download code."""

from .base import DataModule, TensorBatches
from .download import DATA_ENV, DataError, RemoteFile, fetch_all, resolve_data_dir
from .kaggle_house import KaggleHouse
from .mnist import MNIST, FashionMNIST, read_idx
from .polynomial import PolynomialData, polynomial_features
from .sine import SineSequence
from .synthetic import SyntheticRegression
from .tabular import CSVTable, get_k_fold_data
from .timemachine import TimeMachine
from .vocab import Vocab, tokenize

__all__ = [
    "PolynomialData",
    "polynomial_features",
    "CSVTable",
    "KaggleHouse",
    "get_k_fold_data",
    "DATA_ENV",
    "MNIST",
    "DataError",
    "DataModule",
    "FashionMNIST",
    "RemoteFile",
    "SineSequence",
    "SyntheticRegression",
    "TensorBatches",
    "TimeMachine",
    "Vocab",
    "fetch_all",
    "read_idx",
    "resolve_data_dir",
    "tokenize",
]
