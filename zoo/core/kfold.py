"""K-fold cross-validation from the command line (the book's ``k_fold``, section "Predicting House Prices on Kaggle").

``python cli.py kfold --config configs/mlp/kaggle_house.yaml [--k 5] [--metric log_rmse] [any fit flag]`` fits the
same configuration once per fold (``--data.num_folds K --data.fold i``; the data module must take both),
prints each fold's final train and validation figures and their means, like the book::

    fold 1, train log_rmse 0.170009, valid log_rmse 0.156790
    ...
    5-fold validation: avg train log_rmse 0.165458, avg valid log_rmse 0.170293
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

USAGE = "usage: cli.py kfold --config CONFIG [--k K] [--metric NAME] [fit flags ...]"


def _pop_option(argv: list[str], name: str, default: str) -> tuple[str, list[str]]:
    """Remove ``--name VALUE`` / ``--name=VALUE`` from `argv`; return the value (last wins) and the rest."""
    value, rest, i = default, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == f"--{name}":
            if i + 1 >= len(argv):
                raise SystemExit(f"error: --{name} needs a value\n{USAGE}")
            value, i = argv[i + 1], i + 2
            continue
        if arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return value, rest


def run_kfold(fit: Callable[[list[str]], dict[str, float]], argv: Sequence[str]) -> dict:
    """Run ``fit`` once per fold with the ``fit`` arguments `argv` plus the fold's; return the figures.

    `fit` takes ``fit`` command-line arguments and returns the final logged metrics (``cli.py`` passes its
    own). Returns ``{"k", "metric", "train", "valid", "train_mean", "valid_mean"}``, where ``train`` and
    ``valid`` list each fold's last-epoch ``train/<metric>`` and ``val/<metric>``.
    """
    if "-h" in argv or "--help" in argv:
        raise SystemExit(__doc__.strip().split("\n\n")[1] + "\n" + USAGE)
    k_text, argv = _pop_option(list(argv), "k", "5")
    metric, argv = _pop_option(argv, "metric", "log_rmse")
    try:
        k = int(k_text)
    except ValueError:
        raise SystemExit(f"error: --k must be an integer, got {k_text!r}\n{USAGE}") from None
    if k < 2:
        raise SystemExit(f"error: --k must be at least 2, got {k}\n{USAGE}")
    if argv and argv[0] in ("fit", "validate", "test", "predict"):
        raise SystemExit(f"error: kfold runs `fit` itself; drop {argv[0]!r}\n{USAGE}")

    train, valid = [], []
    for i in range(k):
        metrics = fit([*argv, "--data.num_folds", str(k), "--data.fold", str(i)])
        missing = [f"{s}/{metric}" for s in ("train", "val") if f"{s}/{metric}" not in metrics]
        if missing:
            raise SystemExit(f"error: the model logged no {missing}; pick a logged metric with --metric")
        train.append(float(metrics[f"train/{metric}"]))
        valid.append(float(metrics[f"val/{metric}"]))
        print(f"fold {i + 1}, train {metric} {train[-1]:f}, valid {metric} {valid[-1]:f}", flush=True)
    result = {
        "k": k,
        "metric": metric,
        "train": train,
        "valid": valid,
        "train_mean": statistics.fmean(train),
        "valid_mean": statistics.fmean(valid),
    }
    lines = [f"fold {i + 1}, train {metric} {t:f}, valid {metric} {v:f}" for i, (t, v) in enumerate(zip(train, valid))]
    mean = f"avg train {metric} {result['train_mean']:f}, avg valid {metric} {result['valid_mean']:f}"
    print("\n".join([*lines, f"{k}-fold validation: {mean}"]))
    return result
