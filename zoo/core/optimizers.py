"""The optimizers and learning-rate schedules a network can name in its arguments: two tables from name to class.

Every :class:`~zoo.core.base.ZooModule` builds its optimizer here from its hyperparameters (``optimizer``,
``lr``, ``momentum``, ``weight_decay``, ``optimizer_args``) and its :meth:`parameter_groups`, and its schedule
from ``lr_scheduler`` and ``lr_scheduler_args``. A name takes only the options its algorithm has: a momentum for
Adam, say, is an error, not ignored; and every value is checked against its domain when the model is built, so
a bad one is one clear ``ValueError`` before training starts.

The tables hold torch's optimizers (``sgd``, ``adam``, ``adamw``, ``adagrad``, ``rmsprop``, ``adadelta``); the
optimization chapter (:mod:`zoo.optim`) registers the book's scratch optimizers (``sgd-scratch``,
``adam-scratch``, ...) and schedules (``square-root``, ``factor``, ``multi-factor``, ``cosine``) next to them
with :func:`register_optimizer` and :func:`register_scheduler`, as network files register their networks.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

# --- the domains of the hyperparameters -----------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _unit(value: Any) -> bool:
    return _number(value) and 0 <= value < 1


def _closed_unit(value: Any) -> bool:
    return _number(value) and 0 <= value <= 1


def _betas(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(_unit(v) for v in value)


def _milestones(value: Any) -> bool:
    ints = isinstance(value, (list, tuple)) and value and all(isinstance(v, int) and v > 0 for v in value)
    return bool(ints) and list(value) == sorted(set(value))


#: What each hyperparameter must be, by name: (check, description). Shared by every optimizer and schedule.
DOMAINS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "lr": (lambda v: _number(v) and v > 0, "a positive number"),
    "weight_decay": (lambda v: _number(v) and v >= 0, "a non-negative number"),
    "momentum": (_unit, "in [0, 1)"),
    "dampening": (lambda v: _number(v) and 0 <= v <= 1, "in [0, 1]"),
    "betas": (_betas, "two numbers in [0, 1)"),
    "eps": (lambda v: _number(v) and v >= 0, "a non-negative number"),
    "rho": (_closed_unit, "in [0, 1]"),
    "gamma": (_closed_unit, "in [0, 1]"),  # RMSProp's leak (the book's name; torch's alpha), a schedule's factor
    "alpha": (_closed_unit, "in [0, 1]"),
    "lr_decay": (lambda v: _number(v) and v >= 0, "a non-negative number"),
    "initial_accumulator_value": (lambda v: _number(v) and v >= 0, "a non-negative number"),
    "nesterov": (lambda v: isinstance(v, bool), "true or false"),
    "amsgrad": (lambda v: isinstance(v, bool), "true or false"),
    "centered": (lambda v: isinstance(v, bool), "true or false"),
    "factor": (lambda v: _number(v) and 0 < v <= 1, "in (0, 1]"),
    "stop_factor_lr": (lambda v: _number(v) and v >= 0, "a non-negative number"),
    "milestones": (_milestones, "increasing positive integers"),
    "max_update": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, "a positive integer"),
    "warmup_steps": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a non-negative integer"),
    "final_lr": (lambda v: _number(v) and v >= 0, "a non-negative number"),
    "warmup_begin_lr": (lambda v: _number(v) and v >= 0, "a non-negative number"),
}


def check_hyperparameters(owner: str = "", **values: Any) -> None:
    """A ValueError for the first value outside its domain (:data:`DOMAINS`); names it doesn't know pass."""
    for name, value in values.items():
        if name in DOMAINS and not DOMAINS[name][0](value):
            where = f"{owner}: " if owner else ""
            raise ValueError(f"{where}{name} must be {DOMAINS[name][1]}, got {value!r}")


