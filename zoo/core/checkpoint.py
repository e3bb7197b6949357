"""Rebuilding a model and its data module from a checkpoint alone."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch

_INTERNAL_KEYS = ("_class_path", "_instantiator")


class CheckpointError(ValueError):
    """The checkpoint is missing, unreadable, or does not say which classes made it."""


def class_path(obj: object) -> str:
    """The public path of `obj` (a class, or an instance's class): ``zoo.LeNet`` / ``datamodules.FashionMNIST``
    where the package exports it (so checkpoints survive files moving inside the package), else its full path."""
    cls = obj if isinstance(obj, type) else type(obj)
    package = cls.__module__.split(".", 1)[0]
    try:
        if getattr(importlib.import_module(package), cls.__name__, None) is cls:
            return f"{package}.{cls.__name__}"
    except ImportError:
        pass
    return f"{cls.__module__}.{cls.__qualname__}"


def resolve_class(path: str) -> type:
    """The class at dotted `path`; a path into a package that moved falls back to ``<package>.<Name>``."""
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        package = module.split(".", 1)[0]
        try:
            return getattr(importlib.import_module(package), name)
        except (ImportError, AttributeError):
            raise CheckpointError(f"the checkpoint names the class {path}, which does not exist here") from None


def _init_args(hparams: dict) -> dict:
    return {k: v for k, v in hparams.items() if k not in _INTERNAL_KEYS}


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint at `path` (tensors on the CPU), or one CheckpointError saying what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path} is not a readable Lightning checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (it has no state_dict)")
    return ckpt


def saved_classes(ckpt: dict) -> dict[str, str]:
    """``{"model": path, "data": path}`` of the classes that wrote `ckpt` (either may be missing)."""
    saved = {k: v for k, v in (ckpt.get("zoo") or {}).items() if k in ("model", "data") and v}
    for key, hp_key in (("model", "hyper_parameters"), ("data", "datamodule_hyper_parameters")):
        if key not in saved and (cls := (ckpt.get(hp_key) or {}).get("_class_path")):
            saved[key] = cls
    return {key: class_path(resolve_class(path)) for key, path in saved.items()}


def config_from_checkpoint(path: str | Path) -> dict:
    """The ``model`` and ``data`` sections of a CLI config that rebuild what wrote checkpoint `path`.

    The classes come from the ``"zoo"`` entry every :class:`~zoo.core.base.ZooModule` writes into its
    checkpoints (or Lightning CLI's ``_class_path``); their arguments from the saved hyperparameters. A fit with
    ``--optimizer``/``--lr_scheduler`` recorded them there too: they come back as those sections.
    """
    ckpt = read_checkpoint(path)
    classes = saved_classes(ckpt)
    if "model" not in classes:
        raise CheckpointError(f"{path} does not record which model wrote it: pass --model (and --data) as well")
    config = {}
    for key, hp_key in (("model", "hyper_parameters"), ("data", "datamodule_hyper_parameters")):
        if key in classes:
            config[key] = {"class_path": classes[key], "init_args": _init_args(dict(ckpt.get(hp_key) or {}))}
    for key in ("optimizer", "lr_scheduler"):  # LightningCLI's --optimizer / --lr_scheduler, if the fit had them
        if (ckpt.get("zoo") or {}).get(key):
            config[key] = ckpt["zoo"][key]
    return config
