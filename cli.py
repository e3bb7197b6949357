"""d2l-zoo's command line: ``python cli.py fit|validate|test|predict``, plus ``list`` and ``kfold``.

Examples::

    python cli.py fit --config configs/convnets/lenet.yaml
    python cli.py fit --config configs/convnets/lenet.yaml --trainer.max_epochs 3 --model.lr 0.5 --data.batch_size 128
    python cli.py test --ckpt_path lightning_logs/version_0/checkpoints/last.ckpt
    python cli.py predict --ckpt_path lightning_logs/version_0/checkpoints/last.ckpt
    python cli.py list                                                    # every network, with its book section
    python cli.py kfold --config configs/mlp/kaggle_house.yaml --k 5      # K-fold cross-validation

``--model`` and ``--data`` take any zoo network and data module by class name. What the data module
knows (classes, input channels and features, the vocabulary) is linked to the model's arguments
(``zoo/core/links.py``), so it is given once, on the data. With ``--ckpt_path`` the model and data module
are rebuilt from the checkpoint's saved hyperparameters; anything given on the command line or in a
``--config`` still wins.
"""

from __future__ import annotations

import difflib
import inspect
import json
import os
import sys
import warnings
from pathlib import Path

import lightning as L
import torch
import yaml
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger

import datamodules
import zoo
from datamodules.download import DataError
from zoo.core.callbacks import EpochSummary, PredictionWriter
from zoo.core.checkpoint import CheckpointError, class_path, config_from_checkpoint, read_checkpoint, saved_classes
from zoo.core.kfold import run_kfold
from zoo.core.links import DATA_ARGS

SUBCOMMANDS = ("fit", "validate", "test", "predict")
EXTRA_COMMANDS = {
    "list": "print every network with its book sections, registry name, class and size (--markdown: as a table)",
    "kfold": "K-fold cross-validation: one fit per fold, then the mean figures (cli.py kfold --help)",
}
DESCRIPTION = (
    "The networks of Dive into Deep Learning on PyTorch Lightning. Besides the subcommands below: "
    + "; ".join(f"'{name}': {text}" for name, text in EXTRA_COMMANDS.items())
)
LINKED = tuple(arg for arg in DATA_ARGS if arg.strict)  # linked on the command line (see zoo/core/links.py)


class UsageError(Exception):
    """A mistake in what the user asked for; ``run`` prints it as one ``error:`` line."""


def _flag_values(argv: list[str], flag: str) -> list[str]:
    """Every value given as ``flag VALUE`` or ``flag=VALUE``."""
    values = []
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            values.append(argv[i + 1])
        elif arg.startswith(flag + "="):
            values.append(arg.split("=", 1)[1])
    return values


def _reason(err: Exception) -> str:
    """The model's or data module's own message, out of jsonargparse's list of failed union subtypes."""
    reasons = [
        line.strip()[2:]
        for line in str(err).splitlines()
        if line.strip().startswith("- ") and not line.strip().startswith("- Expected a")
    ]
    return "; ".join(reasons) if reasons else str(err)


