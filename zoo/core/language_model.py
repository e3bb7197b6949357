"""The base of every language model (book sections "Language Models" and "RNNs from Scratch":
perplexity, hidden state across minibatches, gradient clipping, prediction).

A concrete model defines :meth:`build_network` (its layers, once the vocabulary size is known),
:meth:`forward` (token indices -> logits and new state) and :meth:`begin_state`, and ends its
``__init__`` with ``if self.hparams.vocab: self.build()``.

The vocabulary is a hyperparameter (``vocab``, the token list), so ``load_from_checkpoint`` and
``cli.py predict --ckpt_path X`` need no data. On the command line it comes from the data module
(``zoo.core.links``); a model built without one takes it from its data module when training starts.
Gradient clipping is the Trainer's job: ``trainer.gradient_clip_val: 1`` in the configs.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torchmetrics.text import Perplexity

from datamodules.vocab import TOKEN_TYPES, Vocab, detokenize, tokenize

from .base import ZooModule


def detach_state(state):
    """Cut the graph behind a hidden state (a tensor or a tuple of tensors) between minibatches."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class LossPerplexity(Perplexity):
    """torchmetrics' ``Perplexity`` (its states, ``exp`` of their ratio, their sums across processes) updated with a
    batch's mean cross-entropy and its token count, the loss the step has already computed. ``Perplexity``'s own update
    takes the logits and computes their softmax a second time: a quarter of a millisecond of the 0.17 GRU's
    16-millisecond step on a 2-core CPU, for the same number."""

    def update(self, loss: torch.Tensor, count: int) -> None:
        self.total_log_probs += loss.detach().float() * count
        self.count += count


class LanguageModel(ZooModule):
    """Next-token prediction with perplexity, truncated BPTT across sequential batches, and generation.

    Args:
        vocab: the vocabulary's tokens (index order); None: the data module's.
        token_type: ``char`` or ``word``, how `prefix` is split and output joined; None: the data module's
            ``token``.
        carry_state: carry the hidden state from one training batch to the next (truncated backpropagation
            through time); None: when the data module's batches continue each other (sequential partitioning).
        prefix: what ``predict`` continues.
        num_preds: how many tokens ``predict`` generates.
        temperature: 0 picks the most likely token (the book's ``predict_ch8``); > 0 samples.
        lr, optimizer, weight_decay, momentum: see :class:`~zoo.core.base.ZooModule`.
    """

    throughput_unit = "tokens"

    def __init__(
        self,
        vocab: list | None = None,  # of str; typed `list[str]`, jsonargparse checks it in quadratic time
        token_type: str | None = None,
        carry_state: bool | None = None,
        prefix: str = "time traveller",
        num_preds: int = 50,
        temperature: float = 0.0,
        lr: float = 1.0,
        **kwargs,
    ) -> None:
        super().__init__(lr=lr, **kwargs)
        if token_type is not None and token_type not in TOKEN_TYPES:
            raise ValueError(f"token_type must be one of {TOKEN_TYPES}, got {token_type!r}")
        if num_preds < 0 or temperature < 0:
            raise ValueError("num_preds and temperature must not be negative")
        self.vocab: Vocab | None = None
        self.train_ppl, self.val_ppl, self.test_ppl = LossPerplexity(), LossPerplexity(), LossPerplexity()
        self._state = None

    # --- what a concrete model defines -----------------------------------------------------------

    def build_network(self, vocab_size: int) -> None:
        raise NotImplementedError

    def forward(self, X: torch.Tensor, state=None):
        """(batch, steps) token indices -> ((batch, steps, vocab) logits, new state)."""
        raise NotImplementedError

    def begin_state(self, batch_size: int):
        raise NotImplementedError

    # --- the vocabulary ------------------------------------------------------------------------------

    def build(self) -> None:
        """The vocabulary is known (given, or the data module's): make the layers for its size."""
        self.vocab = Vocab.from_tokens(self.hparams.vocab)
        self.build_network(len(self.vocab))

    def configure_model(self) -> None:
        super().configure_model()
        if self.vocab is None:
            raise ValueError(f"{type(self).__name__} needs a vocabulary: give `vocab` or train on a text data module")

    # --- training --------------------------------------------------------------------------------

    def on_train_epoch_start(self) -> None:
        self._state = None

    def _step(self, batch, stage: str) -> torch.Tensor:
        """Training carries the hidden state across batches when the data module's batches continue each other."""
        X, Y = batch
        carry_state = stage == "train" and self._carries_state()
        state = detach_state(self._state) if carry_state else None
        logits, state = self(X, state)
        if carry_state:
            self._state = state
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1))
        self.log_mean(f"{stage}/loss", loss, Y.numel())
        self.log_epoch(f"{stage}/ppl", getattr(self, f"{stage}_ppl"), loss, Y.numel())
        return loss

    def _carries_state(self) -> bool:
        return bool(self.hparams.get("carry_state"))

    # --- generation ------------------------------------------------------------------------------

    @torch.no_grad()
    def generate(
        self, prefix: str | None = None, num_preds: int | None = None, temperature: float | None = None
    ) -> str:
        """Warm up on `prefix`, then append `num_preds` tokens (book: ``predict_ch8``)."""
        if self.vocab is None:
            raise ValueError("the model has no vocabulary yet: train it or load it from a checkpoint")
        hp = self.hparams
        prefix = hp.prefix if prefix is None else prefix
        num_preds = hp.num_preds if num_preds is None else num_preds
        temperature = hp.temperature if temperature is None else temperature
        token = hp.get("token_type") or "char"
        tokens = tokenize(prefix, token)
        if not tokens:
            raise ValueError("prefix must hold at least one token")
        was_training = self.training
        self.eval()
        outputs = self.vocab[tokens]
        state = self.begin_state(1)
        logits, state = self(torch.tensor([outputs], device=self.device), state)
        for _ in range(num_preds):
            last = logits[0, -1].float()
            if temperature > 0:
                nxt = int(torch.multinomial(torch.softmax(last / temperature, dim=-1), 1))
            else:
                nxt = int(last.argmax())
            outputs.append(nxt)
            logits, state = self(torch.tensor([[nxt]], device=self.device), state)
        self.train(was_training)
        return detokenize(self.vocab.to_tokens(outputs), token)

    def on_fit_end(self) -> None:
        if self.hparams.num_preds:
            self.print(f"generated: {self.generate()!r}")

    def predict_step(self, batch, batch_idx: int) -> str:
        return self.generate()

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        text = "\n".join(outputs)
        print(text)
        path = out_dir / "generated.txt"
        path.write_text(text + "\n")
        return [path]

    # --- checkpoints -----------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        if self.vocab is None:
            raise ValueError("cannot save a language model before it has a vocabulary")
