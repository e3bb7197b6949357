"""Recurrent language models (book sections "Concise Implementation of RNNs", GRU, LSTM, deep and
bidirectional RNNs): one-hot tokens -> recurrent layers -> a linear layer to vocabulary logits.

``cell`` picks rnn, gru or lstm; ``impl`` the scratch layers of this package or ``torch.nn``'s;
``num_layers`` and ``bidirectional`` make it deep or bidirectional. A bidirectional model sees the
future when predicting the next token, so it learns nothing useful for generation: the book's
demonstration of the wrong tool for the job.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..linear import check_impl
from .deep import ScratchStack
from .language_model import LanguageModel

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RNNLM(LanguageModel):
    """A character- or word-level language model on a recurrent network.

    Args:
        cell: ``rnn``, ``gru`` or ``lstm``.
        impl: ``scratch`` (hand-written layers, N(0, 0.01) weights) or ``concise`` (``torch.nn``).
        num_hiddens: hidden units per layer and direction.
        num_layers: stacked recurrent layers.
        bidirectional: add a backward direction to every layer.
        (the rest: see :class:`~zoo.sequence.language_model.LanguageModel`)
    """

    def __init__(
        self,
        cell: str = "gru",
        impl: str = "concise",
        num_hiddens: int = 256,
        num_layers: int = 1,
        bidirectional: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {cell!r}")
        if num_hiddens < 1 or num_layers < 1:
            raise ValueError("num_hiddens and num_layers must be positive")
        self.cell, self.impl = cell, check_impl(impl)
        self.num_hiddens, self.num_layers = num_hiddens, num_layers
        self.num_directions = 2 if bidirectional else 1
        self.build_if_vocab()

    def build(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        H, L, bidirectional = self.num_hiddens, self.num_layers, self.num_directions == 2
        if self.impl == "scratch":
            self.rnn = ScratchStack(self.cell, vocab_size, H, L, bidirectional)
        else:
            self.rnn = CELLS[self.cell](vocab_size, H, num_layers=L, bidirectional=bidirectional)
        self.linear = nn.Linear(H * self.num_directions, vocab_size)
        if self.impl == "scratch":  # the book's scratch output layer: W_hq ~ N(0, 0.01), b_q = 0
            nn.init.normal_(self.linear.weight, std=0.01)
            nn.init.zeros_(self.linear.bias)

    def forward(self, X: torch.Tensor, state=None):
        inputs = F.one_hot(X.T, self.vocab_size).float()  # (steps, batch, vocab)
        outputs, state = self.rnn(inputs, state)
        return self.linear(outputs).transpose(0, 1), state

    def begin_state(self, batch_size: int):
        zeros = torch.zeros(self.num_layers * self.num_directions, batch_size, self.num_hiddens, device=self.device)
        return (zeros, zeros.clone()) if self.cell == "lstm" else zeros
