"""The base LightningModules every network stands on (the book's ``d2l.Module`` / ``d2l.Classifier``).

A concrete network defines its layers (and, for the scratch variants, what the book builds by hand);
losses, metrics, logging, optimisers and prediction output live here, once.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn
from torchmetrics import MeanMetric, Metric
from torchmetrics.classification import BinaryAccuracy, MulticlassAccuracy

from .checkpoint import CheckpointError, class_path, read_checkpoint, resolve_class, saved_classes
from .fused_gru import cpu_has_bf16
from .links import data_arg, data_facts, init_arguments
from .optimizers import check_optimizer, check_scheduler, instantiate, make_optimizer, make_scheduler


class EpochMean(MeanMetric):
    """The weighted mean of one value per batch (a loss over `weight` examples or tokens), added up on the device.

    ``MeanMetric`` checks every update for NaNs, which waits for the device, and its ``nan_strategy="disable"``
    also drops the weights (torchmetrics issue #3434, open in 1.9): this update does neither.
    """

    def update(self, value: torch.Tensor, weight: int | torch.Tensor = 1) -> None:
        # new tensors, not in-place sums: states made under `validate`'s inference mode stay usable in `fit`
        self.mean_value = self.mean_value + value.detach().float().sum() * weight
        self.weight = self.weight + weight


class ZooModule(L.LightningModule):
    """Hyperparameters saved for checkpoints, the book's optimizers and schedules, data facts, and a throughput unit.

    Args:
        lr: learning rate.
        optimizer: the optimizer by name: torch's ``sgd``, ``adam``, ``adamw``, ``adagrad``, ``rmsprop``,
            ``adadelta``, or the book's scratch versions ``sgd-scratch``, ``momentum-scratch``, ``nesterov-scratch``,
            ``adagrad-scratch``, ``rmsprop-scratch``, ``adadelta-scratch``, ``adam-scratch``, ``yogi-scratch``
            (:mod:`zoo.optim`); the table is :data:`zoo.core.optimizers.OPTIMIZERS`.
        weight_decay: L2 penalty handed to the optimizer.
        momentum: momentum (of ``sgd``, ``rmsprop``, ``momentum-scratch``, ``nesterov-scratch``).
        optimizer_args: the optimizer's own hyperparameters, e.g. ``{"betas": [0.9, 0.99], "eps": 1e-8}``.
        lr_scheduler: a learning-rate schedule by name, stepped every epoch: ``square-root``, ``factor``,
            ``multi-factor`` or ``cosine`` (the book's, :mod:`zoo.optim.schedulers`); None keeps lr constant.
        lr_scheduler_args: the schedule's arguments, e.g. ``{"max_update": 20, "final_lr": 0.01}``.
        channels_last: keep the 4-D weights (and so the convolutions' activations) in the channels-last memory
            format, which oneDNN on CPUs and tensor cores on GPUs often run faster; whether it pays is measured per
            network (``benchmarks/vs_book.py``: LeNet on a 2-core CPU 1.5x, BN-LeNet and the course CNN slower).
            Checkpoints hold the same values and load with either setting.
    """

    throughput_unit = "examples"  # what EpochSummary counts per second: "examples" or "tokens"
    fused_optimizer = False  # torch's fused Adam/SGD (one kernel for all parameters); see make_optimizer

    def __init__(
        self,
        lr: float = 0.1,
        optimizer: str = "sgd",
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        optimizer_args: dict | None = None,
        lr_scheduler: str | None = None,
        lr_scheduler_args: dict | None = None,
        channels_last: bool = False,
    ):
        super().__init__()
        check_optimizer(optimizer, lr, optimizer_args, weight_decay=weight_decay, momentum=momentum)
        if lr_scheduler is not None:
            check_scheduler(lr_scheduler, lr_scheduler_args)
        elif lr_scheduler_args:
            raise ValueError(f"lr_scheduler_args {lr_scheduler_args} given without an lr_scheduler")
        self.save_hyperparameters()  # collects the arguments of every __init__ up the class chain
        # LightningCLI's instantiator also records data links whose target this class does not take: drop them
        accepted = init_arguments(type(self))
        for key in [k for k in self.hparams if not k.startswith("_") and k not in accepted]:
            del self._hparams[key], self._hparams_initial[key]
        self.cli_optimizers: dict = {}  # set by use_cli_optimizers: LightningCLI's --optimizer/--lr_scheduler
        self.epoch_means = nn.ModuleDict()  # the weighted means log_mean keeps, made on first use

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Most networks keep their layers in ``self.net``; the others define their own forward."""
        return self.net(X)

    # --- optimizers --------------------------------------------------------------------------------

    def parameter_groups(self) -> list:
        """What the optimizer updates: every parameter, or parameter groups with their own options."""
        return list(self.parameters())

    def use_cli_optimizers(self, optimizer: dict | None = None, lr_scheduler: dict | None = None) -> None:
        """Build the optimizer and/or schedule from LightningCLI's ``--optimizer``/``--lr_scheduler`` (each a
        ``{"class_path": ..., "init_args": ...}``) instead of this model's own; ``cli.py`` calls it.

        They are built in :meth:`configure_optimizers`, over :meth:`parameter_groups`, so they see layers built
        late and parameter groups; the checkpoint records them (``checkpoint["zoo"]``).
        """
        self.cli_optimizers = {k: v for k, v in (("optimizer", optimizer), ("lr_scheduler", lr_scheduler)) if v}

    def configure_optimizers(self):
        hp = self.hparams
        if "optimizer" in self.cli_optimizers:
            optimizer = instantiate(self.parameter_groups(), self.cli_optimizers["optimizer"])
        else:
            optimizer = make_optimizer(
                hp.optimizer,
                self.parameter_groups(),
                hp.lr,
                hp.get("optimizer_args"),
                fused=self.fused_optimizer,
                weight_decay=hp.weight_decay,
                momentum=hp.momentum,
            )
        if "lr_scheduler" in self.cli_optimizers:
            scheduler = instantiate(optimizer, self.cli_optimizers["lr_scheduler"])
        elif hp.get("lr_scheduler"):
            scheduler = make_scheduler(hp.lr_scheduler, optimizer, hp.get("lr_scheduler_args"))
        else:
            return optimizer
        schedule = {"scheduler": scheduler, "interval": "epoch"}
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            schedule["monitor"] = getattr(scheduler, "monitor", "val/loss")
        return {"optimizer": optimizer, "lr_scheduler": schedule}

    # --- what the data tells the model ----------------------------------------------------------------

    def build(self) -> None:
        """Make the layers that wait for a data fact (see :mod:`zoo.core.links`); most networks have none."""

    def configure_model(self) -> None:
        """Lightning's hook for deferred building; it runs after the data module's ``setup``.

        The one place a model reads its data module: for each fact of :data:`zoo.core.links.DATA_ARGS`
        that this model takes as an argument, a value left at None is taken from the data module and
        saved in the hyperparameters (then :meth:`build` makes the layers that waited for it), and a
        given value that contradicts the data's is an error. Idempotent, as Lightning asks (and
        ``load_from_checkpoint`` calls it too, with no trainer). Then the weights take the memory format
        `channels_last` asks for, before the strategy wraps the model and the optimizer takes its parameters.
        """
        data = self._trainer.datamodule if self._trainer is not None else None
        if data is not None:
            self._take_data_facts(data)
        if self._trainer is not None:
            warn_of_emulated_bf16(self._trainer)
        if self.hparams.get("channels_last"):
            self.to(memory_format=torch.channels_last)  # in place: the parameters stay the same objects

    def _take_data_facts(self, data: L.LightningDataModule) -> None:
        filled = False
        for name, value in data_facts(data).items():
            if name not in self.hparams:
                continue
            mine = self.hparams[name]
            if mine is None:
                self.save_hyperparameters({name: value})  # in hparams_initial too, which loggers log
                filled = True
            elif mine != value and data_arg(name).strict:
                raise ValueError(
                    f"{type(self).__name__} was built for {name}={_short(mine)} but {type(data).__name__} gives "
                    f"{_short(value)}: build the model for this data (the command line takes it from the data)"
                )
        if filled:
            self.build()

    # --- epoch metrics ---------------------------------------------------------------------------------

    def log_epoch(self, name: str, metric: Metric, *update, prog_bar: bool = True, attribute: str | None = None):
        """Update `metric` with this batch (``metric.update(*update)``); it is logged as `name`, computed over the
        epoch (on the device; across processes under DDP) and reset by Lightning at the epoch's end.

        The metric is handed to ``self.log`` once an epoch, at its first update: Lightning keeps the reference and
        computes it at the epoch's end, and a ``self.log`` call costs about a millisecond (it moves the metric to
        its device each time), more than many networks' whole step. `attribute`: the metric's attribute path in
        this module, for metrics Lightning cannot find itself.
        """
        metric.update(*update)
        if metric.update_count == 1:
            self.log(name, metric, on_step=False, on_epoch=True, prog_bar=prog_bar, metric_attribute=attribute)

    def log_mean(self, name: str, value: torch.Tensor, weight: int | torch.Tensor = 1, prog_bar: bool = True):
        """Add this batch's `value` (a mean over `weight` items: its examples, or tokens) to the epoch's weighted mean,
        logged as `name` (``train/loss``): every item counts once, whatever the batch sizes."""
        key = name.replace("/", "_")
        if key not in self.epoch_means:
            self.epoch_means[key] = EpochMean().to(value.device)
        self.log_epoch(
            name, self.epoch_means[key], value.detach(), weight, prog_bar=prog_bar, attribute=f"epoch_means.{key}"
        )

    # --- steps ------------------------------------------------------------------------------------

    def _step(self, batch, stage: str) -> torch.Tensor:
        """Loss (and metrics, logged as ``<stage>/...``) of one minibatch; stage is train, val or test."""
        raise NotImplementedError

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "test")

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, *args, **kwargs):
        """Lightning's, after checking that the checkpoint holds this network (one clear error if it holds another,
        or is not a readable checkpoint); ``zoo.ZooModule.load_from_checkpoint(path)`` builds whichever it holds."""
        if isinstance(checkpoint_path, (str, os.PathLike)):
            saved = saved_classes(read_checkpoint(checkpoint_path)).get("model")
            if saved and not issubclass(resolve_class(saved), cls):
                raise CheckpointError(
                    f"{checkpoint_path} holds a {saved}, not a {class_path(cls)}: load it with "
                    f"{saved}.load_from_checkpoint(path)"
                )
            if saved and resolve_class(saved) is not cls:  # a base class (zoo.ZooModule): build the saved network
                return resolve_class(saved).load_from_checkpoint(checkpoint_path, *args, **kwargs)
        return super().load_from_checkpoint(checkpoint_path, *args, **kwargs)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Record which classes wrote the checkpoint, so ``cli.py test --ckpt_path X`` needs nothing else."""
        data = self._trainer.datamodule if self._trainer is not None else None
        checkpoint["zoo"] = {"model": class_path(self), "data": class_path(data) if data is not None else None}
        checkpoint["zoo"].update(self.cli_optimizers)  # --optimizer / --lr_scheduler, so a resume rebuilds them

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """Turn what ``predict_step`` returned into files a person can look at; return their paths."""
        return []


def warn_of_emulated_bf16(trainer: L.Trainer) -> None:
    """A warning when bfloat16 precision runs on a CPU that emulates it (AVX2 only), many times slower than float32."""
    precision = str(trainer.precision)
    if precision.startswith("bf16") and trainer.strategy.root_device.type == "cpu" and not cpu_has_bf16():
        rank_zero_warn(
            f"precision {precision} on a CPU without AVX-512: its bfloat16 products are emulated, many times slower "
            "than float32 (a 256-unit GRU's hidden product 7x slower on an AVX2 AMD EPYC): train with precision 32"
        )


def _short(value) -> str:
    """A value for an error message: long lists (vocabularies) by their length."""
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"a list of {len(value)}"
    return repr(value)


class Classifier(ZooModule):
    """Cross-entropy, accuracy, and predictions for every classification network.

    ``forward`` returns logits (scratch softmax regression returns probabilities and overrides
    :meth:`loss`). Logs ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc``, ``test/loss``,
    ``test/acc`` per epoch.

    Args:
        num_classes: output classes (on the command line: the data module's ``num_classes``).
    """

    def __init__(self, num_classes: int = 10, **kwargs) -> None:
        super().__init__(**kwargs)
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        self.train_acc, self.val_acc, self.test_acc = (  # labels are checked by the loss: no per-step checks
            MulticlassAccuracy(num_classes, average="micro", validate_args=False) for _ in range(3)
        )

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(y_hat, y)

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        y_hat = self(x)
        loss = self.loss(y_hat, y)
        self.log_mean(f"{stage}/loss", loss, len(y))
        self.log_epoch(f"{stage}/acc", getattr(self, f"{stage}_acc"), y_hat.detach(), y)
        return loss

    def predict_step(self, batch, batch_idx: int) -> dict:
        """Class indices (and the labels and first images, for the prediction figure)."""
        x, y = batch
        out = {"preds": self(x).argmax(dim=1).cpu(), "targets": y.cpu()}
        if batch_idx == 0:
            out["images"] = x[:32].float().cpu()
        return out

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """``predictions.csv`` (index, true, predicted, names) and ``predictions.png`` (the book's figure)."""
        from .plotting import save_image_grid

        names = list(getattr(datamodule, "classes", []) or [])
        preds = torch.cat([o["preds"] for o in outputs]).tolist()
        targets = torch.cat([o["targets"] for o in outputs]).tolist()

        def name(i: int) -> str:
            return names[i] if i < len(names) else str(i)

        csv_path = out_dir / "predictions.csv"
        with open(csv_path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["index", "target", "pred", "target_name", "pred_name"])
            for i, (t, p) in enumerate(zip(targets, preds)):
                writer.writerow([i, t, p, name(t), name(p)])
        images = outputs[0]["images"]
        shown = list(zip(targets[: len(images)], preds[: len(images)]))
        titles = [f"{name(t)}\n{name(p)}" for t, p in shown]
        colors = ["black" if t == p else "red" for t, p in shown]
        png_path = save_image_grid(
            images, titles, out_dir / "predictions.png", "true / predicted (mistakes in red)", title_colors=colors
        )
        accuracy = sum(t == p for t, p in zip(targets, preds)) / max(len(targets), 1)
        print(f"predicted {len(preds)} examples, accuracy {accuracy:.4f}")
        return [csv_path, png_path]


class Regressor(ZooModule):
    """Squared loss for every regression network; logs ``train/loss``, ``val/loss``, ``test/loss``."""

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(y_hat, y)

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        loss = self.loss(self(x), y)
        self.log_mean(f"{stage}/loss", loss, len(y))
        return loss

    def predict_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self(batch[0]).cpu()


class BinaryClassifier(ZooModule):
    """Binary cross-entropy, accuracy, and 0/1 predictions for two-class networks (a yes/no per example).

    ``forward`` returns one logit per example, shape (N, 1); labels are 0/1, as floats or ints, shape (N,)
    or (N, 1). The loss is ``binary_cross_entropy_with_logits``: the companion course's sigmoid followed by
    ``BCELoss``, computed in one numerically stable step. A logit above 0 (probability above 0.5) predicts 1.
    Logs ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc``, ``test/loss``, ``test/acc`` per epoch.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.train_acc, self.val_acc, self.test_acc = (BinaryAccuracy() for _ in range(3))

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(y_hat, y.reshape(y_hat.shape).to(y_hat.dtype))

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        y_hat = self(x)
        loss = self.loss(y_hat, y)
        self.log_mean(f"{stage}/loss", loss, len(y))
        self.log_epoch(
            f"{stage}/acc", getattr(self, f"{stage}_acc"), torch.sigmoid(y_hat.detach()), y.reshape(y_hat.shape).long()
        )
        return loss

    def predict_step(self, batch, batch_idx: int) -> dict:
        """0/1 predictions and the probability of 1 (and the labels, when the batch has them)."""
        probs = torch.sigmoid(self(batch[0])).reshape(-1).cpu()
        out = {"preds": (probs > 0.5).long(), "probs": probs}
        if len(batch) > 1:
            out["targets"] = batch[1].reshape(-1).long().cpu()
        return out

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """``predictions.csv``: index, probability of 1, predicted 0/1 (and the true label, when known)."""
        preds = torch.cat([o["preds"] for o in outputs]).tolist()
        probs = torch.cat([o["probs"] for o in outputs]).tolist()
        targets = torch.cat([o["targets"] for o in outputs]).tolist() if "targets" in outputs[0] else None
        path = out_dir / "predictions.csv"
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["index", "prob", "pred", *(["target"] if targets is not None else [])])
            for i, (prob, pred) in enumerate(zip(probs, preds)):
                writer.writerow([i, f"{prob:.6f}", pred, *([targets[i]] if targets is not None else [])])
        if targets is not None:
            accuracy = sum(t == p for t, p in zip(targets, preds)) / max(len(targets), 1)
            print(f"predicted {len(preds)} examples, accuracy {accuracy:.4f}")
        return [path]
