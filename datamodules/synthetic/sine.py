"""A noisy sine wave for autoregression (book section "Working with Sequences").

x_t = sin(0.01 t) + N(0, noise^2) for t = 1..T; each example is the `tau` values before x_t
(features) and x_t (label). The first `n_train` examples train, the rest validate.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from ..base import DataModule
from ..batching import TensorBatches


class SineSequence(DataModule):
    """The book's synthetic sequence: T = 1000 points, tau = 4 lagged features, 600 for training.

    Args:
        T: length of the series.
        tau: how many past values make an example's features.
        n_train: examples to train on (the first ones); the rest validate.
        noise: standard deviation of the noise on the sine.
        seed: seed of the noise.
        batch_size, num_workers: see :class:`~datamodules.base.DataModule`.
    """

    def __init__(
        self, T: int = 1000, tau: int = 4, n_train: int = 600, noise: float = 0.2, seed: int = 0,
        batch_size: int = 16, **kwargs,
    ) -> None:  # fmt: skip
        super().__init__(batch_size=batch_size, **kwargs)
        if tau < 1 or not tau < n_train < T - tau:
            raise ValueError(f"need 1 <= tau < n_train < T - tau, got tau={tau}, n_train={n_train}, T={T}")
        generator = torch.Generator().manual_seed(seed)
        self.time = torch.arange(1, T + 1, dtype=torch.float32)
        self.x = torch.sin(0.01 * self.time) + noise * torch.randn(T, generator=generator)
        self.features, labels = lagged(self.x, tau), self.x[tau:].reshape(-1, 1)
        self.train_set = TensorBatches(self.features[:n_train], labels[:n_train])
        self.val_set = self.test_set = TensorBatches(self.features[n_train:], labels[n_train:])

    def predict_dataloader(self) -> DataLoader:
        """One item, for the one-step and k-step-ahead figure: the series, every example's features, and how
        many examples were trained on."""
        return DataLoader([{"x": self.x, "features": self.features, "n_train": self.hparams.n_train}], batch_size=1)

    @property
    def tau(self) -> int:
        return self.hparams.tau


def lagged(x: torch.Tensor, tau: int) -> torch.Tensor:
    """Rows (x_{t-tau}, ..., x_{t-1}) for t = tau..T-1: the features of each example."""
    return torch.stack([x[i : len(x) - tau + i] for i in range(tau)], dim=1)
