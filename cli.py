"""d2l-zoo's command line: ``python cli.py fit|validate|test|predict``, plus ``list``, ``kfold`` and ``trajectories``.

Examples::

    python cli.py fit --config configs/convnets/lenet.yaml
    python cli.py fit --config configs/convnets/lenet.yaml --trainer.max_epochs 3 --model.lr 0.5 --data.batch_size 128
    python cli.py test --ckpt_path lightning_logs/version_0/checkpoints/last.ckpt
    python cli.py predict --ckpt_path lightning_logs/version_0/checkpoints/last.ckpt
    python cli.py list                                                    # every network, with its book section
    python cli.py kfold --config configs/mlp/kaggle_house.yaml --k 5      # K-fold cross-validation
    python cli.py fit --config configs/optim/airfoil_adam.yaml --model.optimizer yogi-scratch  # an optimizer by name
    python cli.py fit --config configs/convnets/lenet.yaml --optimizer zoo.optim.Yogi --optimizer.lr 0.01
    python cli.py trajectories --optimizer adam-scratch                   # its path on the book's 2-D objective

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
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.cli import LightningCLI, LRSchedulerTypeTuple
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch.optim import Optimizer

import datamodules
import zoo
from datamodules.download import DataError
from zoo.core import pretrained
from zoo.core.callbacks import EpochCheckpoint, EpochSummary, ExactResume, PredictionWriter, TrainingCurves
from zoo.core.checkpoint import (
    CheckpointError,
    class_path,
    config_from_checkpoint,
    read_checkpoint,
    resolve_class,
    saved_classes,
)
from zoo.core.kfold import run_kfold
from zoo.core.links import DATA_ARGS
from zoo.core.loggers import RunLogger
from zoo.core.optimizers import check_hyperparameters, instantiate
from zoo.core.pretrained import PretrainedError, config_from_weights
from zoo.optim.trajectories import run_trajectories

SUBCOMMANDS = ("fit", "validate", "test", "predict")
EXTRA_COMMANDS = {
    "list": "print every network with its book sections, registry name, class and size (--markdown: as a table)",
    "kfold": "K-fold cross-validation: one fit per fold, then the mean figures (cli.py kfold --help)",
    "publish": "turn a trained checkpoint into a verified weights file and its model card (cli.py publish --help)",
    "plot": "draw the training curves of one or several runs: cli.py plot RUN_DIR [RUN_DIR ...] [--out FILE]",
    "export": "a checkpoint or pretrained network as TorchScript or ONNX, checked against the model (--help)",
    "trajectories": "draw optimizers' paths on the book's 2-D objectives as contour plots (cli.py trajectories --help)",
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
    if kind == "model":  # the registered networks, not the bases they stand on
        known = sorted({entry.cls.__name__ for entry in zoo.core.registry.model_entries()})
    else:
        classes = [getattr(package, n) for n in package.__all__]
        bases = (datamodules.DataModule, datamodules.FileDataModule)
        known = sorted(c.__name__ for c in classes if inspect.isclass(c) and issubclass(c, base) and c not in bases)
    close = difflib.get_close_matches(value.rpartition(".")[2], known, n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    more = " (python cli.py list shows the networks with their book sections)" if kind == "model" else ""
    raise UsageError(f"unknown {kind} {value!r}.{hint} Known: {', '.join(known)}{more}")


def _optimizer_classes(base: type | tuple[type, ...]) -> list[str]:
    """The optimizer (or schedule) classes of torch and of the zoo's optimization chapter, by dotted path."""
    found = []
    for module in (torch.optim, torch.optim.lr_scheduler, zoo.optim):
        for name in getattr(module, "__all__", dir(module)):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and issubclass(obj, base) and obj not in (Optimizer, *LRSchedulerTypeTuple):
                found.append(f"{module.__name__}.{name}")
    return sorted(set(found))


