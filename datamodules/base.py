"""The shared base of the zoo's data modules (the book's ``d2l.DataModule``, Lightning-shaped)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from .download import RemoteFile, fetch_all, resolve_data_dir


class TensorBatches(Dataset):
    """Tensors indexed a whole minibatch at a time.

    The DataLoader hands ``__getitems__`` the minibatch's index list, so a batch is one fancy-index
    per tensor instead of `batch_size` Python calls plus a stack. Samplers (and Lightning's
    DistributedSampler under DDP) work unchanged.
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
        return self[torch.as_tensor(indices)]


def _keep_batch(batch):
    return batch


class DataModule(L.LightningDataModule):
    """Owns the data folder, downloads, the batch size and the loaders.

    Subclasses list their published files in :meth:`remote_files` (fetched and hash-checked by
    :meth:`fetch`; ``prepare_data`` downloads them on rank 0) and fill `train_set`/`val_set`/`test_set`.

    Args:
        data_dir: the data folder; default ``$D2L_ZOO_DATA`` or ``./data``.
        batch_size: minibatch size.
        num_workers: DataLoader workers; 0 is fastest for in-memory tensors.
        mirror: base URL or local folder to download from instead of the published URLs.
        download: allow downloading missing files.
    """

    folder_name: str = ""  # sub-folder of the data folder holding this data set's files

    def __init__(
        self,
        data_dir: str | None = None,
        batch_size: int = 256,
        num_workers: int = 0,
        mirror: str | None = None,
        download: bool = True,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.mirror, self.download = mirror, download
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None

    @property
    def folder(self) -> Path:
        """This data set's folder: ``<data_dir or $D2L_ZOO_DATA or ./data>/<folder_name>``."""
        return resolve_data_dir(self.data_dir) / self.folder_name

    @classmethod
    def remote_files(cls) -> list[RemoteFile]:
        """The published files this data set is read from (none for generated data)."""
        return []

    def fetch(self, download: bool = False) -> list[Path]:
        """The verified local paths of :meth:`remote_files`, downloading missing ones if `download`."""
        return fetch_all(self.remote_files(), self.folder, type(self).__name__, self.mirror, download)

    def prepare_data(self) -> None:
        self.fetch(download=self.download)

    def loader(self, dataset: Dataset | None, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}: call setup() before asking for a dataloader")
        batched = isinstance(dataset, TensorBatches)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
            collate_fn=_keep_batch if batched else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self.loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        """No validation set after setup (e.g. training on every row): no validation loop."""
        if self.val_set is None and self.train_set is not None:
            return []
        return self.loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self.loader(self.test_set, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self.loader(self.test_set, shuffle=False)


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
