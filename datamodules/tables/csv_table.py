"""Tabular data from CSV files: a generic table data module and the book's K-fold split.

``CSVTable`` reads one CSV (a local file, or one downloaded and hash-checked), takes the label from
one column and the features from the others, optionally standardises the features with training
statistics, and serves float32 tensors. The companion PyTorch course's diabetes classifier
(``configs/course/diabetes.yaml``) runs on it. :func:`get_k_fold_data` is the book's K-fold splitter
(section "Predicting House Prices on Kaggle"), shared with :class:`~datamodules.KaggleHouse`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ..base import FileDataModule, known_after_setup
from ..batching import TensorBatches, check_val_split, split_off
from ..download import DataError, RemoteFile, fetch_all, resolve_data_dir


def fold_bounds(n: int, k: int) -> list[int]:
    """Row boundaries of `k` contiguous folds of `n` rows: fold j is rows ``[b[j], b[j + 1])``.

    Fold j starts at ``j * n // k``: the book's ``j * (n // k)`` when k divides n; otherwise the book drops
    the ``n % k`` leftover rows, while here they join the folds, so every row is validated exactly once.
    """
    if k < 2:
        raise ValueError(f"K-fold needs at least 2 folds, got num_folds={k}")
    if n < k:
        raise ValueError(f"cannot split {n} rows into {k} folds")
    return [j * n // k for j in range(k + 1)]


def get_k_fold_data(k: int, i: int, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The book's ``get_k_fold_data``: fold `i` of `k` contiguous slices validates, the rest train.

    Returns ``(X_train, y_train, X_valid, y_valid)``.
    """
    bounds = fold_bounds(len(X), k)
    if not 0 <= i < k:
        raise ValueError(f"fold must be in [0, {k}), got {i}")
    valid = slice(bounds[i], bounds[i + 1])
    X_train = torch.cat([X[: bounds[i]], X[bounds[i + 1] :]])
    y_train = torch.cat([y[: bounds[i]], y[bounds[i + 1] :]])
    return X_train, y_train, X[valid], y[valid]


def check_fold(num_folds: int, fold: int | None) -> None:
    """Validate the K-fold hyperparameters early, with a clear message."""
    if fold is None:
        return
    if num_folds < 2:
        raise ValueError(f"num_folds must be at least 2, got {num_folds}")
    if not 0 <= fold < num_folds:
        raise ValueError(f"fold must be None or in [0, {num_folds}), got {fold}")


