"""The shared bases of the zoo's data modules (the book's ``d2l.DataModule``, Lightning-shaped).

:class:`DataModule` owns the batch size and the loaders; :class:`FileDataModule` adds the data folder and
the downloads. A subclass declares only the arguments it adds (its ``**kwargs`` reach the base, and
LightningCLI follows them there), and every argument is saved once, in ``self.hparams``.

What a data module knows and a network needs (``num_classes``, ``in_channels``, ``num_inputs``,
``vocab``, ...) it offers as attributes of those names; a fact known only after ``setup`` raises
``AttributeError`` until then. ``zoo.core.links`` says how they reach the model.
"""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from .batching import TensorBatches, keep_batch, split_off
from .download import DataError, RemoteFile, extract_tar, extract_zip, fetch_all, resolve_data_dir


def known_after_setup(value, owner: object, name: str):
    """`value`, or an AttributeError saying that `name` is known only once `owner` has read its data."""
    if value is None:
        raise AttributeError(f"{type(owner).__name__}.{name} is known after setup(), once the data is read")
    return value


class DataModule(L.LightningDataModule):
    """Owns the batch size and the loaders; subclasses fill `train_set`/`val_set`/`test_set`.

    Args:
        batch_size: minibatch size (per device under DDP: the global batch is batch_size x devices x nodes).
        num_workers: DataLoader worker processes; None chooses per platform and data kind: none for data held
            in memory as tensors (a batch is one gather) and on a CPU (its cores compute); for data decoded
            per sample (image folders) on a GPU, one per CPU core of the GPU's share, less one, at most 8.
        on_device: keep in-memory data sets on the training device (each process's GPU under DDP), so batches
            are gathered there and nothing is copied per step; a few hundred MB at most for the book's sets.
            Data decoded per sample stays where it is.
    """

    def __init__(self, batch_size: int = 256, num_workers: int | None = None, on_device: bool = False) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        if num_workers is not None and num_workers < 0:
            raise ValueError(f"num_workers must not be negative, got {num_workers}")
        self.save_hyperparameters()  # the arguments of every __init__ up the class chain, saved once
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None

    @property
    def batch_size(self) -> int:
        return self.hparams.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:  # Lightning's batch-size finder sets it
        self.hparams.batch_size = value

    @property
    def device(self) -> torch.device:
        """Where batches go: the trainer's device for this process (its GPU under DDP), else the CPU."""
        trainer = self.trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def workers(self, dataset: Dataset) -> int:
        """DataLoader workers for `dataset` (see `num_workers`)."""
        if self.hparams.num_workers is not None:
            return self.hparams.num_workers
        in_memory = hasattr(dataset, "to_") or isinstance(dataset, IterableDataset)
        if in_memory or self.device.type != "cuda":
            return 0
        per_device = (os.cpu_count() or 1) // max(1, self.trainer.num_devices)
        return max(0, min(8, per_device - 1))

    def split_sets(self, train: list[torch.Tensor], test: list[torch.Tensor]) -> None:
        """The training, validation and test sets from a data set's training and test tensors: ``val_split`` of the
        training examples held out for validation, or (0) validation on the test set, as the book does."""
        self.test_set = TensorBatches(*test)
        if self.hparams.val_split > 0:
            train, val = split_off(train, self.hparams.val_split)
            self.val_set = TensorBatches(*val)
        else:
            self.val_set = self.test_set
        self.train_set = TensorBatches(*train)

    def loader(self, dataset: Dataset | None, shuffle: bool) -> DataLoader:
        """A DataLoader over `dataset`; a data set with a ``collate_fn`` attribute batches its samples with it."""
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}: call setup() before asking for a dataloader")
        device = self.device
        if self.hparams.get("on_device") and hasattr(dataset, "to_") and dataset.device != device:
            dataset.to_(device)
        batched = isinstance(dataset, TensorBatches)
        workers = self.workers(dataset)
        on_device = getattr(dataset, "device", torch.device("cpu")).type != "cpu"
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=0 if on_device else workers,
            persistent_workers=workers > 0 and not on_device,
            pin_memory=device.type == "cuda" and not on_device,
            collate_fn=keep_batch if batched else getattr(dataset, "collate_fn", None),  # a data set's own
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

    def fit_report(self, model) -> str | None:
        """A line printed after ``fit`` about what the model learned of this data (e.g. its estimation error)."""
        return None


class FileDataModule(DataModule):
    """A data set read from published files: the data folder, download and hash checks.

    Subclasses name their folder (`folder_name`) and list their files in :meth:`remote_files`; ``prepare_data``
    downloads what is missing (rank 0 only), :meth:`fetch` returns the verified paths.

    Args:
        data_dir: the data folder; default ``$D2L_ZOO_DATA`` or ``./data``.
        mirror: base URL or local folder to download from instead of the published URLs.
        download: allow downloading missing files.
        batch_size, num_workers: see :class:`DataModule`.
    """

    folder_name: str = ""  # sub-folder of the data folder holding this data set's files
    files: tuple[RemoteFile, ...] = ()  # the published files, or
    archive: RemoteFile | None = None  # the one published archive (zip or tar) they come in

    def __init__(self, data_dir: str | None = None, mirror: str | None = None, download: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)

    @property
    def folder(self) -> Path:
        """This data set's folder: ``<data_dir or $D2L_ZOO_DATA or ./data>/<folder_name>``."""
        return resolve_data_dir(self.hparams.data_dir) / self.folder_name

    @classmethod
    def remote_files(cls) -> list[RemoteFile]:
        """The published files this data set is read from: `files`, or its `archive`."""
        return [*cls.files, *([cls.archive] if cls.archive else [])]

    def fetch(self, download: bool = False) -> list[Path]:
        """The verified local paths of :meth:`remote_files`, downloading missing ones if `download`."""
        return fetch_all(self.remote_files(), self.folder, type(self).__name__, self.hparams.mirror, download)

    def prepare_data(self) -> None:
        self.fetch(download=self.hparams.download)

    def unpacked(self, wanted: list[Path], root: Path, top: str, layout: str, download: bool = False) -> list[Path]:
        """`wanted` (paths inside the unpacked `archive`), unpacking the hash-checked archive's folder `top` into
        `root` when one is missing. An unpacked copy without its archive is used as it is; with neither, one
        DataError names the archive (hash, URL, folder) and the unpacked `layout` that would do instead."""
        unpacked = all(path.exists() for path in wanted)
        if unpacked and not (root / self.archive.name).is_file():
            return wanted
        try:
            (archive,) = fetch_all(self.remote_files(), root, type(self).__name__, self.hparams.mirror, download)
        except DataError as err:
            raise DataError(f"{err}\nOr put the unpacked archive there: {layout}") from None
        if not unpacked:
            (extract_tar if ".tar" in archive.name else extract_zip)(archive, root, top)
            missing = [str(path) for path in wanted if not path.exists()]
            if missing:
                raise DataError(
                    f"{archive} unpacked without {', '.join(missing)}: not the {type(self).__name__} archive"
                )
        return wanted