def _check_optimizer_class(value: str, flag: str, base: type | tuple[type, ...]) -> None:
    """An unknown ``--optimizer``/``--lr_scheduler`` class is one error naming the known ones."""
    if value.lstrip().startswith("{"):
        return
    known = _optimizer_classes(base)
    names = {path.rpartition(".")[2] for path in known} | {cls.__name__ for b in base for cls in _subclasses(b)}
    module, _, name = value.rpartition(".")
    if value in names or value in known:
        return
    if module:
        try:
            if inspect.isclass(getattr(__import__(module, fromlist=[name]), name)):
                return
        except (ImportError, AttributeError):
            pass
    close = difflib.get_close_matches(name, sorted(names), n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    by_name = "--model.optimizer NAME" if flag == "--optimizer" else "--model.lr_scheduler NAME"
    raise UsageError(f"unknown {flag} class {value!r}.{hint} Known: {', '.join(known)} (or by name: {by_name})")


def _check_names(argv: list[str]) -> None:
    """``--model``/``--data``/``--optimizer``/``--lr_scheduler`` values and the class paths in ``--config`` files
    must name existing classes."""
    kinds = (("model", L.LightningModule, zoo), ("data", L.LightningDataModule, datamodules))
    for kind, base, package in kinds:
        for value in _flag_values(argv, f"--{kind}"):
            _check_class_name(value, kind, base, package)
    for flag, base in (("--optimizer", (Optimizer,)), ("--lr_scheduler", LRSchedulerTypeTuple)):
        for value in _flag_values(argv, flag):
            _check_optimizer_class(value, flag, base)
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


def _advise_threads() -> None:
    """On a CPU already busy with other work, torch's one thread per core compete with it: say so, once."""
    cores, threads = os.cpu_count() or 1, torch.get_num_threads()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this platform
        return
    if threads > 1 and load > cores - 0.5:
        print(
            f"note: this CPU is busy (load average {load:.1f} on {cores} cores) and torch uses {threads} threads: "
            "--threads 1 (or OMP_NUM_THREADS=1) is often several times faster on a shared machine",
            flush=True,
        )


def _ckpt_path(argv: list[str]) -> str | None:
    values = _flag_values(argv, "--ckpt_path") if argv and argv[0] in SUBCOMMANDS else []
    return values[-1] if values else None


def _run_dir(ckpt_path: str) -> Path | None:
    """``lightning_logs/version_N`` for a checkpoint kept in its run's ``checkpoints/`` folder."""
    path = Path(ckpt_path)
    return path.parent.parent if path.parent.name == "checkpoints" else None


class ZooCLI(LightningCLI):
    """LightningCLI with the zoo's defaults, data-to-model links and checkpoint-only ``test``/``predict``.

    ``--optimizer CLASS`` and ``--lr_scheduler CLASS`` are LightningCLI's own arguments, but the optimizer is built
    by the model (:meth:`zoo.core.base.ZooModule.use_cli_optimizers`) when training starts, over its parameter
    groups, rather than by LightningCLI from ``model.parameters()`` at instantiation: layers built from the data
    after ``setup`` and parameter groups with their own options then train with it too.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, auto_configure_optimizers=False, **kwargs)  # the arguments are added below

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument(
            "--pretrained",
            type=str | None,
            default=None,
            help="Start from a pretrained network: a published name (see python cli.py list --pretrained), a weights "
            "file or a URL; its data module is the default data. E.g. predict --pretrained lenet-fashion-mnist",
        )
        parser.add_argument(
            "--threads",
            type=int | None,
            default=None,
            help="CPU threads for torch's kernels (torch.set_num_threads); default: torch's, one per core. On a busy "
            "or shared CPU, 1 is often several times faster (as OMP_NUM_THREADS=1 is)",
        )
        parser.add_argument(
            "--checkpoint_every",
            type=int,
            default=1,
            help="Save the default checkpoint (and last.ckpt) every N epochs, and always at the end of training; "
            "the recipes of hundreds of tiny epochs set 10",
        )
        parser.add_optimizer_args((Optimizer,))  # --optimizer CLASS --optimizer.lr ..., as LightningCLI's
        parser.add_lr_scheduler_args(LRSchedulerTypeTuple)
        for arg in LINKED:
            target = f"model.init_args.{arg.model_arg}"
            parser.link_arguments(f"data.{arg.data_attr}", target, compute_fn=arg.convert, apply_on="instantiate")
        # Lightning's convention: logs (and so checkpoints) go under --trainer.default_root_dir, else here.
        parser.link_arguments("trainer.default_root_dir", "trainer.logger.init_args.save_dir", compute_fn=_or_here)

    def parse_arguments(self, parser, args) -> None:
        """With ``--ckpt_path``, the checkpoint's classes and hyperparameters (for ``fit``: the run's own
        ``config.yaml``, when the checkpoint lies in its run folder) are the defaults, and the user's ``--config``
        files and flags override them. ``fit --ckpt_path last`` resumes the newest run under the root folder."""
        given = list(sys.argv[1:] if args is None else args)
        argv = self.argv = _gather_lists(given)  # --data.sentences "go ." "i lost ." -> one JSON list
        self.resume_run: Path | None = None
        self.pretrained_weights: dict | None = None
        if pretrained := _flag_values(argv, "--pretrained"):
            try:
                defaults, self.pretrained_weights = config_from_weights(pretrained[-1])
            except (PretrainedError, CheckpointError) as err:
                raise UsageError(str(err)) from None
            self.config = parser.parse_args([argv[0], "--config", json.dumps(defaults), *argv[1:]])
            return
        ckpt_path = _ckpt_path(argv)
        if ckpt_path is None or ckpt_path in ("best", "hpc", "registry") or (ckpt_path == "last" and argv[0] != "fit"):
            if argv != given:
                self.config = parser.parse_args(argv)
                return None
            return super().parse_arguments(parser, args)
        if ckpt_path == "last":
            ckpt_path = _last_checkpoint(_default_root_dir(argv))
            argv = [*argv, "--ckpt_path", ckpt_path]
        run_config = (_run_dir(ckpt_path) or Path("-")) / "config.yaml"
        if argv[0] == "fit" and run_config.is_file() and Path(ckpt_path).is_file():
            self.resume_run = run_config.parent
            defaults = str(run_config)
            print(f"resuming {self.resume_run} from {ckpt_path}", flush=True)
        else:
            try:
                defaults = json.dumps(config_from_checkpoint(ckpt_path))
            except CheckpointError as err:
                raise UsageError(str(err)) from None
        # Checkpoint values first, so --config files and flags given by the user override them.
        self.config = parser.parse_args([argv[0], "--config", defaults, *argv[1:]])

    def _parse_ckpt_path(self) -> None:
        """Replaces LightningCLI._parse_ckpt_path, which re-applies the checkpoint's hyperparameters over the
        user's flags; ours are applied first, in parse_arguments (tests/test_cli.py checks both still hold)."""

    def instantiate_classes(self) -> None:
        if self._config().get("checkpoint_every", 1) < 1:
            raise UsageError(f"--checkpoint_every must be a positive integer, got {self._config()['checkpoint_every']}")
        threads = self._config().get("threads")
        if threads is not None:
            if threads < 1:
                raise UsageError(f"--threads must be a positive integer, got {threads}")
            torch.set_num_threads(threads)
        try:
            super().instantiate_classes()
        except ValueError as err:  # a bad hyperparameter: one clear line, not a traceback
            raise UsageError(f"invalid configuration: {_reason(err)}") from None
        self._check_linked_flags()
        self._check_checkpoint_class()
        if self.pretrained_weights is not None:
            try:
                self.model.load_state_dict(self.pretrained_weights)
            except RuntimeError as err:
                raise UsageError(f"the pretrained weights do not fit this model: {str(err).splitlines()[0]}") from None
        self._hand_cli_optimizers_to_model()
        if threads is None and self.trainer.strategy.root_device.type == "cpu" and self.trainer.is_global_zero:
            _advise_threads()

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

    def _cli_optimizers(self) -> dict[str, dict]:
        """``--optimizer`` / ``--lr_scheduler`` as ``{"class_path": ..., "init_args": {...}}``, those given."""
        config = self._config(instantiated=True)
        found = {}
        for key in ("optimizer", "lr_scheduler"):
            value = config.get(key)
            if value:
                found[key] = value.as_dict() if hasattr(value, "as_dict") else dict(value)
        return found

    def _hand_cli_optimizers_to_model(self) -> None:
        """Check ``--optimizer``/``--lr_scheduler`` now (one clear error), and have the model build them."""
        given = self._cli_optimizers()
        if not given:
            return
        if not isinstance(self.model, zoo.ZooModule):
            raise UsageError(f"--optimizer and --lr_scheduler need a zoo network, not a {type(self.model).__name__}")
        if "lr_scheduler" in given and self.model.hparams.get("lr_scheduler"):
            raise UsageError(
                f"two schedules: --lr_scheduler {given['lr_scheduler']['class_path']} and the model's lr_scheduler "
                f"{self.model.hparams.lr_scheduler!r}; give one (--model.lr_scheduler null drops the model's)"
            )
        try:  # build them once on a dummy parameter, so a bad value fails here and not when training starts
            if "optimizer" in given:
                check_hyperparameters("--optimizer", **given["optimizer"].get("init_args") or {})
                optimizer = instantiate([torch.nn.Parameter(torch.zeros(1))], given["optimizer"])
            else:
                optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
            if "lr_scheduler" in given:
                check_hyperparameters("--lr_scheduler", **given["lr_scheduler"].get("init_args") or {})
                instantiate(optimizer, given["lr_scheduler"])
        except (TypeError, ValueError) as err:
            raise UsageError(f"invalid configuration: {err}") from None
        self.model.use_cli_optimizers(given.get("optimizer"), given.get("lr_scheduler"))

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
        callbacks = [EpochSummary(), PredictionWriter(), ExactResume(), TrainingCurves()]
        if trainer.get("enable_checkpointing") and not own and not trainer.get("fast_dev_run"):
            name = "epoch{epoch:03d}-step{step}"  # no metric names: a "/" in them would make folders
            # last.ckpt links to the epoch's checkpoint (one write per epoch, not two) where the folder is local
            root = str(trainer.get("default_root_dir") or "")
            last = "link" if "://" not in root or root.startswith("file://") else True
            every = self._config().get("checkpoint_every", 1)
            callbacks.append(
                EpochCheckpoint(filename=name, auto_insert_metric_name=False, save_last=last, every_n_epochs=every)
            )
        scheduled = "lr_scheduler" in self._cli_optimizers() or getattr(self.model, "hparams", {}).get("lr_scheduler")
        monitors = [c for c in trainer.get("callbacks") or [] if isinstance(c, LearningRateMonitor)]
        if self.subcommand == "fit" and scheduled and trainer.get("logger") and not monitors:
            callbacks.append(LearningRateMonitor(logging_interval="epoch"))  # lr-<Optimizer> per epoch
        self.trainer_defaults["callbacks"] = callbacks
        ckpt_path = self._config().get("ckpt_path")
        logger = trainer.get("logger")
        if self.subcommand != "fit" and ckpt_path and (run := _run_dir(ckpt_path)) and _is_default_logger(logger):
            kwargs["logger"] = CSVLogger(save_dir=run, name="", version=self.subcommand)
        elif self.resume_run is not None and _is_default_logger(logger):  # continue the run in its own folder
            run = self.resume_run
            kwargs["logger"] = RunLogger(save_dir=run.parent.parent, name=run.parent.name, version=run.name)
        try:
            return super().instantiate_trainer(**kwargs)
        except MisconfigurationException as err:  # e.g. --trainer.accelerator gpu on a machine without one
            raise UsageError(f"{err} (check --trainer.accelerator / --trainer.devices)") from None


