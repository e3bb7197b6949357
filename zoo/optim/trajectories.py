"""The chapter's 2-D toy objectives, and each optimizer's path on them drawn as the book's contour plot.

The book follows its optimizers from x = (-5, -2) for 20 steps (``train_2d``) on f(x) = x1^2 + 2 x2^2 (sections
"Gradient Descent" and "Stochastic Gradient Descent", 11.3-11.4 in 0.17 / 12.3-12.4 in 1.0, the latter with
N(0, 1) noise added to the gradient) and on the ill-conditioned f(x) = 0.1 x1^2 + 2 x2^2 ("Momentum" to "RMSProp",
11.6-11.8 / 12.6-12.8), and draws the path over the objective's contours (``show_trace_2d``). Here the path is
taken by the zoo's optimizers themselves (the same classes that train the networks, by their registry names), on
the objective written as a function of a two-element parameter, with autograd's gradient::

    python cli.py trajectories                                   # every scratch optimizer, the book's settings
    python cli.py trajectories --optimizer adam-scratch --lr 0.1 --steps 50
    python cli.py trajectories --optimizer sgd-scratch --objective quadratic --lr 0.1 --noise 1 --steps 50

Each optimizer's settings default to its section's 2-D run (:data:`BOOK_RUNS`; where the book draws none, a
setting that shows the method, marked as not the book's). One PNG per optimizer goes to ``--out``; the final
point is printed as the book prints it (``epoch 20, x1: -0.943467, x2: -0.000073``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..core.optimizers import OPTIMIZERS, make_optimizer

START = (-5.0, -2.0)  # the book's train_2d


@dataclass(frozen=True)
class Objective:
    """A 2-D objective f(x1, x2) and its formula."""

    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    formula: str


OBJECTIVES: dict[str, Objective] = {
    "quadratic": Objective(lambda x1, x2: x1**2 + 2 * x2**2, "f(x) = x1^2 + 2 x2^2"),
    "ill-conditioned": Objective(lambda x1, x2: 0.1 * x1**2 + 2 * x2**2, "f(x) = 0.1 x1^2 + 2 x2^2"),
}


@dataclass(frozen=True)
class Run:
    """An optimizer's 2-D run: objective, lr, steps, momentum, its own args, gradient noise; `book` says where
    the book runs it and what it prints (empty: a setting of ours)."""

    objective: str
    lr: float
    steps: int = 20
    momentum: float = 0.0
    args: dict = field(default_factory=dict)
    noise: float = 0.0
    book: str = ""
    changed: bool = False  # settings given on the command line


_GD = Run("ill-conditioned", 0.4, book="11.6 / 12.6 Momentum, gradient descent at eta 0.4: x1 -0.943467, x2 -0.000073")
_ADAGRAD = Run("ill-conditioned", 0.4, book="11.7 / 12.7 Adagrad, eta 0.4: x1 -2.382563, x2 -0.158591")
_ADAM = Run("ill-conditioned", 0.3)
_ADADELTA_NOTE = "eps 0.01 (the book's 1e-5 moves about 0.01 per step here)"

#: Each optimizer's default run: its section's 2-D example, where the book draws one.
BOOK_RUNS: dict[str, Run] = {
    "sgd-scratch": _GD,
    "momentum-scratch": Run(
        "ill-conditioned", 0.6, momentum=0.5, book="11.6 / 12.6 Momentum, eta 0.6, beta 0.5: x1 0.007188, x2 0.002553"
    ),
    "nesterov-scratch": Run("ill-conditioned", 0.3, momentum=0.5),  # at momentum's eta 0.6 it diverges along x2
    "adagrad-scratch": _ADAGRAD,
    "rmsprop-scratch": Run(
        "ill-conditioned", 0.4, args={"gamma": 0.9}, book="11.8 / 12.8 RMSProp, eta 0.4, gamma 0.9: x1 -0.010599, x2 0"
    ),
    "adadelta-scratch": Run("ill-conditioned", 1.0, args={"rho": 0.9, "eps": 0.01}),
    "adam-scratch": _ADAM,
    "yogi-scratch": _ADAM,
    # torch's optimizers take their counterpart's setting (with torch's own names and epsilons)
    "sgd": _GD,
    "adagrad": _ADAGRAD,
    "rmsprop": Run("ill-conditioned", 0.4, args={"alpha": 0.9}),
    "adadelta": Run("ill-conditioned", 1.0, args={"rho": 0.9, "eps": 0.01}),
    "adam": _ADAM,
    "adamw": _ADAM,
}
SCRATCH = [name for name in BOOK_RUNS if name.endswith("-scratch")]


def trajectory(name: str, run: Run, seed: int = 0) -> list[tuple[float, float]]:
    """The points the optimizer `name` visits on `run`'s objective from :data:`START` (float64), start included."""
    objective = OBJECTIVES[run.objective]
    x = torch.nn.Parameter(torch.tensor(START, dtype=torch.float64))
    optimizer = make_optimizer(name, [x], run.lr, run.args, momentum=run.momentum)
    noise = torch.Generator().manual_seed(seed)
    points = [tuple(x.tolist())]
    for _ in range(run.steps):
        optimizer.zero_grad()
        objective.f(x[0], x[1]).backward()
        if run.noise:  # the SGD section's simulated minibatch noise
            x.grad += run.noise * torch.randn(2, generator=noise, dtype=torch.float64)
        optimizer.step()
        points.append(tuple(x.tolist()))
    return points


