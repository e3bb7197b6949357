"""Kaggle house prices (book section "Predicting House Prices on Kaggle").

The book's preprocessing on the training and test features together: drop ``Id``, standardise the
numeric columns, fill their missing values with 0 (the new mean), and one-hot encode the categorical
columns with an extra indicator for "missing" (``pd.get_dummies(dummy_na=True)``). Labels are the sale
prices as float32; the model takes logs where its loss or metric needs them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..batching import TensorBatches
from ..download import DataError, RemoteFile
from .csv_table import TableDataModule, check_fold, get_k_fold_data

DATA_HUB = "http://d2l-data.s3-accelerate.amazonaws.com/"
LABEL = "SalePrice"
# pandas' missing-value markers before 2.0, when the book ran; pandas 2.0 added "None", which in this data is
# a real category ("no masonry veneer", MasVnrType). Keeping it gives the book's 331 feature columns.
NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A"]
NA_VALUES += ["NA", "NULL", "NaN", "n/a", "nan", "null"]


def read_house_csv(path) -> pd.DataFrame:
    """One of the competition's CSV files, with missing values marked as the book's pandas marked them."""
    return pd.read_csv(path, keep_default_na=False, na_values=NA_VALUES)


def preprocess(train_data: pd.DataFrame, test_data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The book's feature preprocessing; returns float32 (train_features, test_features) with equal columns.

    Numeric columns are standardised with the mean and std of train and test rows together, as in the book.
    """
    all_features = pd.concat((train_data.drop(columns=["Id", LABEL]), test_data.drop(columns=["Id"])))
    numeric = all_features.select_dtypes(include="number").columns  # the book: dtypes != 'object'
    all_features[numeric] = all_features[numeric].apply(lambda x: (x - x.mean()) / x.std())
    all_features[numeric] = all_features[numeric].fillna(0)  # after standardising, the mean is 0
    all_features = pd.get_dummies(all_features, dummy_na=True).astype(np.float32)
    n_train = len(train_data)
    return all_features.iloc[:n_train], all_features.iloc[n_train:]


class KaggleHouse(TableDataModule):
    """The Kaggle house prices competition data: 1,460 priced houses to train on, 1,459 to price.

    Args:
        num_folds: K of the K-fold split (the book: 5).
        fold: which fold validates (0 .. num_folds - 1); None trains on every priced house, without validation.
        batch_size: minibatch size (the book: 64).
        data_dir, mirror, download, num_workers: see :class:`~datamodules.base.FileDataModule`; the files go
            to ``<data_dir>/kaggle-house/``.

    ``predict`` prices the competition's test houses; the model writes them as Kaggle's ``submission.csv``.
    The test houses carry no prices, so there is no ``test`` stage: validate with a fold instead.
    """

    folder_name = "kaggle-house"
    files = tuple(  # the D2L data hub's URLs and published SHA-1s
        RemoteFile(name, DATA_HUB + name, f"sha1:{sha1}")
        for name, sha1 in (
            ("kaggle_house_pred_train.csv", "585e9cc93e70b39160e7921475f9bcd7d31219ce"),
            ("kaggle_house_pred_test.csv", "fa19780a7b011d9b009e8bff8e99922a8ee2eb90"),
        )
    )

    def __init__(self, num_folds: int = 5, fold: int | None = None, batch_size: int = 64, **kwargs) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        check_fold(num_folds, fold)
        self.test_ids: list[int] = []
        self.feature_names: list[str] = []

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        paths = self.fetch()
        train_data, test_data = (read_house_csv(p) for p in paths)
        for name, table, needed in (("train", train_data, ["Id", LABEL]), ("test", test_data, ["Id"])):
            if missing := [c for c in needed if c not in table.columns]:
                raise DataError(f"KaggleHouse: the {name} CSV {paths[name == 'test']} has no column(s) {missing}")
        train_features, test_features = preprocess(train_data, test_data)
        self.feature_names = list(train_features.columns)
        self.test_ids = test_data["Id"].astype(int).tolist()
        X = torch.tensor(train_features.to_numpy())
        y = torch.tensor(train_data[LABEL].to_numpy(dtype=np.float32)).reshape(-1, 1)
        if self.hparams.fold is None:
            self.train_set = TensorBatches(X, y)
        else:
            X_train, y_train, X_valid, y_valid = get_k_fold_data(self.hparams.num_folds, self.hparams.fold, X, y)
            self.train_set, self.val_set = TensorBatches(X_train, y_train), TensorBatches(X_valid, y_valid)
        self.test_set = TensorBatches(torch.tensor(test_features.to_numpy()))

    def test_dataloader(self):
        raise ValueError(
            "KaggleHouse: the competition's test houses have no prices, so there is nothing to test against. "
            "Use `predict` to write submission.csv, or `validate` with --data.fold to score a held-out fold."
        )