def _or_here(root: str | None) -> str:
    return root or "."


def _default_root_dir(argv: list[str]) -> Path:
    """``--trainer.default_root_dir`` as given by a flag or a ``--config`` file; else the working directory."""
    roots = _flag_values(argv, "--trainer.default_root_dir")
    for path in _flag_values(argv, "--config"):
        if Path(path).is_file():
            trainer = (yaml.safe_load(Path(path).read_text()) or {}).get("trainer") or {}
            if isinstance(trainer, dict) and trainer.get("default_root_dir"):
                roots.insert(0, trainer["default_root_dir"])  # flags, later in the list, win
    return Path(roots[-1] if roots else ".")


def _last_checkpoint(root: Path) -> str:
    """The ``last.ckpt`` of the newest run (highest version) under `root`, or one clear error."""
    runs = sorted(root.glob("lightning_logs/version_*/checkpoints/last.ckpt"), key=lambda p: _version(p.parents[1]))
    if not runs:
        raise UsageError(
            f"--ckpt_path last: no run under {root.resolve()} has a checkpoint "
            "(looked for lightning_logs/version_*/checkpoints/last.ckpt; set --trainer.default_root_dir to the "
            "folder the run wrote to, or give the checkpoint's path)"
        )
    return str(runs[-1])


def _version(run: Path) -> int:
    number = run.name.removeprefix("version_")
    return int(number) if number.isdigit() else -1


