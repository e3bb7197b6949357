"""d2l-zoo's command line: ``python cli.py fit|validate|test|predict``.

Examples::

    python cli.py fit --config configs/lenet.yaml
    python cli.py fit --config configs/lenet.yaml --trainer.max_epochs 3 --model.lr 0.5 --data.batch_size 128
    python cli.py test --ckpt_path lightning_logs/version_0/checkpoints/last.ckpt
    python cli.py predict --ckpt_path lightning_logs/version_0/checkpoints/last.ckpt
    python cli.py kfold --config configs/kaggle_house.yaml --k 5        # K-fold cross-validation

``--model`` and ``--data`` take any zoo network and data module by class name. With ``--ckpt_path``
the model and data module are rebuilt from the checkpoint's saved hyperparameters; anything given
on the command line or in a ``--config`` still wins.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI

import datamodules  # noqa: F401  (registers every data module for --data)
import zoo  # noqa: F401  (registers every network for --model)
from datamodules.download import DataError
from zoo.callbacks import EpochSummary, PredictionWriter
from zoo.checkpoint import CheckpointError, config_from_checkpoint

SUBCOMMANDS = ("fit", "validate", "test", "predict")


def _ckpt_path_in(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--ckpt_path" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--ckpt_path="):
            return arg.split("=", 1)[1]
    return None


def _reason(err: Exception) -> str:
    """The model's or data module's own message, out of jsonargparse's list of failed union subtypes."""
    reasons = [
        line.strip()[2:]
        for line in str(err).splitlines()
        if line.strip().startswith("- ") and not line.strip().startswith("- Expected a")
    ]
    return "; ".join(reasons) if reasons else str(err)


class ZooCLI(LightningCLI):
    """LightningCLI with the zoo's defaults and checkpoint-only ``test``/``predict``."""

    def parse_arguments(self, parser, args) -> None:
        argv = list(sys.argv[1:] if args is None else args)
        ckpt_path = _ckpt_path_in(argv) if argv and argv[0] in SUBCOMMANDS else None
        if ckpt_path is None or ckpt_path in ("last", "best", "hpc", "registry"):
            return super().parse_arguments(parser, args)
        try:
            defaults = config_from_checkpoint(ckpt_path)
        except CheckpointError as err:
            parser.error(str(err))
        # Checkpoint values first, so --config files and flags given by the user override them.
        self.config = parser.parse_args([argv[0], "--config", json.dumps(defaults), *argv[1:]])

    def _parse_ckpt_path(self) -> None:
        """Lightning's own version re-applies checkpoint values over the user's flags; ours is done above."""

    def instantiate_trainer(self, **kwargs):
        """Add the zoo's callbacks to any a config names: the epoch summary, the prediction writer and,
        when checkpointing is on and no config brings its own, a ModelCheckpoint keeping ``last.ckpt``."""
        trainer = self._get(self.config_init, "trainer", default={})
        own = [c for c in trainer.get("callbacks") or [] if isinstance(c, ModelCheckpoint)]
        callbacks = [EpochSummary(), PredictionWriter()]
        if trainer.get("enable_checkpointing") and not own:
            name = "epoch{epoch:03d}-step{step}"  # no metric names: a "/" in them would make folders
            callbacks.append(ModelCheckpoint(filename=name, auto_insert_metric_name=False, save_last=True))
        self.trainer_defaults["callbacks"] = callbacks
        return super().instantiate_trainer(**kwargs)

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except ValueError as err:  # a bad hyperparameter: one clear line, not a traceback
            self.parser.error(f"invalid configuration: {_reason(err)}")


def _trainer_defaults(subcommand: str | None) -> dict:
    return {
        "enable_progress_bar": sys.stdout.isatty(),
        "enable_checkpointing": subcommand == "fit",  # elsewhere it would only warn that its folder moved
        "logger": {
            "class_path": "lightning.pytorch.loggers.CSVLogger",
            "init_args": {"save_dir": ".", "name": "lightning_logs"},
        },
        "callbacks": [],  # filled by ZooCLI.instantiate_trainer
    }


def main(args: list[str] | None = None) -> ZooCLI | None:
    """Entry point of ``python cli.py`` and the ``d2l-zoo`` console script."""
    torch.set_float32_matmul_precision("high")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # lightning<->torch deprecation noise
    warnings.filterwarnings("ignore", message=".*Total length of `list` across ranks is zero.*")  # no val set
    warnings.filterwarnings("ignore", message=".*`IterableDataset` has `__len__` defined.*")  # exact, see TimeMachine
    # test/predict from a checkpoint need no ModelCheckpoint: checkpointing is off outside fit
    warnings.filterwarnings("ignore", message=".*callbacks used to create the checkpoint need to be provided.*")
    argv = sys.argv[1:] if args is None else args
    if argv and argv[0] == "kfold":  # K-fold cross-validation: one `fit` per fold (zoo/kfold.py)
        from zoo.kfold import main as kfold_main

        kfold_main(argv[1:])
        return None
    try:
        return ZooCLI(
            subclass_mode_model=True,
            subclass_mode_data=True,
            seed_everything_default=0,
            trainer_defaults=_trainer_defaults(argv[0] if argv else None),
            save_config_kwargs={"overwrite": True},
            args=args,
        )
    except DataError as err:
        if os.environ.get("D2L_ZOO_TRACEBACK"):
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
