"""The NASA airfoil self-noise data (UCI), the optimization chapter's testbed (book sections "Minibatch Stochastic
Gradient Descent", 11.5 in 0.17 / 12.5 in 1.0, and the chapter's sections after it).

The book's ``get_data_ch11``: the tab-separated file of 1,503 rows (frequency, angle of attack, chord length,
free-stream velocity, suction-side displacement thickness; then the sound pressure level), every column
standardised with the mean and standard deviation of all rows, the first 1,500 rows kept; the last column is the
label. Its optimizers train a linear regression on them and report the loss on the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..base import FileDataModule
from ..batching import TensorBatches
from ..download import DataError, RemoteFile

DATA_HUB = "http://d2l-data.s3-accelerate.amazonaws.com/"
SHA1 = "76e5be1548fd8222e5074cf0faae75edff8cf93f"
COLUMNS = 6  # five features, then the label


class Airfoil(FileDataModule):
    """Airfoil self-noise: 5 standardised features, a standardised label, the first `num_rows` rows.

    Args:
        num_rows: rows kept after standardising (the book: 1,500 of the file's 1,503).
        batch_size: minibatch size (the book's optimizers: 10).
        data_dir, mirror, download, num_workers: see :class:`~datamodules.base.FileDataModule`; the file goes
            to ``<data_dir>/airfoil/``.

    The book trains on every kept row and reports its loss on the same rows, so validation, test and predict use
    them too; after ``fit`` the loss over all of them (squared loss / 2, the book's figure) is printed.
    """

    folder_name = "airfoil"
    files = (  # the D2L data hub's URL and published SHA-1
        RemoteFile("airfoil_self_noise.dat", DATA_HUB + "airfoil_self_noise.dat", f"sha1:{SHA1}"),
    )
    num_inputs = COLUMNS - 1

    def __init__(self, num_rows: int = 1500, batch_size: int = 10, **kwargs) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        if num_rows < 1:
            raise ValueError(f"num_rows must be a positive integer, got {num_rows}")

    def read(self) -> np.ndarray:
        """The file as float32, every column standardised over all its rows (numpy's std, as the book)."""
        path = self.fetch()[0]
        try:
            data = pd.read_csv(path, sep="\t", header=None, dtype=np.float32).to_numpy()
        except (ValueError, OSError) as err:
            raise DataError(f"Airfoil: cannot read {path} as a tab-separated table of numbers ({err})") from err
        if data.ndim != 2 or data.shape[1] != COLUMNS:
            raise DataError(f"Airfoil: {path} has {data.shape[1]} columns, expected {COLUMNS}")
        return (data - data.mean(axis=0)) / data.std(axis=0)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        data = torch.from_numpy(self.read()[: self.hparams.num_rows])
        self.train_set = TensorBatches(data[:, :-1], data[:, -1:])
        self.val_set = self.test_set = self.train_set  # the book's loss is on the rows it trains on

    def loss(self, model) -> float:
        """The book's figure: squared loss / 2 of `model` averaged over every kept row."""
        X, y = self.train_set.tensors
        with torch.no_grad():
            y_hat = model(X.to(model.device)).cpu()
        return ((y_hat.reshape(y.shape) - y) ** 2 / 2).mean().item()

    def fit_report(self, model) -> str:
        n = len(self.train_set)
        return f"loss (squared loss / 2 over the {n} rows, the book's figure): {self.loss(model):.4f}"
