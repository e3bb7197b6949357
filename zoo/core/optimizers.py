"""The optimizers a network can name in its ``optimizer`` argument: one table from name to factory.

Every :class:`~zoo.core.base.ZooModule` builds its optimizer here from its hyperparameters
(``optimizer``, ``lr``, ``momentum``, ``weight_decay``) and its :meth:`parameter_groups`. A name
takes only the options its algorithm has: a momentum for Adam, say, is an error, not ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch.optim import Optimizer


class ScratchSGD(Optimizer):
    """Minibatch stochastic gradient descent as the book writes it by hand: ``p -= lr * p.grad``.

    Scratch variant (book section "Linear Regression Implementation from Scratch"); ``sgd`` is
    ``torch.optim.SGD``.
    """

    def __init__(self, params, lr: float) -> None:
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    param -= group["lr"] * param.grad
        return loss


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer class and which of the shared options (``momentum``, ``weight_decay``) it takes."""

    cls: type[Optimizer]
    options: tuple[str, ...]
    description: str


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(torch.optim.SGD, ("momentum", "weight_decay"), "torch.optim.SGD"),
    "sgd-scratch": OptimizerSpec(ScratchSGD, (), "the book's hand-written minibatch SGD (zoo.core.optimizers)"),
    "adam": OptimizerSpec(torch.optim.Adam, ("weight_decay",), "torch.optim.Adam"),
}


def check_optimizer(name: str, lr: float, **options: float) -> None:
    """A clear ValueError for an unknown name, a bad lr or an option the algorithm does not have."""
    if name not in OPTIMIZERS:
        known = ", ".join(f"{n} ({spec.description})" for n, spec in OPTIMIZERS.items())
        raise ValueError(f"unknown optimizer {name!r}; known: {known}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    for option, value in options.items():
        if value < 0:
            raise ValueError(f"{option} must not be negative, got {value}")
        if value and option not in OPTIMIZERS[name].options:
            takes = ", ".join(OPTIMIZERS[name].options) or "no other option"
            raise ValueError(f"optimizer {name!r} has no {option} (it takes {takes}); got {option}={value}")


def make_optimizer(name: str, params: Iterable, lr: float, fused: bool = False, **options: float) -> Optimizer:
    """The optimizer `name` over `params` (tensors or parameter groups) with `lr` and its own `options`.

    `fused`: torch's fused implementation where the algorithm has one (Adam, SGD): the same update in one kernel
    over all parameters instead of a loop over them, which is what bounds small networks' steps.
    """
    check_optimizer(name, lr, **options)
    spec = OPTIMIZERS[name]
    extra = {"fused": True} if fused and spec.cls in (torch.optim.Adam, torch.optim.SGD) else {}
    return spec.cls(params, lr=lr, **{k: v for k, v in options.items() if k in spec.options}, **extra)
