"""The edge image of the book's "Learning a Kernel" (section "Convolutions for Images"): a 6x8 image of ones
with a band of zeros in columns 2-5, and its target, the image cross-correlated with the kernel [1, -1]
(1 where the image steps from white to black, -1 where it steps back)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..base import DataModule
from ..batching import TensorBatches


def edge_image(height: int = 6, width: int = 8, band: tuple[int, int] = (2, 6)) -> torch.Tensor:
    """The book's X: ones, with zeros in columns band[0] .. band[1] - 1; shape (height, width)."""
    X = torch.ones((height, width))
    X[:, band[0] : band[1]] = 0
    return X


class EdgeImage(DataModule):
    """One training example: the edge image (1, 1, 6, 8) and its edges (1, 1, 6, 7) under `kernel`.

    Args:
        kernel: the kernel that makes the target (the book's [1, -1]); a model should recover it.
        batch_size, num_workers: see :class:`~datamodules.base.DataModule`.

    With one example, each epoch is one step: the book's 10 iterations are 10 epochs.
    """

    def __init__(self, kernel: list[float] = [1.0, -1.0], batch_size: int = 1, **kwargs) -> None:  # noqa: B006
        super().__init__(batch_size=batch_size, **kwargs)
        if not kernel:
            raise ValueError("kernel must hold at least one value")
        self.kernel = torch.tensor([kernel], dtype=torch.float32)  # (1, kw): a row kernel
        X = edge_image().reshape(1, 1, 6, 8)
        Y = F.conv2d(X, self.kernel.reshape(1, 1, *self.kernel.shape))  # torch's cross-correlation
        self.train_set = TensorBatches(X, Y)

    def fit_report(self, model) -> str | None:
        """How far the model's learned kernel is from the one that made the data."""
        learned = getattr(model, "kernel", None)
        if learned is None or learned.shape != self.kernel.shape:
            return None
        error = (learned.detach().cpu() - self.kernel).abs().max().item()
        return f"true kernel: {self.kernel.tolist()}; largest error of the learned one: {error:.4f}"
