"""Image data sets: Fashion-MNIST and MNIST (idx files, uint8 in memory)."""

from .mnist import MNIST, FashionMNIST, IdxImageClassification, read_idx

__all__ = ["MNIST", "FashionMNIST", "IdxImageClassification", "read_idx"]
