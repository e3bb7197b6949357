"""One registry of the zoo's networks, in the book's order (torchvision's ``list_models``/``get_model``
and timm's ``create_model`` are the models for it).

Each network file registers what it defines, once, right below the definition::

    register_model("lenet", LeNet, network="LeNet", data="FashionMNIST", input_shape=(1, 28, 28),
                   book=Book(v1="7.6 Convolutional Neural Networks (LeNet)", v017="6.6 ..."),
                   configs=("convnets/lenet.yaml",))

``zoo.get_model("lenet")`` builds it with the facts its data set gives (classes, channels, vocabulary:
:mod:`zoo.core.links`), the entry's own arguments and any overrides; ``python cli.py list`` prints the
table (the README's network table is generated from it).
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .links import data_facts, init_arguments


@dataclass(frozen=True)
class Book:
    """Where a network is taught: its sections on d2l.ai (1.0), in the 0.17 / 2.0 editions (classic.d2l.ai,
    zh.d2l.ai), or the lectures of the companion PyTorch course. Each section is ``"number title"``; a network
    taught over several gives a tuple."""

    v1: str | tuple[str, ...] = ()
    v017: str | tuple[str, ...] = ()
    course: str | tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for edition in ("v1", "v017", "course"):
            if isinstance(getattr(self, edition), str):
                object.__setattr__(self, edition, (getattr(self, edition),))


@dataclass(frozen=True)
class ModelEntry:
    """One registered network.

    Attributes:
        name: the registry name (``get_model(name)``).
        cls: its LightningModule.
        network: what the book calls it.
        book: its sections.
        configs: its recipes, paths under ``configs/``.
        data: the data module class (in ``datamodules``) its recipe trains on; gives the data facts.
        input_shape: one example at the recipe's input size (no batch dimension).
        input_dtype: ``float`` (images, features) or ``long`` (token indices).
        kwargs: the arguments that make this network what it is (on top of the class defaults).
        variants: the choices it offers, e.g. ``{"impl": ("scratch", "concise")}``.
    """

    name: str
    cls: type
    network: str
    book: Book
    configs: tuple[str, ...]
    data: str
    input_shape: tuple[int, ...]
    input_dtype: str = "float"
    kwargs: dict[str, Any] = field(default_factory=dict)
    variants: dict[str, tuple] = field(default_factory=dict)

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        if self.input_dtype == "long":
            return torch.zeros(batch_size, *self.input_shape, dtype=torch.long)
        return torch.rand(batch_size, *self.input_shape)


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, cls: type, **details: Any) -> type:
    """Register network `cls` under `name` (see :class:`ModelEntry` for `details`); returns `cls`."""
    if name in _REGISTRY:
        raise ValueError(f"a network named {name!r} is registered already ({_REGISTRY[name].cls.__name__})")
    details["configs"] = tuple(details.get("configs", ()))
    _REGISTRY[name] = ModelEntry(name=name, cls=cls, **details)
    return cls


def list_models() -> list[str]:
    """The registered names, in the book's order."""
    return list(_REGISTRY)


def model_entries() -> list[ModelEntry]:
    return list(_REGISTRY.values())


def get_model_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"unknown network {name!r}{hint} Known: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def recipe_facts(entry: ModelEntry) -> dict[str, Any]:
    """The data facts of the entry's data set, constructed with its defaults (which reads nothing big);
    none for a data module that needs arguments (a CSV file's path)."""
    data_cls = getattr(importlib.import_module("datamodules"), entry.data)
    required = [p for p in inspect.signature(data_cls).parameters.values() if p.default is p.empty and p.kind in (
        p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]  # fmt: skip
    if required:
        return {}
    data = data_cls()
    accepted = init_arguments(entry.cls)
    return {name: value for name, value in data_facts(data).items() if name in accepted}


def get_model(name: str, device: torch.device | str | None = None, **overrides: Any) -> nn.Module:
    """The registered network `name`, built for its recipe's data (on `device`); `overrides` replace any argument.

    >>> import zoo
    >>> model = zoo.get_model("resnet18", num_classes=5)
    """
    entry = get_model_entry(name)
    unknown = set(overrides) - init_arguments(entry.cls)
    if unknown:
        raise ValueError(f"{entry.cls.__name__} takes no argument(s) {sorted(unknown)}")
    facts = recipe_facts(entry)  # the data module is built on the CPU, whatever the model's device
    with torch.device(device) if device is not None else contextlib.nullcontext():
        return entry.cls(**{**facts, **entry.kwargs, **overrides})


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def parameter_count(name: str) -> int:
    """Parameters of ``get_model(name)``, counted on the meta device (no memory, no initialisation cost); a model
    whose construction reads tensor values (a metric's thresholds, say) is built for real instead."""
    try:
        return count_parameters(get_model(name, device="meta"))
    except (NotImplementedError, RuntimeError):  # "Cannot copy out of meta tensor"
        return count_parameters(get_model(name))


def _human(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else str(n)


def _numbers(sections: tuple[str, ...]) -> str:
    """``("3.4 Title", "3.5 Title")`` -> ``"3.4, 3.5"``."""
    return ", ".join(section.split()[0] for section in sections) or "-"


def models_table(markdown: bool = True) -> str:
    """The registry as a table, in the book's order. Markdown (the README's): network, the sections with their
    titles in both editions, name, class, configs, variants, parameters. Plain text (``cli.py list``): the same
    with section numbers only."""
    rows = []
    for e in model_entries():
        variants = "; ".join(f"{k}: {'/'.join(map(str, v))}" for k, v in e.variants.items()) or "-"
        params = _human(parameter_count(e.name))
        if markdown:
            v1 = "; ".join(e.book.v1) or ("course: " + "; ".join(e.book.course) if e.book.course else "-")
            v017 = "; ".join(e.book.v017) or "-"
            configs = ", ".join(f"`{c}`" for c in e.configs) or "-"
            rows.append([e.network, v1, v017, f"`{e.name}`", f"`zoo.{e.cls.__name__}`", configs, variants, params])
        else:
            v1 = _numbers(e.book.v1) if e.book.v1 else (f"course {_numbers(e.book.course)}" if e.book.course else "-")
            rows.append([e.name, v1, _numbers(e.book.v017), params, f"zoo.{e.cls.__name__}", e.network])
    if markdown:
        header = [
            "Network",
            "d2l.ai (1.0)",
            "0.17 / 2.0 editions",
            "Name",
            "Class",
            "Configs",
            "Variants",
            "Parameters",
        ]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    header = ["name", "1.0", "0.17", "params", "class", "network"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows])
