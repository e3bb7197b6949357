"""Optimization algorithms (the book's chapter 11 in 0.17 / 12 in 1.0): its optimizers written from their update
formulas, its learning-rate schedules, its testbeds (the airfoil regression and the LeNet schedule study) and the
2-D toy objectives with each optimizer's trajectory drawn as the book's contour plot."""

# ruff: noqa: I001  (imported in the book's order: importing a file registers its optimizers and networks)
from .optimizers import (
    ScratchAdaGrad,
    ScratchAdadelta,
    ScratchAdam,
    ScratchMomentum,
    ScratchNesterov,
    ScratchRMSProp,
    ScratchSGD,
    Yogi,
)
from .schedulers import CosineScheduler, FactorScheduler, MultiFactorScheduler, SquareRootScheduler
from . import testbeds  # noqa: F401  (registers the chapter's networks)

__all__ = [
    "CosineScheduler",
    "FactorScheduler",
    "MultiFactorScheduler",
    "ScratchAdaGrad",
    "ScratchAdadelta",
    "ScratchAdam",
    "ScratchMomentum",
    "ScratchNesterov",
    "ScratchRMSProp",
    "ScratchSGD",
    "SquareRootScheduler",
    "Yogi",
]