def feature_stats(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Column means and standard deviations of `X` for standardising; a constant column gets std 1."""
    mean, std = X.mean(dim=0), X.std(dim=0)
    return mean, torch.where(std > 0, std, torch.ones_like(std))


class TableDataModule(FileDataModule):
    """The serving half of a table data module: ``setup`` fills `train_set` (features, labels) and the
    held-out sets; ``val_dataloader`` is empty when nothing is held out (training on every row)."""

    @property
    def num_inputs(self) -> int:
        """Feature columns after preprocessing; known after ``setup`` (see :mod:`zoo.core.links`)."""
        return known_after_setup(self.train_set and self.train_set.tensors[0].shape[1], self, "num_inputs")


class CSVTable(TableDataModule):
    """One CSV table: features from some columns, a float label from one, float32 tensors out.

    Args:
        path: the CSV file (``.gz``/``.zip`` read directly). A relative path is looked up in the current
            folder first, then in the data folder; with `url` the file is downloaded to ``<data folder>/<path>``.
        label_column: name or index (negative counts from the end) of the label column.
        feature_columns: names or indices of the feature columns; None: every column but the label.
        header: the first line holds column names (False: columns are named 0, 1, 2, ...).
        sep: field separator.
        standardize: standardise features with the training rows' mean and std.
        val_split: fraction of rows held out at random for validation (ignored when `fold` is set).
        num_folds, fold: K-fold validation on contiguous slices (the book's split); fold None: no folds.
        url, known_hash: where to download the file and its published hash (``"sha1:..."``/``"md5:..."``);
            a url needs a hash; a hash given without a url is still checked on the local file.
        seed: seed of the random validation split.
        data_dir, mirror, download, batch_size, num_workers: see :class:`~datamodules.base.FileDataModule`.

    Validation, test and predict use the held-out rows; with none held out, test and predict use every row.
    """

    def __init__(
        self,
        path: str,
        label_column: str | int = -1,
        feature_columns: list[str | int] | None = None,
        header: bool = True,
        sep: str = ",",
        standardize: bool = False,
        val_split: float = 0.0,
        num_folds: int = 5,
        fold: int | None = None,
        url: str | None = None,
        known_hash: str | None = None,
        seed: int = 0,
        batch_size: int = 32,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        check_val_split(val_split)
        check_fold(num_folds, fold)
        if url is not None and known_hash is None:
            raise ValueError("give known_hash with url: a downloaded file is only used once its hash is checked")

    def file_path(self) -> Path:
        """Where the CSV file is (or will be downloaded to)."""
        hp = self.hparams
        path = Path(hp.path).expanduser()
        if path.is_absolute():
            return path
        if hp.url is None and path.is_file():
            return path.resolve()  # a local file in the current folder
        return resolve_data_dir(hp.data_dir) / path

    def locate(self, download: bool) -> Path:
        """The path of the CSV file, verified against `known_hash` if one is given; downloads if allowed."""
        hp, path = self.hparams, self.file_path()
        if hp.known_hash is None:
            if not path.is_file():
                raise DataError(f"CSVTable: {hp.path} not found (looked in {Path.cwd()} and {path.parent})")
            return path
        remote = RemoteFile(path.name, hp.url or "", hp.known_hash)
        can_download = download and bool(hp.url or hp.mirror)
        return fetch_all([remote], path.parent, f"CSVTable({hp.path})", hp.mirror, can_download)[0]

    def prepare_data(self) -> None:
        self.locate(self.hparams.download)

    def read(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(features, labels) as float32 tensors of shapes (N, d) and (N, 1)."""
        hp, path = self.hparams, self.locate(download=False)
        try:
            table = pd.read_csv(path, header=0 if hp.header else None, sep=hp.sep)
        except (ValueError, OSError) as err:
            raise DataError(f"CSVTable: cannot read {path} as CSV ({type(err).__name__}: {err})") from err
        label = self._column(table, hp.label_column)
        if hp.feature_columns is None:
            features = [c for c in table.columns if c != label]
        else:
            features = [self._column(table, c) for c in hp.feature_columns]
        if label in features:
            raise ValueError(f"the label column {label!r} is also a feature column")
        try:
            X = torch.tensor(table[features].to_numpy(dtype="float32"))
            y = torch.tensor(table[label].to_numpy(dtype="float32")).reshape(-1, 1)
        except ValueError as err:
            raise DataError(f"CSVTable: {path} has non-numeric values in the chosen columns ({err})") from err
        return X, y

    @staticmethod
    def _column(table: pd.DataFrame, column: str | int):
        """A column's label in `table`, from its name or its (possibly negative) position."""
        if column in table.columns:
            return column
        if isinstance(column, int) and -len(table.columns) <= column < len(table.columns):
            return table.columns[column]
        raise ValueError(f"no column {column!r}; the table has {list(table.columns)}")

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        hp = self.hparams
        X, y = self.read()
        if hp.fold is not None:
            X_train, y_train, X_val, y_val = get_k_fold_data(hp.num_folds, hp.fold, X, y)
        elif hp.val_split > 0:
            (X_train, y_train), (X_val, y_val) = split_off([X, y], hp.val_split, hp.seed)
        else:
            X_train, y_train, X_val, y_val = X, y, None, None
        if hp.standardize:  # with the training rows' statistics
            mean, std = feature_stats(X_train)
            X_train, X = (X_train - mean) / std, (X - mean) / std
            X_val = None if X_val is None else (X_val - mean) / std
        self.train_set = TensorBatches(X_train, y_train)
        self.val_set = None if X_val is None else TensorBatches(X_val, y_val)
        self.test_set = self.val_set if self.val_set is not None else TensorBatches(X, y)