def _is_default_logger(logger) -> bool:
    return isinstance(logger, CSVLogger) and logger.name == "lightning_logs"


def _trainer_defaults(subcommand: str | None) -> dict:
    return {
        "enable_progress_bar": sys.stdout.isatty(),
        "enable_checkpointing": subcommand == "fit",  # elsewhere it would only warn that its folder moved
        "logger": {"class_path": "zoo.core.loggers.RunLogger", "init_args": {"name": "lightning_logs"}},
        "callbacks": [],  # filled by ZooCLI.instantiate_trainer
    }


def _allow_tf32_on_cuda() -> None:
    """TensorFloat-32 products on CUDA's tensor cores, as Lightning advises there; only where CUDA is, since from
    torch 2.9 on the same switch also lets oneDNN take float32 CPU products in TF32 on CPUs that have it (AMX-FP16):
    CPU runs keep full float32, the book's arithmetic."""
    if torch.cuda.is_available():
        torch.set_float32_matmul_precision("high")


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


def _publish(argv: list[str]) -> None:
    """``cli.py publish``: a checkpoint's weights as ``NAME-<sha256>.pt`` plus its model card (``NAME.md``).

    The card records what the run measured: the fit's last logged epoch (from the run's ``metrics.csv``), a
    ``test`` of the checkpoint on its data module's test set, and for a language model its greedy generation.
    Published into the package folder, the weights join ``zoo.list_pretrained()``.
    """
    import argparse
    import datetime
    import platform

    from zoo.core.registry import model_entries, parameter_count

    parser = argparse.ArgumentParser(prog="cli.py publish", description=(_publish.__doc__ or "").split("\n\n")[0])
    parser.add_argument("--ckpt_path", required=True, help="the trained checkpoint")
    parser.add_argument("--name", required=True, help="the published name, e.g. lenet-fashion-mnist")
    parser.add_argument("--out", default=str(pretrained.PACKAGED), help="where to write (default: the package)")
    parser.add_argument("--command", help="how the checkpoint was trained (default: the run's config.yaml)")
    parser.add_argument("--hardware", default=platform.processor() or platform.machine(), help="where it trained")
    parser.add_argument("--book", help="the book's figure for the same recipe, for the card")
    parser.add_argument("--no-test", action="store_true", help="do not test the checkpoint (no data at hand)")
    args = parser.parse_args(argv)
    ckpt = read_checkpoint(args.ckpt_path)
    cls = saved_classes(ckpt).get("model", "")
    hparams = ckpt.get("hyper_parameters") or {}
    metrics: dict[str, str] = {}
    run_dir = _run_dir(args.ckpt_path)
    if run_dir is not None and (run_dir / "metrics.csv").is_file():
        import csv

        rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
        for key in rows[0] if rows else []:
            last = [row[key] for row in rows if row[key] not in ("", None)]
            if last and key not in ("epoch", "step"):
                metrics[f"fit {key} (last epoch)"] = f"{float(last[-1]):.4f}"
    if not args.no_test:
        tested = run(["test", "--ckpt_path", args.ckpt_path])
        metrics.update({k: f"{float(v):.4f}" for k, v in tested.trainer.callback_metrics.items() if v.numel() == 1})
        if isinstance(tested.model, zoo.LanguageModel):
            metrics["generated (greedy)"] = repr(tested.model.generate())
    entries = [e for e in model_entries() if f"zoo.{e.cls.__name__}" == cls]
    entries = [e for e in entries if all(hparams.get(k) == v for k, v in e.kwargs.items())] or entries
    entry = max(entries, key=lambda e: len(e.kwargs), default=None)
    data = saved_classes(ckpt).get("data")
    data_cls = resolve_class(data) if data else None
    hashes = ", ".join(f.known_hash for f in data_cls.remote_files()) if hasattr(data_cls, "remote_files") else ""
    metadata = {
        "network": entry.network if entry else cls,
        "book": "; ".join((*entry.book.v1, *entry.book.course)) if entry else "",
        "parameters": f"{parameter_count(entry.name):,}" if entry and not entry.kwargs.keys() - hparams.keys() else "",
        "command": (args.command or (f"python cli.py fit --config {run_dir}/config.yaml" if run_dir else "")).strip(),
        "hardware": args.hardware,
        "date": datetime.date.today().isoformat(),
        "metrics": metrics,
        "data_hashes": hashes,
        "book_figure": args.book or "",
    }
    path = pretrained.publish(args.ckpt_path, args.name, args.out, metadata)
    card = path.parent / f"{args.name}.md"
    card.write_text(pretrained.model_card(path))
    if Path(args.out).resolve() == pretrained.PACKAGED:
        pretrained.write_index_entry(path)
    print(f"wrote {path}\nwrote {card}")


