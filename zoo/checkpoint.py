"""Rebuilding a model and its data module from a checkpoint alone."""

from __future__ import annotations

from pathlib import Path

import torch

_INTERNAL_KEYS = ("_class_path", "_instantiator")


class CheckpointError(ValueError):
    """The checkpoint is missing, unreadable, or does not say which classes made it."""


def class_path(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _init_args(hparams: dict) -> dict:
    return {k: v for k, v in hparams.items() if k not in _INTERNAL_KEYS}


def config_from_checkpoint(path: str | Path) -> dict:
    """The ``model`` and ``data`` sections of a CLI config that rebuild what wrote checkpoint `path`.

    The classes come from the ``"zoo"`` entry every :class:`~zoo.base.ZooModule` writes into its
    checkpoints (or Lightning CLI's ``_class_path``); their arguments from the saved hyperparameters.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path} is not a readable Lightning checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (it has no state_dict)")
    saved = ckpt.get("zoo", {})
    config = {}
    for key, hp_key in (("model", "hyper_parameters"), ("data", "datamodule_hyper_parameters")):
        hparams = dict(ckpt.get(hp_key) or {})
        cls = saved.get(key) or hparams.get("_class_path")
        if cls:
            config[key] = {"class_path": cls, "init_args": _init_args(hparams)}
    if "model" not in config:
        raise CheckpointError(f"{path} does not record which model wrote it: pass --model (and --data) as well")
    return config
