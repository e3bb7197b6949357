"""Polynomial regression data (book section "Model Selection, Underfitting, and Overfitting").

y = sum_i w_i x^i / i! + N(0, 0.1^2) with x ~ N(0, 1), w = [5, 1.2, -3.4, 5.6] and zeros up to
degree 20. Dividing by i! = gamma(i + 1) keeps the high powers from blowing up gradients.
"""

from __future__ import annotations

import math

import torch

from ..base import DataModule
from ..batching import TensorBatches


def polynomial_features(x: torch.Tensor, max_degree: int) -> torch.Tensor:
    """Columns x^0/0!, x^1/1!, ..., x^(max_degree-1)/(max_degree-1)! of a vector `x` (computed in float64)."""
    powers = torch.arange(max_degree, dtype=torch.float64)
    factorials = torch.tensor([math.gamma(i + 1) for i in range(max_degree)], dtype=torch.float64)
    return x.double().reshape(-1, 1) ** powers / factorials


class PolynomialData(DataModule):
    """The book's polynomial data; the model sees the first `num_features` features.

    Args:
        num_features: features given to the model: 4 fits the cubic, 2 underfits, 20 overfits.
        max_degree: number of polynomial features generated (20 in the book).
        w: the true weights of the first features; the rest are 0.
        noise: standard deviation of the label noise.
        num_train: training examples (100).
        num_val: test examples (100).
        seed: seed of the draw.
        batch_size: minibatch size; capped at `num_train`, as the book's ``min(10, n_train)``.
        num_workers: see :class:`~datamodules.base.DataModule`.
    """

    def __init__(
        self,
        num_features: int = 4,
        max_degree: int = 20,
        w: list[float] = [5.0, 1.2, -3.4, 5.6],  # noqa: B006
        noise: float = 0.1,
        num_train: int = 100,
        num_val: int = 100,
        seed: int = 0,
        batch_size: int = 10,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        if num_train < 1 or num_val < 1:
            raise ValueError("num_train and num_val must be positive")
        self.save_hyperparameters({"batch_size": min(batch_size, num_train)})
        if not 1 <= num_features <= max_degree:
            raise ValueError(f"num_features must be in [1, max_degree={max_degree}], got {num_features}")
        if len(w) > max_degree:
            raise ValueError(f"w has {len(w)} values but max_degree is {max_degree}")
        self.w = torch.zeros(max_degree, dtype=torch.float64)
        self.w[: len(w)] = torch.tensor(w, dtype=torch.float64)
        generator = torch.Generator().manual_seed(seed)
        n = num_train + num_val
        x = torch.randn(n, generator=generator, dtype=torch.float64)
        features = polynomial_features(x, max_degree)
        y = features @ self.w.reshape(-1, 1) + noise * torch.randn(n, 1, generator=generator, dtype=torch.float64)
        self.x, self.features = x, features  # float64, for plots and checks
        X = features[:, :num_features].float()
        y = y.float()
        self.train_set = TensorBatches(X[:num_train], y[:num_train])
        self.val_set = self.test_set = TensorBatches(X[num_train:], y[num_train:])

    @property
    def num_inputs(self) -> int:
        """The features the model sees: the first `num_features`."""
        return self.hparams.num_features
