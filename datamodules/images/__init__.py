"""Image data sets: Fashion-MNIST and MNIST (idx files, uint8 in memory) and the banana detection set (image
files, decoded per sample)."""

from .bananas import Bananas, DetectionImages, read_detection_labels
from .mnist import MNIST, FashionMNIST, IdxImageClassification, read_idx

__all__ = [
    "MNIST",
    "Bananas",
    "DetectionImages",
    "FashionMNIST",
    "IdxImageClassification",
    "read_detection_labels",
    "read_idx",
]
