"""Synthetic regression data (book section "Synthetic Regression Data"): y = Xw + b + noise.

The same generator serves the section "Weight Decay": 200 inputs, w = 0.01 * ones, b = 0.05,
20 training and 100 test examples (``w: 0.01, num_inputs: 200``).
"""

from __future__ import annotations

import torch

from ..base import DataModule
from ..batching import TensorBatches


class SyntheticRegression(DataModule):
    """Features X ~ N(0, 1), labels y = Xw + b + N(0, noise^2); the same draw for the same `seed`.

    The true `w` and `b` are kept so a trained model can report how close it came.

    Args:
        w: the true weights, or one number repeated `num_inputs` times.
        b: the true bias.
        noise: standard deviation of the label noise.
        num_train: training examples.
        num_val: validation (test) examples.
        seed: seed of the draw.
        num_inputs: input dimension; needed when `w` is one number, else it must equal ``len(w)``.
        batch_size, num_workers: see :class:`~datamodules.base.DataModule`.
    """

    def __init__(
        self,
        w: list[float] | float = [2.0, -3.4],  # noqa: B006  (plain lists keep the CLI and checkpoints simple)
        b: float = 4.2,
        noise: float = 0.01,
        num_train: int = 1000,
        num_val: int = 1000,
        seed: int = 0,
        num_inputs: int | None = None,
        batch_size: int = 32,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        if num_train < 1 or num_val < 1:
            raise ValueError("num_train and num_val must be positive")
        if isinstance(w, (int, float)):
            if num_inputs is None or num_inputs < 1:
                raise ValueError(f"w={w} is one number: give num_inputs (a positive int), got {num_inputs}")
            weights = [float(w)] * num_inputs
        else:
            if num_inputs is not None and num_inputs != len(w):
                raise ValueError(f"num_inputs={num_inputs} but w has {len(w)} values")
            weights = list(w)
        # Record the resolved num_inputs (not None): loggers require it to equal the model's num_inputs.
        self.save_hyperparameters({"num_inputs": len(weights)})  # also in hparams_initial, which loggers log
        self.w, self.b = torch.tensor(weights, dtype=torch.float32), float(b)
        generator = torch.Generator().manual_seed(seed)
        X = torch.randn(num_train + num_val, len(weights), generator=generator)
        y = X @ self.w.reshape(-1, 1) + b + noise * torch.randn(num_train + num_val, 1, generator=generator)
        self.train_set = TensorBatches(X[:num_train], y[:num_train])
        self.val_set = self.test_set = TensorBatches(X[num_train:], y[num_train:])

    @property
    def num_inputs(self) -> int:
        return len(self.w)

    def fit_report(self, model) -> str | None:
        """How far the model's estimate (``model.get_w_b()``) is from the true w and b, as the book prints it."""
        if not hasattr(model, "get_w_b"):
            return None
        w, b = (t.detach().cpu() for t in model.get_w_b())
        w_err = [round(v, 4) for v in (self.w - w.reshape(self.w.shape)).tolist()]
        return f"error in w: {w_err}, error in b: {self.b - b.item():.4f}"
