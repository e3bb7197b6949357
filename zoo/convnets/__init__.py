"""Convolutional networks, one file per book section."""

from .lenet import LeNet

__all__ = ["LeNet"]
