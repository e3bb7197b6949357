"""The book's data for attention pooling (section "Attention Pooling: Nadaraya-Watson Kernel Regression"):
50 training inputs x ~ U(0, 5), sorted, with y = 2 sin(x) + x^0.8 + N(0, 0.5^2); 50 test inputs 0, 0.1, ..., 4.9
with the noise-free y.

A batch is (queries, keys, values, targets). Training: each training input is a query whose keys and values
are the other 49 training pairs (leaving itself out, as the book does); validation and prediction: each test
input attends over all 50 training pairs.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from ..base import DataModule
from ..batching import TensorBatches, keep_batch


def kernel_regression_target(x: torch.Tensor) -> torch.Tensor:
    """The book's f(x) = 2 sin(x) + x^0.8."""
    return 2 * torch.sin(x) + x**0.8


class KernelRegressionData(DataModule):
    """The book's synthetic regression data for Nadaraya-Watson kernel regression.

    Args:
        n_train: training pairs (the book: 50).
        noise: standard deviation of the noise on the training targets (the book: 0.5).
        seed: seed of the inputs and the noise.
        batch_size: queries per minibatch (the book trains on all 50 at once).
        num_workers: see :class:`~datamodules.base.DataModule`.
    """

    def __init__(self, n_train: int = 50, noise: float = 0.5, seed: int = 0, batch_size: int = 50, **kwargs) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        if n_train < 2:
            raise ValueError(f"n_train must be at least 2 (each query needs another pair), got {n_train}")
        generator = torch.Generator().manual_seed(seed)
        self.x_train, _ = torch.sort(torch.rand(n_train, generator=generator) * 5)
        self.y_train = kernel_regression_target(self.x_train) + noise * torch.randn(n_train, generator=generator)
        self.x_test = torch.arange(0, 5, 0.1)
        self.y_truth = kernel_regression_target(self.x_test)
        others = ~torch.eye(n_train, dtype=torch.bool)  # row i: every training pair but the i-th
        keys = self.x_train.repeat(n_train, 1)[others].reshape(n_train, -1)
        values = self.y_train.repeat(n_train, 1)[others].reshape(n_train, -1)
        self.train_set = TensorBatches(self.x_train, keys, values, self.y_train)
        n_test = len(self.x_test)
        test = (self.x_test, self.x_train.repeat(n_test, 1), self.y_train.repeat(n_test, 1), self.y_truth)
        self.val_set = self.test_set = TensorBatches(*test)

    def predict_dataloader(self) -> DataLoader:
        """The test queries in one batch (the book's figure: predictions and attention over all of them)."""
        return DataLoader(self.test_set, batch_size=len(self.test_set), collate_fn=keep_batch)