# --- optimizers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer class, which shared options it takes and which of its own hyperparameters it takes.

    Attributes:
        cls: the ``torch.optim.Optimizer``.
        options: the shared :class:`~zoo.core.base.ZooModule` arguments it takes (``momentum``, ``weight_decay``).
        args: its own hyperparameters, given through the model's ``optimizer_args`` (``betas``, ``eps``, ...).
        description: one line for the list of known names.
    """

    cls: type[Optimizer]
    options: tuple[str, ...]
    args: tuple[str, ...]
    description: str


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(torch.optim.SGD, ("momentum", "weight_decay"), ("dampening", "nesterov"), "torch.optim.SGD"),
    "adam": OptimizerSpec(torch.optim.Adam, ("weight_decay",), ("betas", "eps", "amsgrad"), "torch.optim.Adam"),
    "adamw": OptimizerSpec(torch.optim.AdamW, ("weight_decay",), ("betas", "eps", "amsgrad"), "torch.optim.AdamW"),
    "adagrad": OptimizerSpec(
        torch.optim.Adagrad, ("weight_decay",), ("eps", "lr_decay", "initial_accumulator_value"), "torch.optim.Adagrad"
    ),
    "rmsprop": OptimizerSpec(
        torch.optim.RMSprop, ("momentum", "weight_decay"), ("alpha", "eps", "centered"), "torch.optim.RMSprop"
    ),
    "adadelta": OptimizerSpec(torch.optim.Adadelta, ("weight_decay",), ("rho", "eps"), "torch.optim.Adadelta"),
}


def register_optimizer(
    name: str, cls: type[Optimizer], *, options: Iterable[str], args: Iterable[str], description: str
) -> type[Optimizer]:
    """Make optimizer `cls` selectable as ``optimizer=name`` (see :class:`OptimizerSpec`); returns `cls`."""
    if name in OPTIMIZERS:
        raise ValueError(f"an optimizer named {name!r} is registered already ({OPTIMIZERS[name].cls.__name__})")
    OPTIMIZERS[name] = OptimizerSpec(cls, tuple(options), tuple(args), description)
    return cls


def _known(table: Mapping, what: str, name: str) -> None:
    if name not in table:
        known = ", ".join(f"{n} ({spec.description})" for n, spec in table.items())
        raise ValueError(f"unknown {what} {name!r}; known: {known}")


def _own_args(what: str, name: str, args: Mapping | None, accepted: tuple[str, ...]) -> dict:
    args = dict(args or {})
    unknown = sorted(set(args) - set(accepted))
    if unknown:
        takes = ", ".join(accepted) or "nothing"
        raise ValueError(f"{what} {name!r} takes no {', '.join(unknown)} in {what}_args (it takes {takes})")
    return args


def _dummy_parameter() -> torch.nn.Parameter:
    return torch.nn.Parameter(torch.zeros(1))


def check_optimizer(name: str, lr: float, args: Mapping | None = None, **options: float) -> None:
    """One clear ValueError for an unknown name, a value outside its domain, or an option the algorithm lacks.

    `options` are the shared ones (``momentum``, ``weight_decay``); `args` the algorithm's own
    (``optimizer_args``). The optimizer is then built once on a dummy parameter, so its own checks run too.
    """
    _known(OPTIMIZERS, "optimizer", name)
    spec = OPTIMIZERS[name]
    check_hyperparameters(f"optimizer {name!r}", lr=lr, **options)
    for option, value in options.items():
        if value and option not in spec.options:
            takes = ", ".join(spec.options) or "no other option"
            raise ValueError(f"optimizer {name!r} has no {option} (it takes {takes}); got {option}={value}")
    args = _own_args("optimizer", name, args, spec.args)
    check_hyperparameters(f"optimizer {name!r}", **args)
    try:
        spec.cls([_dummy_parameter()], lr=lr, **_shared(spec, options), **args)
    except (TypeError, ValueError) as err:
        raise ValueError(f"optimizer {name!r}: {err}") from None


def _shared(spec: OptimizerSpec, options: Mapping[str, float]) -> dict:
    return {k: v for k, v in options.items() if k in spec.options}


def make_optimizer(
    name: str, params: Iterable, lr: float, args: Mapping | None = None, fused: bool = False, **options: float
) -> Optimizer:
    """The optimizer `name` over `params` (tensors or parameter groups) with `lr`, its shared `options` (momentum,
    weight_decay) and its own `args` (``optimizer_args``).

    `fused`: torch's fused implementation where the algorithm has one (Adam, SGD): the same update in one kernel
    over all parameters instead of a loop over them, which is what bounds small networks' steps.
    """
    check_optimizer(name, lr, args, **options)
    spec = OPTIMIZERS[name]
    extra = {"fused": True} if fused and spec.cls in (torch.optim.Adam, torch.optim.SGD) else {}
    return spec.cls(params, lr=lr, **_shared(spec, options), **dict(args or {}), **extra)


def instantiate(first: Any, init: Mapping) -> Any:
    """``cls(first, **init_args)`` for a LightningCLI class config ``{"class_path": ..., "init_args": ...}`` (an
    ``--optimizer`` over parameters, an ``--lr_scheduler`` over an optimizer)."""
    module, _, name = init["class_path"].rpartition(".")
    return getattr(importlib.import_module(module), name)(first, **dict(init.get("init_args") or {}))


# --- learning-rate schedules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchedulerSpec:
    """A ``torch.optim.lr_scheduler`` class and the arguments it takes through ``lr_scheduler_args``; its
    ``required`` ones have no default."""

    cls: type[LRScheduler]
    args: tuple[str, ...]
    required: tuple[str, ...]
    description: str


SCHEDULERS: dict[str, SchedulerSpec] = {}


def register_scheduler(
    name: str, cls: type[LRScheduler], *, args: Iterable[str], required: Iterable[str] = (), description: str
) -> type[LRScheduler]:
    """Make schedule `cls` selectable as ``lr_scheduler=name`` (see :class:`SchedulerSpec`); returns `cls`."""
    if name in SCHEDULERS:
        raise ValueError(f"a schedule named {name!r} is registered already ({SCHEDULERS[name].cls.__name__})")
    SCHEDULERS[name] = SchedulerSpec(cls, tuple(args), tuple(required), description)
    return cls


def check_scheduler(name: str, args: Mapping | None = None) -> None:
    """One clear ValueError for an unknown schedule, a missing, unknown or out-of-domain argument."""
    _known(SCHEDULERS, "lr_scheduler", name)
    spec = SCHEDULERS[name]
    args = _own_args("lr_scheduler", name, args, spec.args)
    missing = [a for a in spec.required if a not in args]
    if missing:
        raise ValueError(f"lr_scheduler {name!r} needs {', '.join(missing)} in lr_scheduler_args")
    check_hyperparameters(f"lr_scheduler {name!r}", **args)
    try:
        spec.cls(torch.optim.SGD([_dummy_parameter()], lr=0.1), **args)
    except (TypeError, ValueError) as err:
        raise ValueError(f"lr_scheduler {name!r}: {err}") from None


def make_scheduler(name: str, optimizer: Optimizer, args: Mapping | None = None) -> LRScheduler:
    """The schedule `name` over `optimizer`, with its `args` (``lr_scheduler_args``)."""
    check_scheduler(name, args)
    return SCHEDULERS[name].cls(optimizer, **dict(args or {}))
