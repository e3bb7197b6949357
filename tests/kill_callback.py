"""A callback for the resume tests: the process sends itself a signal in the middle of an epoch, once."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import lightning as L


class SignalAt(L.Callback):
    """Send `signum` (SIGKILL or SIGTERM) to this process after training batch `batch` of epoch `epoch`, unless
    the file `once` exists (it is created first, so a resumed run goes on)."""

    def __init__(self, epoch: int, batch: int, once: str, signum: str = "SIGKILL") -> None:
        self.epoch, self.batch, self.once, self.signum = epoch, batch, Path(once), getattr(signal, signum)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch and not self.once.exists():
            self.once.touch()
            os.kill(os.getpid(), self.signum)