def _plot(argv: list[str]) -> None:
    """``cli.py plot RUN_DIR [RUN_DIR ...] [--out FILE]``: the runs' training curves on one figure."""
    import argparse

    from zoo.core.plotting import plot_runs

    parser = argparse.ArgumentParser(prog="cli.py plot", description=(_plot.__doc__ or "").strip())
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (lightning_logs/version_N)")
    parser.add_argument("--out", type=Path, help="the PNG to write (default: curves.png in the run, or here)")
    args = parser.parse_args(argv)
    out = args.out or (args.runs[0] / "curves.png" if len(args.runs) == 1 else Path("curves.png"))
    try:
        print(f"wrote {plot_runs(args.runs, out)}")
    except FileNotFoundError as err:
        raise UsageError(str(err)) from None


def _export(argv: list[str]) -> None:
    """``cli.py export (--ckpt_path CKPT | --pretrained NAME) --format torchscript|onnx [--out FILE]``."""
    import argparse

    from zoo.core.export import FORMATS, export

    parser = argparse.ArgumentParser(prog="cli.py export", description=(_export.__doc__ or "").strip())
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt_path", help="a trained checkpoint")
    source.add_argument("--pretrained", help="a published pretrained network, a weights file or a URL")
    parser.add_argument("--format", choices=FORMATS, default="torchscript")
    parser.add_argument("--out", type=Path, help="the file to write (default: next to the checkpoint, or here)")
    args = parser.parse_args(argv)
    if args.ckpt_path:
        ckpt = read_checkpoint(args.ckpt_path)
        model = resolve_class(saved_classes(ckpt)["model"]).load_from_checkpoint(args.ckpt_path, map_location="cpu")
        stem = Path(args.ckpt_path).with_suffix("")
    else:
        model, stem = pretrained.load_pretrained(args.pretrained), Path(str(args.pretrained)).name.removesuffix(".pt")
    suffix = ".pt" if args.format == "torchscript" else ".onnx"
    out = args.out or Path(f"{stem}-{args.format}{suffix}")
    path, error = export(model.eval(), out, args.format)
    print(f"wrote {path} (largest difference from the model on a random input: {error:.2e})")


