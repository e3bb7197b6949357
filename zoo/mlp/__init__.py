"""Multilayer perceptrons: the MLP, dropout, and predicting house prices on Kaggle."""

# ruff: noqa: I001  (imported in the book's order: importing a file registers its networks in zoo.list_models())
from .mlp import MLP
from .house_prices import HousePriceRegression

__all__ = ["MLP", "HousePriceRegression"]
