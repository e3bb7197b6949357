"""Attention pooling: Nadaraya-Watson kernel regression (book sections "Queries, Keys, and Values", "Attention
Pooling by Similarity" (1.0) / "Attention Cues", "Attention Pooling: Nadaraya-Watson Kernel Regression" (0.17)).

A prediction is a weighted average of the training targets (values), weighted by a Gaussian kernel of the
distance between the query and each training input (key), normalised with a softmax:

    f(x) = sum_i softmax_i(-((x - x_i) w)^2 / 2) y_i

``w = 1`` is the non-parametric estimator; the 0.17 edition learns w (the kernel's inverse width) by SGD on the
squared error, the training pairs attending over the others. ``predict`` draws the book's two figures: the
predictions against the truth, and the attention weights of every test input over the sorted training inputs.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..core.base import Regressor
from ..core.registry import Book, register_model


class NWKernelRegression(nn.Module):
    """The book's parametric attention pooling; `w` starts U(0, 1) as the book's, or at `w_init`."""

    def __init__(self, w_init: float | None = None) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.rand(1) if w_init is None else torch.tensor([float(w_init)]))
        self.attention_weights: torch.Tensor | None = None

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """queries (N,), keys and values (N, K) -> (N,) predictions."""
        queries = queries.reshape(-1, 1).expand(-1, keys.shape[1])
        self.attention_weights = nn.functional.softmax(-(((queries - keys) * self.w) ** 2) / 2, dim=1)
        return torch.bmm(self.attention_weights.unsqueeze(1), values.unsqueeze(-1)).reshape(-1)


class NadarayaWatson(Regressor):
    """Nadaraya-Watson kernel regression as a trainable network (a batch: queries, keys, values, targets).

    Args:
        w_init: w's starting value; None: U(0, 1), as the book. ``cli.py predict --model NadarayaWatson
            --model.w_init 1 --data KernelRegressionData`` draws the untrained (non-parametric) estimator.
        lr: learning rate (the book: SGD, 0.5).
        (the rest: see :class:`~zoo.core.base.ZooModule`)

    The loss is the squared error summed over the queries, as the book's ``l.sum().backward()``.
    """

    def __init__(self, w_init: float | None = None, lr: float = 0.5, **kwargs) -> None:
        super().__init__(lr=lr, **kwargs)
        self.net = NWKernelRegression(w_init)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        return self.net(queries, keys, values)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((y_hat - y) ** 2).sum()

    def _step(self, batch, stage: str) -> torch.Tensor:
        queries, keys, values, y = batch
        loss = self.loss(self(queries, keys, values), y)
        self.log_mean(f"{stage}/loss", loss, len(queries))
        return loss

    def predict_step(self, batch, batch_idx: int) -> dict:
        queries, keys, values, y = batch
        y_hat = self(queries, keys, values)
        return {
            "x": queries.cpu(), "y_hat": y_hat.cpu(), "y": y.cpu(), "attention": self.net.attention_weights.cpu(),
            "x_train": keys[0].cpu(), "y_train": values[0].cpu(),
        }  # fmt: skip

    def on_fit_end(self) -> None:
        self.print(f"learned w: {self.net.w.item():.4f}")

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """``kernel_regression.png`` (truth, predictions, training pairs) and ``attention_weights.png`` (the
        attention of each sorted test input over the sorted training inputs), the book's two figures."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..core.plotting import save_heatmaps

        out = outputs[0]
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        ax.plot(out["x"], out["y"], label="Truth")
        ax.plot(out["x"], out["y_hat"], "m--", label="Pred")
        ax.plot(out["x_train"], out["y_train"], "o", alpha=0.5)
        ax.set(xlabel="x", ylabel="y", xlim=(0, 5), ylim=(-1, 5), title=f"w = {self.net.w.item():.3f}")
        ax.legend()
        fig.tight_layout()
        plot = out_dir / "kernel_regression.png"
        fig.savefig(plot, dpi=100)
        plt.close(fig)
        heatmap = save_heatmaps(
            out["attention"][None, None], out_dir / "attention_weights.png", title="attention weights",
            xlabel="Sorted training inputs", ylabel="Sorted testing inputs", cmap="Reds",
        )  # fmt: skip
        mse = float(((out["y_hat"] - out["y"]) ** 2).mean())
        print(f"w = {self.net.w.item():.4f}; mean squared error against the noise-free truth: {mse:.4f}")
        return [plot, heatmap]


register_model(
    "nadaraya_watson",
    NadarayaWatson,
    network="Nadaraya-Watson kernel regression (attention pooling, learned kernel width)",
    book=Book(
        v1=("11.1 Queries, Keys, and Values", "11.2 Attention Pooling by Similarity"),
        v017=("10.1 Attention Cues", "10.2 Attention Pooling: Nadaraya-Watson Kernel Regression"),
    ),
    configs=["attention/nadaraya_watson.yaml"],
    data="KernelRegressionData",
    input_shape=(),
)