def _subclasses(base: type) -> set[type]:
    found, todo = set(), [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def _check_class_name(value: str, kind: str, base: type, package) -> None:
    """An unknown ``--model``/``--data`` (or config ``class_path``) is one error naming the known ones."""
    if value.lstrip().startswith("{"):  # a JSON config of the class: jsonargparse checks it
        return
    names = {cls.__name__ for cls in _subclasses(base)}
    if value in names:
        return
    module, _, name = value.rpartition(".")
    if module:
        try:
            if inspect.isclass(getattr(__import__(module, fromlist=[name]), name)):
                return
        except (ImportError, AttributeError):
            pass
    known = sorted(
        n for n in package.__all__ if inspect.isclass(getattr(package, n)) and issubclass(getattr(package, n), base)
    )
    close = difflib.get_close_matches(value.rpartition(".")[2], known, n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    more = " (python cli.py list shows the networks with their book sections)" if kind == "model" else ""
    raise UsageError(f"unknown {kind} {value!r}.{hint} Known: {', '.join(known)}{more}")


def _check_names(argv: list[str]) -> None:
    """``--model``/``--data`` values and the class paths in ``--config`` files must name existing classes."""
    kinds = (("model", L.LightningModule, zoo), ("data", L.LightningDataModule, datamodules))
    for kind, base, package in kinds:
        for value in _flag_values(argv, f"--{kind}"):
            _check_class_name(value, kind, base, package)
    for path in _flag_values(argv, "--config"):
        if not Path(path).is_file():
            continue  # jsonargparse reports it (or it is an inline config)
        config = yaml.safe_load(Path(path).read_text()) or {}
        for kind, base, package in kinds:
            section = config.get(kind)
            if isinstance(section, dict) and isinstance(section.get("class_path"), str):
                _check_class_name(section["class_path"], kind, base, package)


LIST_FLAGS = ("--data.sentences", "--data.references")  # take several values: --data.sentences "go ." "hi ."


def _gather_lists(argv: list[str]) -> list[str]:
    """``--data.sentences "go ." "i lost ."`` (every value up to the next flag) -> one JSON list, the form
    jsonargparse takes; a value that is already a JSON list stays as it is."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        flag, eq, value = arg.partition("=")
        if flag not in LIST_FLAGS:
            out.append(arg)
            i += 1
            continue
        values = [value] if eq else []
        i += 1
        while not eq and i < len(argv) and not argv[i].startswith("--"):
            values.append(argv[i])
            i += 1
        if len(values) == 1 and values[0].lstrip().startswith("["):
            out += [flag, values[0]]
        else:
            out += [flag, json.dumps(values)]
    return out


def _ckpt_path(argv: list[str]) -> str | None:
    values = _flag_values(argv, "--ckpt_path") if argv and argv[0] in SUBCOMMANDS else []
    return values[-1] if values else None


def _run_dir(ckpt_path: str) -> Path | None:
    """``lightning_logs/version_N`` for a checkpoint kept in its run's ``checkpoints/`` folder."""
    path = Path(ckpt_path)
    return path.parent.parent if path.parent.name == "checkpoints" else None


class ZooCLI(LightningCLI):
    """LightningCLI with the zoo's defaults, data-to-model links and checkpoint-only ``test``/``predict``."""

    def add_arguments_to_parser(self, parser) -> None:
        for arg in LINKED:
            target = f"model.init_args.{arg.model_arg}"
            parser.link_arguments(f"data.{arg.data_attr}", target, compute_fn=arg.convert, apply_on="instantiate")
        # Lightning's convention: logs (and so checkpoints) go under --trainer.default_root_dir, else here.
        parser.link_arguments("trainer.default_root_dir", "trainer.logger.init_args.save_dir", compute_fn=_or_here)

    def parse_arguments(self, parser, args) -> None:
        given = list(sys.argv[1:] if args is None else args)
        argv = self.argv = _gather_lists(given)
        ckpt_path = _ckpt_path(argv)
        if ckpt_path is None or ckpt_path in ("last", "best", "hpc", "registry"):
            if argv != given:
                self.config = parser.parse_args(argv)
                return None
            return super().parse_arguments(parser, args)
        try:
            defaults = config_from_checkpoint(ckpt_path)
        except CheckpointError as err:
            raise UsageError(str(err)) from None
        # Checkpoint values first, so --config files and flags given by the user override them.
        self.config = parser.parse_args([argv[0], "--config", json.dumps(defaults), *argv[1:]])

    def _parse_ckpt_path(self) -> None:
        """Replaces LightningCLI._parse_ckpt_path, which re-applies the checkpoint's hyperparameters over the
        user's flags; ours are applied first, in parse_arguments (tests/test_cli.py checks both still hold)."""

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except ValueError as err:  # a bad hyperparameter: one clear line, not a traceback
            raise UsageError(f"invalid configuration: {_reason(err)}") from None
        self._check_linked_flags()
        self._check_checkpoint_class()

    def _config(self, instantiated: bool = False) -> dict:
        """This subcommand's configuration, as parsed or (`instantiated`) with its classes built."""
        config = self.config_init if instantiated else self.config
        return config[self.subcommand] if self.subcommand else config

    def _check_linked_flags(self) -> None:
        """A ``--model.num_classes`` (say) that the data module contradicts: an error, not a silent override."""
        init_args = self._config()["model"].get("init_args") or {}
        for arg in LINKED:
            flags = (f"--model.{arg.model_arg}", f"--model.init_args.{arg.model_arg}")
            if not any(a.split("=", 1)[0] in flags for a in self.argv):
                continue
            given, used = init_args.get(arg.model_arg), self.model.hparams.get(arg.model_arg)
            if given != used:
                raise UsageError(
                    f"--model.{arg.model_arg} {given} contradicts the data: {type(self.datamodule).__name__} has "
                    f"{arg.data_attr} {used}, and the model takes it from there; drop the flag"
                )

    def _check_checkpoint_class(self) -> None:
        ckpt_path = self._config().get("ckpt_path")
        if not ckpt_path or not Path(ckpt_path).is_file():
            return
        saved = saved_classes(read_checkpoint(ckpt_path)).get("model")
        if saved and saved != class_path(self.model):
            raise UsageError(
                f"{ckpt_path} holds a {saved}, not a {class_path(self.model)}: drop --model (and any config that "
                f"names another network) to rebuild the checkpoint's own, or pass a checkpoint of this network"
            )

    def instantiate_trainer(self, **kwargs) -> L.Trainer:
        """Add the zoo's callbacks to any a config names: the epoch summary, the prediction writer and, when
        checkpointing is on and no config brings its own, a ModelCheckpoint keeping ``last.ckpt``. Evaluating a
        checkpoint of a run (``<run>/checkpoints/X.ckpt``) logs into ``<run>/<subcommand>/``, not a new run."""
        trainer = self._config(instantiated=True)["trainer"]
        own = [c for c in trainer.get("callbacks") or [] if isinstance(c, ModelCheckpoint)]
        callbacks = [EpochSummary(), PredictionWriter()]
        if trainer.get("enable_checkpointing") and not own and not trainer.get("fast_dev_run"):
            name = "epoch{epoch:03d}-step{step}"  # no metric names: a "/" in them would make folders
            callbacks.append(ModelCheckpoint(filename=name, auto_insert_metric_name=False, save_last=True))
        self.trainer_defaults["callbacks"] = callbacks
        ckpt_path = self._config().get("ckpt_path")
        logger = trainer.get("logger")
        if self.subcommand != "fit" and ckpt_path and (run := _run_dir(ckpt_path)) and _is_default_logger(logger):
            kwargs["logger"] = CSVLogger(save_dir=run, name="", version=self.subcommand)
        try:
            return super().instantiate_trainer(**kwargs)
        except MisconfigurationException as err:  # e.g. --trainer.accelerator gpu on a machine without one
            raise UsageError(f"{err} (check --trainer.accelerator / --trainer.devices)") from None


def _or_here(root: str | None) -> str:
    return root or "."


def _is_default_logger(logger) -> bool:
    return isinstance(logger, CSVLogger) and logger.name == "lightning_logs"


def _trainer_defaults(subcommand: str | None) -> dict:
    return {
        "enable_progress_bar": sys.stdout.isatty(),
        "enable_checkpointing": subcommand == "fit",  # elsewhere it would only warn that its folder moved
        "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"name": "lightning_logs"}},
        "callbacks": [],  # filled by ZooCLI.instantiate_trainer
    }


def _quiet_known_warnings() -> None:
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # lightning<->torch deprecation noise
    warnings.filterwarnings("ignore", message=".*Total length of `list` across ranks is zero.*")  # no val set
    warnings.filterwarnings("ignore", message=".*`IterableDataset` has `__len__` defined.*")  # exact, see TimeMachine
    # test/predict from a checkpoint need no ModelCheckpoint: checkpointing is off outside fit
    warnings.filterwarnings("ignore", message=".*callbacks used to create the checkpoint need to be provided.*")


def _fit_metrics(argv: list[str]) -> dict[str, float]:
    """One ``fit`` with `argv`; its final logged metrics (what ``kfold`` averages)."""
    cli = run(["fit", *argv])
    return {name: float(value) for name, value in cli.trainer.callback_metrics.items() if value.numel() == 1}


def _list(argv: list[str]) -> None:
    if set(argv) - {"--markdown"}:
        raise UsageError("usage: cli.py list [--markdown]")
    print(zoo.models_table(markdown="--markdown" in argv))


def run(args: list[str] | None = None) -> ZooCLI | None:
    """Run the command line with `args` (default ``sys.argv[1:]``); return the CLI object of a subcommand.

    A mistake in the request (a missing or corrupt data file or checkpoint, a bad hyperparameter, an unknown
    network, a device that is not there) ends with one ``error:`` line and exit status 2;
    ``D2L_ZOO_TRACEBACK=1`` shows the traceback instead.
    """
    torch.set_float32_matmul_precision("high")
    _quiet_known_warnings()
    argv = list(sys.argv[1:] if args is None else args)
    try:
        if argv and argv[0] == "list":
            _list(argv[1:])
            return None
        if argv and argv[0] == "kfold":
            run_kfold(_fit_metrics, argv[1:])
            return None
        _check_names(argv)
        return ZooCLI(
            subclass_mode_model=True,
            subclass_mode_data=True,
            seed_everything_default=0,
            trainer_defaults=_trainer_defaults(argv[0] if argv else None),
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"description": DESCRIPTION},
            args=args,  # None: LightningCLI reads sys.argv itself
        )
    except (UsageError, DataError, CheckpointError, RuntimeError) as err:
        weights_do_not_fit = type(err) is RuntimeError and "Error(s) in loading state_dict" in str(err)
        if (type(err) is RuntimeError and not weights_do_not_fit) or os.environ.get("D2L_ZOO_TRACEBACK"):
            raise
        message = str(err)
        if weights_do_not_fit:  # a checkpoint loaded into a model that flags built differently
            message = "the checkpoint's weights do not fit this model: " + message.splitlines()[0]
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def main(args: list[str] | None = None) -> int:
    """The ``d2l-zoo`` console script and ``python cli.py``: exit status 0 on success."""
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
