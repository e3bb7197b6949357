"""Generated data: y = Xw + b + noise, the polynomial of the model-selection section, the edge image of the
convolution chapter, a noisy sine."""

from .edges import EdgeImage, edge_image
from .polynomial import PolynomialData, polynomial_features
from .regression import SyntheticRegression
from .sine import SineSequence

__all__ = ["EdgeImage", "PolynomialData", "SineSequence", "SyntheticRegression", "edge_image", "polynomial_features"]
