"""Weight decay (book section "Weight Decay"): linear regression with 200 inputs and only 20
training examples overfits unless the squared norm of w is penalised.

``impl="scratch"`` adds the penalty ``lambd * ||w||^2 / 2`` to the loss by hand (:func:`l2_penalty`);
``impl="concise"`` hands ``lambd`` to the optimiser as ``weight_decay`` on the weight only, not the
bias, as the book does. Both log ``train/loss`` and ``val/loss`` without the penalty, and ``l2_norm``
(= ||w||) after every training epoch.
"""

from __future__ import annotations

import torch

from ..core.registry import Book, register_model
from .regression import LinearRegression

# --- scratch piece -------------------------------------------------------------------------------


def l2_penalty(w: torch.Tensor) -> torch.Tensor:
    """Scratch: ||w||^2 / 2."""
    return (w**2).sum() / 2


# --- the model -----------------------------------------------------------------------------------


class WeightDecay(LinearRegression):
    """y = Xw + b with an L2 penalty of strength `lambd` on w; w starts at N(0, 1), as in the book.

    Args:
        num_inputs: input features (200 in the book).
        lambd: penalty strength (the book compares 0 and 3).
        impl: ``scratch`` (penalty in the loss, squared loss / 2) or ``concise`` (optimiser weight decay
            on the weight, ``MSELoss``), each as the book writes it.
        lr: learning rate (0.003 in the book).
    """

    def __init__(
        self, num_inputs: int = 200, lambd: float = 0.0, impl: str = "scratch", lr: float = 0.003, **kwargs
    ) -> None:
        if lambd < 0:
            raise ValueError(f"lambd must be non-negative, got {lambd}")
        if kwargs.get("weight_decay"):
            raise ValueError("WeightDecay decays w only: give the strength as lambd, not weight_decay")
        if kwargs.get("init", "normal") != "normal":
            raise ValueError("WeightDecay starts every weight at N(0, 1), as the book does: it takes no init")
        super().__init__(num_inputs=num_inputs, impl=impl, lr=lr, **kwargs)
        self.lambd = lambd
        with torch.no_grad():  # the book: w ~ N(0, 1); b = 0 (scratch) or N(0, 1) (concise: every parameter)
            for param in self.parameters():
                param.normal_()
            if impl == "scratch":
                self.b.zero_()

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        X, y = batch
        loss = self.loss(self(X), y)
        self.log_mean("train/loss", loss, len(y))
        if self.impl == "scratch":
            return loss + self.lambd * l2_penalty(self.w)
        return loss

    def parameter_groups(self) -> list:
        """Concise: the optimizer decays the weight by `lambd` and leaves the bias alone."""
        if self.impl == "scratch":
            return super().parameter_groups()
        return [{"params": [self.net.weight], "weight_decay": self.lambd}, {"params": [self.net.bias]}]

    def l2_norm(self) -> torch.Tensor:
        """||w||, the figure the book prints after training."""
        return self.get_w_b()[0].norm()

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if batch_idx == self.trainer.num_training_batches - 1:  # after the epoch's last step, so the
            self.log("l2_norm", self.l2_norm(), on_step=False, on_epoch=True)  # epoch summary prints it

    def on_fit_end(self) -> None:
        self.print(f"L2 norm of w: {self.l2_norm().item():.4f}")


register_model(
    "weight_decay",
    WeightDecay,
    network="Weight decay (200 inputs, 20 training examples)",
    book=Book(v1="3.7 Weight Decay", v017="4.5 Weight Decay"),
    configs=["linear/weight_decay.yaml"],
    data="SyntheticRegression",
    input_shape=(200,),
    kwargs={"num_inputs": 200},
    variants={"impl": ("scratch", "concise")},
)
