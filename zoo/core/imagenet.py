"""Pretrained ImageNet weights from torchvision's weights API, checked like the data files are.

A network that starts from ImageNet weights (fine-tuning, the FCN's backbone, style transfer's VGG-19) takes
``weights``: None (random initialisation), ``"imagenet"`` (torchvision's published file, from torch.hub's cache or
downloaded into it) or the path of a local copy of that file. torchvision names each file after the first hex
digits of its sha256 (``resnet18-f37072fd.pth``); a file whose sha256 does not start with them is never loaded,
and one that cannot be had is one :class:`WeightsError` naming the URL, the expected hash and where to put it.

The weights are loaded when training starts (:meth:`Pretrained.on_fit_start`), not when the model is built, so a
checkpoint of a fine-tuned network reloads, tests and predicts offline without them; a persistent flag in the
state dict (``pretrained_loaded``) keeps a resumed or reloaded model from being overwritten with them again.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import torch
import torchvision
from torch import nn

IMAGENET = "imagenet"


class WeightsError(RuntimeError):
    """Pretrained weights that cannot be had or do not check out; the message says what to do."""


def published_file(weights_name: str) -> tuple[str, str | None]:
    """The URL of torchvision's weights ``weights_name`` (e.g. ``"ResNet18_Weights.IMAGENET1K_V1"``) and the sha256
    prefix its file name carries (None when it carries none)."""
    url = torchvision.models.get_weight(weights_name).url
    match = re.search(torch.hub.HASH_REGEX, Path(url).name)
    return url, match.group(1) if match else None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_path(url: str) -> Path:
    """Where torch.hub keeps the file of `url` (``$TORCH_HOME/hub/checkpoints/<name>``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def _where_to_put(url: str, prefix: str | None) -> str:
    expected = f"sha256 starting {prefix}" if prefix else "no published hash"
    return (
        f"Put {Path(url).name} ({expected}; from {url}) at {cache_path(url)}, or pass its path as "
        "--model.weights PATH; --model.weights null starts from random weights."
    )


def _load_checked(path: Path, url: str, prefix: str | None) -> dict:
    if not path.is_file():
        raise WeightsError(f"the weights file {path} does not exist. {_where_to_put(url, prefix)}")
    if prefix is not None:
        actual = sha256(path)
        if not actual.startswith(prefix):
            raise WeightsError(
                f"{path} has sha256 {actual}, but torchvision publishes {Path(url).name} with a sha256 starting "
                f"{prefix}: it is another or a damaged file and is not used. {_where_to_put(url, prefix)}"
            )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file
        raise WeightsError(f"{path} cannot be read as a state dict ({type(err).__name__}: {err})") from None


def pretrained_state_dict(weights_name: str, source: str) -> dict:
    """The verified state dict of torchvision's `weights_name` from `source`: ``"imagenet"`` (torch.hub's cache,
    downloading the file there if it is missing) or a local file's path."""
    url, prefix = published_file(weights_name)
    if source != IMAGENET:
        return _load_checked(Path(source).expanduser(), url, prefix)
    path = cache_path(url)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, str(path), hash_prefix=prefix, progress=False)
        except Exception as err:  # no network, a proxy page, a failed hash check (the download is not kept)
            detail = str(err) if len(str(err)) < 120 else str(err)[:120] + "..."
            raise WeightsError(
                f"the ImageNet weights {weights_name} are not in torch.hub's cache and cannot be downloaded "
                f"({type(err).__name__}: {detail}). {_where_to_put(url, prefix)}"
            ) from None
    return _load_checked(path, url, prefix)


def load_matching(module: nn.Module, state: dict, new: tuple[str, ...] = (), prefix: str = "") -> None:
    """Load `state` into `module` (keys of `state` under `prefix` only, the prefix removed), except the parameters
    whose names start with one of `new` (layers the network adds or replaces, which keep their initialisation);
    every other parameter and buffer of `module` must be in `state` with its shape."""
    own = module.state_dict()
    wanted = {k for k in own if not k.startswith(new)}
    picked = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix) and k[len(prefix) :] in wanted}
    missing = sorted(wanted - set(picked))
    wrong = sorted(k for k, v in picked.items() if v.shape != own[k].shape)
    if missing or wrong:
        raise WeightsError(
            f"the pretrained weights do not fit {type(module).__name__}: missing {missing[:5]}, wrong shape {wrong[:5]}"
        )
    module.load_state_dict(picked, strict=False)


def check_weights(weights: str | None) -> str | None:
    """None, ``"imagenet"`` or a path (checked when the weights are loaded, so checkpoints load without the file)."""
    if weights is not None and (not isinstance(weights, str) or not weights.strip()):
        raise ValueError(f'weights must be None, "imagenet" or the path of a weights file, got {weights!r}')
    return weights


class Pretrained:
    """Mixin for networks that can start from torchvision's ImageNet weights (put it before the Lightning base).

    A subclass names torchvision's weights (``pretrained_weights``), calls :meth:`init_pretrained` in its
    ``__init__`` and says in :meth:`load_pretrained_state` where the state dict goes. Its ``weights``
    hyperparameter picks the source (see :func:`pretrained_state_dict`).
    """

    pretrained_weights: str = ""  # torchvision's enum name, e.g. "ResNet18_Weights.IMAGENET1K_V1"

    def init_pretrained(self) -> None:
        check_weights(self.hparams.weights)
        self.register_buffer("pretrained_loaded", torch.tensor(False))  # saved: a reload is not overwritten

    def load_pretrained_state(self, state: dict) -> None:
        raise NotImplementedError

    def load_pretrained(self) -> bool:
        """Load the ``weights`` the model was built with, unless they are loaded already or there are none;
        True if they were loaded now."""
        source = self.hparams.weights
        if source is None or bool(self.pretrained_loaded):
            return False
        self.load_pretrained_state(pretrained_state_dict(self.pretrained_weights, source))
        self.pretrained_loaded.fill_(True)
        if self._trainer is None or self._trainer.is_global_zero:
            where = "torchvision's ImageNet weights" if source == IMAGENET else source
            print(f"{type(self).__name__}: loaded {self.pretrained_weights} ({where})")
        return True

    def on_fit_start(self) -> None:
        """After a checkpoint is restored (a resumed run keeps its own weights) and before the first step."""
        self.load_pretrained()
        super().on_fit_start()
