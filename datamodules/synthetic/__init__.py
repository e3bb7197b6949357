"""Generated data: y = Xw + b + noise, the polynomial of the model-selection section, a noisy sine."""

from .polynomial import PolynomialData, polynomial_features
from .regression import SyntheticRegression
from .sine import SineSequence

__all__ = ["PolynomialData", "SineSequence", "SyntheticRegression", "polynomial_features"]
