"""Whole minibatches out of in-memory tensors, and reproducible held-out splits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset


class TensorBatches(Dataset):
    """Tensors indexed a whole minibatch at a time.

    The DataLoader hands ``__getitems__`` the minibatch's index list, so a batch is one fancy-index
    per tensor instead of `batch_size` Python calls plus a stack. Samplers (and Lightning's
    DistributedSampler under DDP) work unchanged. :meth:`to_` moves the tensors to the training device
    once (``--data.on_device true``): batches are then gathered there, and nothing is copied per step.
    """

    def __init__(self, *tensors: torch.Tensor) -> None:
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorBatches needs tensors of the same length")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
        index = torch.as_tensor(indices)
        device = self.tensors[0].device
        if device.type == "cuda":  # the index goes over asynchronously (pinned): no wait for the GPU
            index = index.pin_memory().to(device, non_blocking=True)
        return self[index]

    @property
    def device(self) -> torch.device:
        return self.tensors[0].device

    def to_(self, device: torch.device | str) -> TensorBatches:
        """Move every tensor to `device`, in place; returns self."""
        self.tensors = tuple(t.to(device) for t in self.tensors)
        return self


def keep_batch(batch):
    """The collate function of :class:`TensorBatches`: the batch is already one tensor per field."""
    return batch


def check_val_split(fraction: float) -> float:
    """A held-out fraction must be in [0, 1)."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"val_split must be in [0, 1), got {fraction}")
    return fraction


def split_off(
    tensors: Sequence[torch.Tensor], fraction: float, seed: int = 0
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Split tensors row-wise into (kept, held-out) with `fraction` of the rows held out, reproducibly."""
    check_val_split(fraction)
    n = len(tensors[0])
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_out = round(n * fraction)
    keep, out = order[n_out:], order[:n_out]
    return [t[keep] for t in tensors], [t[out] for t in tensors]
