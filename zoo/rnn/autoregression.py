"""Autoregressive prediction of a sequence from its last `tau` values (book section "Working with
Sequences"): an MLP tau-10-1, and what happens when its own predictions feed it (k-step-ahead).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..core.base import Regressor
from ..core.init import init_weights
from ..core.registry import Book, register_model

K_STEPS = (1, 4, 16, 64)


class SineMLP(Regressor):
    """The book's MLP: tau inputs -> 10 ReLU -> 1, Xavier init, squared loss, Adam lr 0.01.

    Args:
        tau: how many past values predict the next (on the command line: the data module's ``tau``).
        num_hiddens: hidden units.
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``xavier``.
        lr, optimizer: the book's recipe is Adam with lr 0.01.
    """

    def __init__(
        self, tau: int = 4, num_hiddens: int = 10, init: str = "xavier", lr: float = 0.01, optimizer: str = "adam",
        **kwargs,
    ) -> None:  # fmt: skip
        super().__init__(lr=lr, optimizer=optimizer, **kwargs)
        self.tau = tau
        self.net = init_weights(nn.Sequential(nn.Linear(tau, num_hiddens), nn.ReLU(), nn.Linear(num_hiddens, 1)), init)

    @torch.no_grad()
    def multistep(self, x: torch.Tensor, n_known: int) -> torch.Tensor:
        """Predict x[n_known:] feeding each prediction back in (only x[:n_known] is observed)."""
        preds = x.clone()
        for i in range(n_known, len(x)):
            preds[i] = self(preds[i - self.tau : i].reshape(1, -1)).squeeze()
        return preds

    @torch.no_grad()
    def k_step(self, x: torch.Tensor, max_steps: int = max(K_STEPS)) -> torch.Tensor:
        """Column tau+k-1 holds the k-step-ahead prediction for every start (book: ``features`` there)."""
        T, tau = len(x), self.tau
        features = torch.zeros(T - tau - max_steps + 1, tau + max_steps, device=x.device)
        for i in range(tau):
            features[:, i] = x[i : i + T - tau - max_steps + 1]
        for i in range(tau, tau + max_steps):
            features[:, i] = self(features[:, i - tau : i]).reshape(-1)
        return features

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        """One-step, multistep and k-step-ahead predictions over the whole series: the data module's predict
        batch holds the series ``x``, every example's ``features`` and ``n_train``, the examples trained on."""
        x, n_train = batch["x"][0], int(batch["n_train"][0])
        onestep = self(batch["features"][0]).reshape(-1)
        return {
            "x": x.cpu(),
            "onestep": onestep.cpu(),
            "multistep": self.multistep(x, n_train + self.tau).cpu(),
            "k_step": self.k_step(x).cpu(),
            "n_train": n_train,
        }

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = outputs[0]
        x, tau, n_known = out["x"], self.tau, out["n_train"] + self.tau
        time = torch.arange(1, len(x) + 1)
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6))
        top.plot(time, x, label="data", lw=1)
        top.plot(time[tau:], out["onestep"], label="1-step preds", lw=1)
        top.plot(time[n_known:], out["multistep"][n_known:], label="multistep preds", lw=1)
        top.set(xlabel="time", ylabel="x", title=f"one-step vs multistep (observed up to t={n_known})")
        top.legend()
        steps = out["k_step"]
        for k in K_STEPS:
            bottom.plot(
                time[tau + k - 1 : tau + k - 1 + len(steps)], steps[:, tau + k - 1], label=f"{k}-step preds", lw=1
            )
        bottom.set(xlabel="time", ylabel="x", title="k-step-ahead predictions")
        bottom.legend()
        fig.tight_layout()
        path = out_dir / "sine_predictions.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        mse = {
            k: float(((steps[:, tau + k - 1] - x[tau + k - 1 : tau + k - 1 + len(steps)]) ** 2).mean()) for k in K_STEPS
        }
        print("k-step-ahead mean squared error: " + ", ".join(f"k={k}: {v:.4f}" for k, v in mse.items()))
        return [path]


register_model(
    "sine_mlp",
    SineMLP,
    network="Sine autoregression (MLP 4-10-1, k-step-ahead prediction)",
    book=Book(v1="9.1 Working with Sequences", v017="8.1 Sequence Models"),
    configs=["rnn/sine.yaml"],
    data="SineSequence",
    input_shape=(4,),
)