def _list(argv: list[str]) -> None:
    if set(argv) - {"--markdown", "--pretrained"}:
        raise UsageError("usage: cli.py list [--markdown] [--pretrained]")
    if "--pretrained" in argv:
        print(pretrained.pretrained_table(markdown="--markdown" in argv))
    else:
        print(zoo.models_table(markdown="--markdown" in argv))


def run(args: list[str] | None = None) -> ZooCLI | None:
    """Run the command line with `args` (default ``sys.argv[1:]``); return the CLI object of a subcommand.

    A mistake in the request (a missing or corrupt data file or checkpoint, a bad hyperparameter, an unknown
    network, a device that is not there) ends with one ``error:`` line and exit status 2;
    ``D2L_ZOO_TRACEBACK=1`` shows the traceback instead.
    """
    _allow_tf32_on_cuda()
    _quiet_known_warnings()
    argv = list(sys.argv[1:] if args is None else args)
    try:
        if argv and argv[0] == "list":
            _list(argv[1:])
            return None
        if argv and argv[0] == "kfold":
            run_kfold(_fit_metrics, argv[1:])
            return None
        if argv and argv[0] == "publish":
            _publish(argv[1:])
            return None
        if argv and argv[0] == "plot":
            _plot(argv[1:])
            return None
        if argv and argv[0] == "export":
            _export(argv[1:])
            return None
        if argv and argv[0] == "trajectories":
            try:
                run_trajectories(argv[1:])
            except ValueError as err:  # an unknown optimizer, a bad hyperparameter
                raise UsageError(str(err)) from None
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
    except SIGTERMException:  # Lightning stops at the next step and raises SystemExit(None): exit status 0
        print(
            "error: interrupted by SIGTERM; the last complete epoch's checkpoint is in the run's checkpoints/ "
            "folder: resume with `python cli.py fit --ckpt_path last` (add --trainer.default_root_dir if you set one)",
            file=sys.stderr,
        )
        sys.exit(128 + 15)
    except (UsageError, DataError, CheckpointError, PretrainedError, RuntimeError) as err:
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
