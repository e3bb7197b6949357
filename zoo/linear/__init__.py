"""Linear neural networks: linear regression, weight decay, softmax regression, and (0.17 edition)
polynomial fitting for under- and overfitting."""

# ruff: noqa: I001  (imported in the book's order: importing a file registers its networks in zoo.list_models())
from .regression import LinearRegression
from .weight_decay import WeightDecay
from .softmax import SoftmaxRegression
from .model_selection import PolynomialRegression

__all__ = ["LinearRegression", "PolynomialRegression", "SoftmaxRegression", "WeightDecay"]
