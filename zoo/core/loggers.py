"""The zoo's default logger: Lightning's CSV logger, able to continue a run.

Lightning's ``CSVLogger`` deletes ``metrics.csv`` when it logs into a run folder that exists; resuming a fit in its
own run folder (``cli.py fit --ckpt_path last``) must keep the epochs logged before the interruption and append
the rest.
"""

from __future__ import annotations

import csv

from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class _ContinuingWriter(ExperimentWriter):
    """An experiment writer that keeps an existing ``metrics.csv`` (and its columns) and appends to it."""

    def _check_log_dir_exists(self) -> None:  # Lightning's would delete metrics.csv
        fs = get_filesystem(self.log_dir)
        if fs.isfile(self.metrics_file_path):
            with fs.open(self.metrics_file_path, "r", newline="") as file:
                self.metrics_keys = list(csv.DictReader(file).fieldnames or [])


class RunLogger(CSVLogger):
    """``CSVLogger`` that appends to the run folder's ``metrics.csv`` when the run is resumed (a given `version`).

    Args: those of ``lightning.pytorch.loggers.CSVLogger``.
    """

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(log_dir=self.log_dir)
        return self._experiment
