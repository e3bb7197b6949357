"""Generated data: y = Xw + b + noise, the polynomial of the model-selection section, the edge image of the
convolution chapter, a noisy sine, the attention-pooling chapter's kernel regression data."""

from .edges import EdgeImage, edge_image
from .kernel_regression import KernelRegressionData, kernel_regression_target
from .polynomial import PolynomialData, polynomial_features
from .regression import SyntheticRegression
from .sine import SineSequence

__all__ = [
    "EdgeImage",
    "KernelRegressionData",
    "PolynomialData",
    "SineSequence",
    "SyntheticRegression",
    "edge_image",
    "kernel_regression_target",
    "polynomial_features",
]
