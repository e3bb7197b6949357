"""The book's learning-rate schedules (section "Learning Rate Scheduling", 11.11 in 0.17 / 12.11 in 1.0) as
``torch.optim.lr_scheduler.LRScheduler`` classes, stepped once per epoch.

Each gives the learning rate of epoch t (t = 0, 1, ...) from the optimizer's initial rate ``eta_0`` (the model's
``lr``, or ``--optimizer.lr``) by the section's formula, the values the book plots for its schedules. (The
book's training loop sets ``scheduler(epoch)`` *after* each epoch, so its own runs train epoch t at the rate of
t - 1, and its first epoch at the optimizer's rate; a torch scheduler's rate at ``last_epoch = t`` is the
formula's at t.) As classes they work with LightningCLI's ``--lr_scheduler zoo.optim.CosineScheduler``; by name
(``--model.lr_scheduler cosine``, :data:`zoo.core.optimizers.SCHEDULERS`) at the bottom.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, MultiStepLR

from ..core.optimizers import check_hyperparameters, register_scheduler


class _BookScheduler(LRScheduler):
    """A schedule given in closed form: :meth:`rate` maps the initial rate and the epoch to that epoch's rate."""

    def get_lr(self) -> list[float]:
        return [self.rate(base, self.last_epoch) for base in self.base_lrs]

    def _get_closed_form_lr(self) -> list[float]:
        return self.get_lr()

    def rate(self, eta_0: float, t: int) -> float:
        raise NotImplementedError


class SquareRootScheduler(_BookScheduler):
    r"""Square-root decay, the book's ``SquareRootScheduler``::

        eta_t = eta_0 * (t + 1)^(-1/2)

    The book's study runs it from lr 0.1 (``eta_0`` is the optimizer's rate).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        super().__init__(optimizer, last_epoch)

    def rate(self, eta_0: float, t: int) -> float:
        return eta_0 * (t + 1.0) ** -0.5


class FactorScheduler(_BookScheduler):
    r"""Multiplicative decay with a floor, the book's ``FactorScheduler``::

        eta_t = max(stop_factor_lr, eta_0 * factor^t)

    (the book's class keeps the rate as state and multiplies it on every call; this is its closed form).
    Defaults: the book's class, factor 1 (constant) and a floor of 1e-7; its plot uses factor 0.9, floor 0.01
    from 2.0.
    """

    def __init__(
        self, optimizer: Optimizer, factor: float = 1.0, stop_factor_lr: float = 1e-7, last_epoch: int = -1
    ) -> None:
        check_hyperparameters(type(self).__name__, factor=factor, stop_factor_lr=stop_factor_lr)
        self.factor, self.stop_factor_lr = factor, stop_factor_lr
        super().__init__(optimizer, last_epoch)

    def rate(self, eta_0: float, t: int) -> float:
        return max(self.stop_factor_lr, eta_0 * self.factor**t)


class MultiFactorScheduler(MultiStepLR):
    r"""Piecewise-constant decay, the book's multi-factor schedule: torch's ``MultiStepLR``, with its arguments
    checked::

        eta_t = eta_0 * gamma^(number of milestones <= t)

    The book's study: lr 0.5, milestones [15, 30], gamma 0.5.
    """

    def __init__(
        self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        milestones = list(milestones)
        check_hyperparameters(type(self).__name__, milestones=milestones, gamma=gamma)
        super().__init__(optimizer, milestones, gamma, last_epoch)


class CosineScheduler(_BookScheduler):
    r"""Cosine decay with an optional linear warm-up, the book's ``CosineScheduler``::

        eta_t = warmup_begin_lr + (eta_0 - warmup_begin_lr) * t / warmup_steps            t < warmup_steps
        eta_t = final_lr + (eta_0 - final_lr) * (1 + cos(pi * (t - warmup_steps) / (max_update - warmup_steps))) / 2
                                                                                          t <= max_update
        eta_t = final_lr                                                                  t > max_update

    The book's study: lr 0.3 to final_lr 0.01 over max_update 20 epochs, with and without 5 warm-up epochs.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_update: int,
        final_lr: float = 0.0,
        warmup_steps: int = 0,
        warmup_begin_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        name = type(self).__name__
        check_hyperparameters(
            name, max_update=max_update, final_lr=final_lr, warmup_steps=warmup_steps, warmup_begin_lr=warmup_begin_lr
        )
        if warmup_steps >= max_update:
            raise ValueError(f"{name}: warmup_steps ({warmup_steps}) must be less than max_update ({max_update})")
        self.max_update, self.final_lr = max_update, final_lr
        self.warmup_steps, self.warmup_begin_lr = warmup_steps, warmup_begin_lr
        super().__init__(optimizer, last_epoch)

    def rate(self, eta_0: float, t: int) -> float:
        if t < self.warmup_steps:
            return self.warmup_begin_lr + (eta_0 - self.warmup_begin_lr) * t / self.warmup_steps
        if t <= self.max_update:
            progress = (t - self.warmup_steps) / (self.max_update - self.warmup_steps)
            return self.final_lr + (eta_0 - self.final_lr) * (1 + math.cos(math.pi * progress)) / 2
        return self.final_lr


# --- their names: --model.lr_scheduler NAME ------------------------------------------------------------------

register_scheduler("square-root", SquareRootScheduler, args=(), description="the book's eta_0 (t + 1)^(-1/2)")
register_scheduler(
    "factor", FactorScheduler, args=("factor", "stop_factor_lr"), description="the book's max(floor, eta_0 factor^t)"
)
register_scheduler(
    "multi-factor",
    MultiFactorScheduler,
    args=("milestones", "gamma"),
    required=("milestones",),
    description="the book's multi-factor schedule, torch's MultiStepLR",
)
register_scheduler(
    "cosine",
    CosineScheduler,
    args=("max_update", "final_lr", "warmup_steps", "warmup_begin_lr"),
    required=("max_update",),
    description="the book's cosine decay with optional warm-up",
)