def plot_trajectory(points: Sequence[tuple[float, float]], run: Run, title: str, path: Path) -> Path:
    """The book's ``show_trace_2d``: the path as orange dots over the objective's contours, as a PNG. The contours
    cover the book's box, x1 in [-5.5, 1], x2 in [-3, 1], widened to the path where it leaves it (up to 10)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys = zip(*points)
    lo1, hi1 = max(min(-5.5, min(xs) - 0.5), -10.0), min(max(1.0, max(xs) + 0.5), 10.0)
    lo2, hi2 = max(min(-3.0, min(ys) - 0.5), -10.0), min(max(1.0, max(ys) + 0.5), 10.0)
    x1, x2 = torch.meshgrid(torch.linspace(lo1, hi1, 200), torch.linspace(lo2, hi2, 200), indexing="ij")
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    ax.plot(*zip(*points), "-o", color="#ff7f0e", markersize=3)
    values = OBJECTIVES[run.objective].f(x1, x2)
    levels = torch.linspace(0, 1, 14)[1:] ** 2 * values.max()  # denser near the minimum than matplotlib picks
    ax.contour(x1.numpy(), x2.numpy(), values.numpy(), levels=levels.numpy(), colors="#1f77b4", linewidths=0.8)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _describe(name: str, run: Run, sep: str = ", ") -> str:
    parts = [f"lr {run.lr:g}"]
    if run.momentum:
        parts.append(f"momentum {run.momentum:g}")
    parts += [f"{k} {v}" for k, v in run.args.items()]
    if run.noise:
        parts.append(f"gradient noise N(0, {run.noise:g}^2)")
    source = "settings given" if run.changed else "the book's run" if run.book else "not a book run"
    return f"{name}: {OBJECTIVES[run.objective].formula}{sep}{', '.join(parts)}, {run.steps} steps ({source})"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cli.py trajectories",
        description="Draw optimizers' paths on the book's 2-D objectives as contour plots, one PNG per optimizer.",
    )
    p.add_argument(
        "--optimizer",
        action="append",
        help=f"an optimizer name (repeat for several; default: every scratch one); known: {', '.join(OPTIMIZERS)}",
    )
    p.add_argument("--objective", choices=list(OBJECTIVES), help="default: the optimizer's book run's")
    p.add_argument("--lr", type=float, help="learning rate (default: the book run's)")
    p.add_argument("--momentum", type=float, help="momentum, for the optimizers that take one")
    p.add_argument(
        "--optimizer_args", type=json.loads, help="the optimizer's own hyperparameters, JSON: '{\"eps\": 0}'"
    )
    p.add_argument("--steps", type=int, help="steps (default: the book run's, 20)")
    p.add_argument("--noise", type=float, help="std of Gaussian noise added to each gradient (the SGD section: 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the gradient noise")
    p.add_argument("--out", default="trajectories", help="folder for the PNGs (default: ./trajectories)")
    return p


def run_trajectories(argv: Sequence[str]) -> dict[str, list[tuple[float, float]]]:
    """``cli.py trajectories ARGS``: one contour PNG per optimizer in ``--out``; returns each one's points.

    A bad name or hyperparameter raises the optimizer table's ValueError (``cli.py`` prints it as one line).
    """
    args = parser().parse_args(list(argv))
    names = [n for arg in args.optimizer or SCRATCH for n in arg.split(",")]
    overrides = {
        key: value
        for key, value in (
            ("objective", args.objective),
            ("lr", args.lr),
            ("momentum", args.momentum),
            ("args", args.optimizer_args),
            ("steps", args.steps),
            ("noise", args.noise),
        )
        if value is not None
    }
    if overrides.get("steps", 1) < 1:
        raise ValueError(f"--steps must be a positive integer, got {overrides['steps']}")
    paths = {}
    for name in names:
        if name not in OPTIMIZERS:
            make_optimizer(name, [], 1.0)  # the table's error, listing the known names
        base = BOOK_RUNS.get(name, Run("ill-conditioned", 0.1))
        run = Run(**{**base.__dict__, **overrides, "changed": bool(overrides)})
        points = trajectory(name, run, args.seed)
        png = plot_trajectory(points, run, _describe(name, run, "\n"), Path(args.out) / f"{name}.png")
        x1, x2 = points[-1]
        print(f"{name}: epoch {run.steps}, x1: {x1:f}, x2: {x2:f}  ({_describe(name, run)}) -> {png}")
        paths[name] = points
    return paths
