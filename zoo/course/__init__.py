"""The companion PyTorch course (Liu Er, "PyTorch Deep Learning Practice"): its fully connected nets, its
CNNs on MNIST and its diabetes classifier."""

# ruff: noqa: I001  (imported in the course's order: importing a file registers its networks in zoo.list_models())
from . import fully_connected  # noqa: F401  (registers the course's logistic regression and FC net)
from .cnn import BasicCNN, InceptionANet, ResidualBlockNet
from .diabetes import BinaryMLP

__all__ = ["BasicCNN", "BinaryMLP", "InceptionANet", "ResidualBlockNet"]
