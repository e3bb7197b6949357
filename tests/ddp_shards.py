"""Run by tests/test_performance.py: two gloo processes fit a model that records which examples each rank sees.

Each rank writes ``<out>/rank<r>.json``: per epoch, the example ids of its training and validation batches.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightning as L
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datamodules.base import DataModule  # noqa: E402
from datamodules.batching import TensorBatches  # noqa: E402


class Numbered(DataModule):
    """`n` examples whose single feature is their id, held in memory (on the device with on_device)."""

    def __init__(self, n: int = 40, **kwargs) -> None:
        super().__init__(**kwargs)

    def setup(self, stage: str | None = None) -> None:
        ids = torch.arange(self.hparams.n, dtype=torch.float32)
        self.train_set, self.val_set = TensorBatches(ids[:, None], ids), TensorBatches(ids[:, None] + 1000, ids)

    def train_dataloader(self):
        return self.loader(self.train_set, shuffle=True)

    def val_dataloader(self):
        return self.loader(self.val_set, shuffle=False)


class Recorder(L.LightningModule):
    def __init__(self, out: str) -> None:
        super().__init__()
        self.layer, self.out, self.seen = torch.nn.Linear(1, 1), Path(out), {}

    def _record(self, stage: str, x: torch.Tensor) -> None:
        ids = self.seen.setdefault(str(self.current_epoch), {}).setdefault(stage, [])
        ids += [int(v) for v in x.flatten()]

    def training_step(self, batch, batch_idx):
        x, y = batch
        self._record("train", x)
        return (self.layer(x).squeeze(1) - y).pow(2).mean() * 0.0

    def validation_step(self, batch, batch_idx):
        self._record("val", batch[0])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)

    def on_fit_end(self) -> None:
        (self.out / f"rank{self.global_rank}.json").write_text(json.dumps(self.seen))


if __name__ == "__main__":
    out, on_device = sys.argv[1], sys.argv[2] == "on_device"
    trainer = L.Trainer(
        accelerator="cpu", devices=2, strategy="ddp", max_epochs=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip
    trainer.fit(Recorder(out), datamodule=Numbered(batch_size=4, on_device=on_device))
