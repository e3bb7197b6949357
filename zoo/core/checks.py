"""Argument checks every network shares: one clear ``ValueError`` per bad hyperparameter.

LightningCLI shows the message of a ``ValueError`` raised in ``__init__`` as one ``error:`` line.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

IMPLS = ("scratch", "concise")


def check_choice(name: str, value, choices: Sequence):
    """`value` if it is one of `choices`, else a ValueError naming them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_impl(impl: str) -> str:
    """``scratch`` (what the book writes by hand) or ``concise`` (``torch.nn``)."""
    return check_choice("impl", impl, IMPLS)


def check_positive(**values: int | float) -> None:
    """Every keyword's value must be > 0."""
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")


def check_dropout(p: float) -> float:
    """A dropout probability in [0, 1)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    return p


def check_pairs(arch: Sequence[Sequence[int]], what: str) -> list[list[int]]:
    """A non-empty list of pairs of positive ints (VGG's ``[num_convs, out_channels]``, ResNet's
    ``[num_residuals, num_channels]``), returned as plain lists (so they save as hyperparameters)."""
    if not arch or any(len(pair) != 2 or min(pair) < 1 for pair in arch):
        raise ValueError(f"arch must be a non-empty list of {what} pairs of positive ints, got {arch}")
    return [list(pair) for pair in arch]


def check_input_size(X: torch.Tensor, size: int, network: str) -> None:
    """A clear error for networks whose fully connected layers fix the input side length."""
    if tuple(X.shape[-2:]) != (size, size):
        raise ValueError(
            f"{network} expects {size}x{size} inputs (set --data.resize {size}), got {tuple(X.shape[-2:])}"
        )
