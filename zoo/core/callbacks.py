"""Callbacks the CLI installs by default (a one-line epoch summary, the prediction writer, exact resume, the
training curves, the checkpoints) and the speed switch ``Compile``."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter, ModelCheckpoint


class EpochSummary(L.Callback):
    """Prints one line per epoch (logged metrics and training throughput) and the fit's wall time.

    The book reports examples/sec (tokens/sec for language models) over the training epochs; this
    counts the same, excluding validation. Readable in cluster logs, where progress bars are off.

    Args:
        every_n_epochs: print every n-th epoch (and the first and last); None: about 25 lines per fit.
    """

    def __init__(self, every_n_epochs: int | None = None) -> None:
        self.every_n_epochs = every_n_epochs

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.fit_start = time.perf_counter()
        self.train_seconds, self.train_items = 0.0, 0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epoch_start = self.last_batch_end = time.perf_counter()
        self.items = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        count_items = getattr(pl_module, "count_items", None)  # a model may count its own (a tensor: no sync)
        if count_items is not None:
            self.items += count_items(batch)
        else:
            inputs = batch[0]
            self.items += inputs.numel() if getattr(pl_module, "throughput_unit", "") == "tokens" else len(inputs)
        self.last_batch_end = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.items = int(self.items)
        seconds = max(self.last_batch_end - self.epoch_start, 1e-9)
        self.train_seconds += seconds
        self.train_items += self.items
        epoch, last = trainer.current_epoch + 1, trainer.max_epochs
        where = f"epoch {epoch}/{last}"
        if not last or last < 0:  # a fit of max_steps: the epochs it will take, and the steps so far
            batches = trainer.num_training_batches
            last = math.ceil(trainer.max_steps / batches) if trainer.max_steps > 0 and 0 < batches < math.inf else 0
            where = f"epoch {epoch} (step {trainer.global_step}/{trainer.max_steps})"
        every = self.every_n_epochs or max(1, (last or 0) // 25)
        if not trainer.is_global_zero or (epoch % every and epoch not in (1, last)):
            return
        metrics = "  ".join(
            f"{k} {v.item():.4f}" for k, v in sorted(trainer.callback_metrics.items()) if v.numel() == 1
        )
        unit = getattr(pl_module, "throughput_unit", "examples")
        rate = self.items * trainer.world_size / seconds
        print(f"{where}  {metrics}  {rate:,.0f} {unit}/s", flush=True)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The fit's wall time and throughput, what the data module reports (e.g. the error in the estimated
        weights), and where the run's logs and last checkpoint are."""
        log_dir = trainer.log_dir  # on every rank: it is broadcast from rank 0
        if not trainer.is_global_zero:
            return
        if self.train_seconds:
            unit = getattr(pl_module, "throughput_unit", "examples")
            rate = self.train_items * trainer.world_size / self.train_seconds
            wall = time.perf_counter() - self.fit_start
            print(f"fit done in {wall:.1f} s wall; training {rate:,.0f} {unit}/s on {trainer.strategy.root_device}")
        report = getattr(trainer.datamodule, "fit_report", None)
        if report is not None and (text := report(pl_module)):
            print(text)
        if log_dir and trainer.loggers:
            print(f"run folder: {log_dir}")
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None and (
            path := getattr(checkpoint, "last_model_path", "") or checkpoint.best_model_path
        ):
            print(f"last checkpoint: {path}", flush=True)


class PredictionWriter(BasePredictionWriter):
    """After ``predict``, asks the model to write its predictions as files and prints their paths."""

    def __init__(self, output_dir: str | None = None) -> None:
        super().__init__(write_interval="epoch")
        self.output_dir = output_dir

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices) -> None:
        if not trainer.is_global_zero or not hasattr(pl_module, "write_predictions"):
            return
        if predictions and isinstance(predictions[0], list):  # several predict dataloaders: use the first
            predictions = predictions[0]
        out_dir = Path(self.output_dir or trainer.log_dir or trainer.default_root_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in pl_module.write_predictions(predictions, out_dir, trainer.datamodule):
            print(f"wrote {path}")


class Compile(L.Callback):
    """``torch.compile`` the model in place before it runs (``configs/trainer/compile.yaml``).

    Uses ``nn.Module.compile``, which compiles the module's call without wrapping it, so saved state
    dicts keep their plain keys (no ``_orig_mod.`` prefix) and checkpoints load with or without it.
    """

    def __init__(self, mode: str | None = None, dynamic: bool | None = None, backend: str = "inductor") -> None:
        self.mode, self.dynamic, self.backend = mode, dynamic, backend

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        pl_module.compile(mode=self.mode, dynamic=self.dynamic, backend=self.backend)


class ExactResume(L.Callback):
    """Makes a resumed fit continue exactly where the checkpoint left it.

    Lightning restores the weights, the optimizer and the loops, but not the random number generators; the next
    epoch's shuffling (and dropout, and augmentation) would then draw from a freshly seeded stream, and a resumed
    run would part from an uninterrupted one. This saves the generators' states (torch, CUDA, NumPy, Python)
    with every checkpoint and restores them on resume, and flushes the loggers when a checkpoint is written, so
    the logs on disk go as far as the checkpoint. (Data modules keep their own random state in their
    ``state_dict``, which Lightning saves and restores too.) Checkpoints are taken at epoch ends, so a run killed
    mid-epoch repeats that epoch from its start, drawing the same numbers.
    """

    def state_dict(self) -> dict:
        numpy_state = np.random.get_state()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": (numpy_state[0], torch.from_numpy(numpy_state[1].copy()), *numpy_state[2:]),
            "python": random.getstate(),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        torch.set_rng_state(state_dict["torch"])
        if state_dict["cuda"] and torch.cuda.is_available() and len(state_dict["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state_dict["cuda"])
        name, keys, *rest = state_dict["numpy"]
        np.random.set_state((name, keys.numpy(), *rest))
        random.setstate(state_dict["python"])

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        for logger in trainer.loggers:
            logger.save()


class EpochCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose ``every_n_epochs`` never leaves the end of training unsaved: a run that stops
    between two of its epochs (``max_epochs`` not a multiple, early stopping, ``max_time``) still saves its last
    epoch, so ``last.ckpt`` always holds the final weights. The CLI's default checkpoint (``--checkpoint_every``),
    for recipes of hundreds of 0.1-second epochs, where a checkpoint every epoch is hundreds of file writes."""

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._should_skip_saving_checkpoint(trainer):  # trained since the last save
            candidates = self._monitor_candidates(trainer)
            self._save_topk_checkpoint(trainer, candidates)
            self._save_last_checkpoint(trainer, candidates)
        super().on_train_end(trainer, pl_module)


class TrainingCurves(L.Callback):
    """At the end of ``fit``, draws the run's curves (the book's training figure) as ``<run folder>/curves.png``
    from its ``metrics.csv``; ``python cli.py plot RUN_DIR ...`` redraws them, several runs on one figure."""

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        log_dir = trainer.log_dir  # on every rank: it is broadcast from rank 0
        if not trainer.is_global_zero or not log_dir or not (Path(log_dir) / "metrics.csv").is_file():
            return
        from .plotting import plot_runs

        for logger in trainer.loggers:
            logger.save()
        print(f"wrote {plot_runs([Path(log_dir)], Path(log_dir) / 'curves.png')}")
