"""Predicting house prices on Kaggle (book section "Predicting House Prices on Kaggle").

The book's model is linear regression on the preprocessed features (``get_net``), trained with squared
loss on the prices themselves and judged by the log-RMSE Kaggle scores: relative errors count, not
absolute ones. ``num_hiddens=[...]`` adds ReLU hidden layers, as the book's exercises suggest.
``log_target=True`` fits log prices instead (the d2l 1.0 edition's variant).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchmetrics import MeanSquaredError

from ..core.base import Regressor
from ..core.checks import check_choice
from ..core.init import INIT_SCHEMES, init_weights
from ..core.registry import Book, register_model


def get_net(in_features: int, num_hiddens: Sequence[int] = ()) -> nn.Sequential:
    """The book's ``nn.Sequential(nn.Linear(in_features, 1))``, with optional ReLU hidden layers."""
    widths = [in_features, *num_hiddens]
    layers: list[nn.Module] = []
    for i, o in zip(widths, widths[1:]):
        layers += [nn.Linear(i, o), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 1))


def log_rmse(preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The book's ``log_rmse``: clamp predicted prices to >= 1, then the RMSE of their logs against the labels'."""
    clipped_preds = torch.clamp(preds, 1, float("inf"))
    return torch.sqrt(nn.functional.mse_loss(torch.log(clipped_preds), torch.log(labels.reshape(preds.shape))))


class LogRMSE(MeanSquaredError):
    """:func:`log_rmse` accumulated over batches (exact over the whole set, DDP-aware)."""

    def __init__(self) -> None:
        super().__init__(squared=False)

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        super().update(torch.log(torch.clamp(preds, min=1)), torch.log(target.reshape(preds.shape)))


class HousePriceRegression(Regressor):
    """Linear regression (or an MLP) on house features, with the book's log-RMSE.

    Args:
        num_inputs: feature columns after preprocessing (331 for the book's); None: the data module's, once it
            has read its files (saved in the hyperparameters, so checkpoints rebuild the model alone).
        num_hiddens: widths of ReLU hidden layers; ``[]`` is the book's linear model.
        log_target: fit log prices (the network outputs a log price); False fits prices, as the book.
        init: ``default`` (PyTorch's, as the book), ``normal`` or ``xavier``.
        lr, optimizer, weight_decay: the book's recipe is Adam, lr 5, weight decay 0.

    Logs ``train/loss`` (squared loss on the training target), ``train/log_rmse`` (the whole training set with
    the weights at the end of each epoch, as the book's ``train``), ``val/loss``, ``val/log_rmse``.
    ``predict`` returns prices and writes Kaggle's ``submission.csv`` (Id, SalePrice).
    """

    def __init__(
        self,
        num_inputs: int | None = None,
        num_hiddens: list[int] = [],  # noqa: B006
        log_target: bool = False,
        init: str = "default",
        lr: float = 5.0,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(lr=lr, optimizer=optimizer, weight_decay=weight_decay, **kwargs)
        if any(h < 1 for h in num_hiddens):
            raise ValueError(f"num_hiddens must be positive widths, got {num_hiddens}")
        if num_inputs is not None and num_inputs < 1:
            raise ValueError(f"num_inputs must be positive or None, got {num_inputs}")
        check_choice("init", init, INIT_SCHEMES)
        self.log_target = log_target
        self.net: nn.Sequential | None = None
        if num_inputs is not None:
            self.build()
        self.train_log_rmse, self.val_log_rmse, self.test_log_rmse = LogRMSE(), LogRMSE(), LogRMSE()

    def build(self) -> None:
        """The layers, once ``num_inputs`` is known (given, or the data module's: see :mod:`zoo.core.links`)."""
        self.net = init_weights(get_net(self.hparams.num_inputs, self.hparams.num_hiddens), self.hparams.init)

    def configure_model(self) -> None:
        super().configure_model()
        if self.net is None:
            raise ValueError("HousePriceRegression needs num_inputs: give it, or train on a data module that has it")

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.net is None:
            raise RuntimeError("num_inputs is unknown until training starts: give num_inputs or train on a data module")
        return self.net(X)

    def price(self, y_hat: torch.Tensor) -> torch.Tensor:
        """The network's output as a price."""
        return torch.exp(y_hat) if self.log_target else y_hat

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return super().loss(y_hat, torch.log(y) if self.log_target else y)

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        y_hat = self(x)
        loss = self.loss(y_hat, y)
        self.log_mean(f"{stage}/loss", loss, len(y))
        if stage != "train":
            metric = self.val_log_rmse if stage == "val" else self.test_log_rmse
            self.log_epoch(f"{stage}/log_rmse", metric, self.price(y_hat.detach()), y)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        """After the epoch's last step, the book's train log-RMSE: every training row, the epoch's final weights."""
        if batch_idx != self.trainer.num_training_batches - 1:
            return
        was_training = self.training
        self.eval()
        loader = self.trainer.train_dataloader  # re-read in this process: never disturb the epoch's own workers
        if loader.batch_size is None:
            rows = DataLoader(loader.dataset, batch_sampler=loader.batch_sampler, collate_fn=loader.collate_fn)
        else:
            rows = DataLoader(loader.dataset, loader.batch_size, sampler=loader.sampler, collate_fn=loader.collate_fn)
        with torch.no_grad():
            for x, y in rows:
                x, y = x.to(self.device), y.to(self.device)
                self.train_log_rmse.update(self.price(self(x)), y)
        self.train(was_training)
        value = self.train_log_rmse.compute()
        self.train_log_rmse.reset()
        self.log("train/log_rmse", value, on_step=False, on_epoch=True, prog_bar=True, batch_size=1)

    def predict_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self.price(self(batch[0])).reshape(-1).cpu()

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """Kaggle's ``submission.csv``: the test houses' ``Id`` (the data module's ``test_ids``) and ``SalePrice``."""
        preds = torch.cat(outputs).double().numpy()
        ids = getattr(datamodule, "test_ids", None)
        if ids is None:  # a data module without Kaggle Ids: number the rows
            ids = list(range(len(preds)))
        if len(ids) != len(preds):
            raise ValueError(f"{len(preds)} predictions but the data module lists {len(ids)} test Ids")
        path = out_dir / "submission.csv"
        pd.DataFrame({"Id": ids, "SalePrice": preds}).to_csv(path, index=False)
        print(f"priced {len(preds)} houses (median predicted price {float(pd.Series(preds).median()):,.0f})")
        return [path]


register_model(
    "house_prices",
    HousePriceRegression,
    network="House prices (linear, log-RMSE, K-fold)",
    book=Book(v1="5.7 Predicting House Prices on Kaggle", v017="4.10 Predicting House Prices on Kaggle"),
    configs=["mlp/kaggle_house.yaml"],
    data="KaggleHouse",
    input_shape=(331,),
    kwargs={"num_inputs": 331},  # the book's preprocessing of the Kaggle data gives 331 feature columns
)
