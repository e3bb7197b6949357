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

from ..core.checks import check_choice, check_impl, check_positive
from ..core.fused_gru import FusedGRU, make_gru
from ..core.init import INIT_SCHEMES, init_weights
from ..core.language_model import LanguageModel
from ..core.registry import Book, register_model
from .deep import ScratchStack

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RNNLM(LanguageModel):
    """A character- or word-level language model on a recurrent network.

    Args:
        cell: ``rnn``, ``gru`` or ``lstm``.
        impl: ``scratch`` (hand-written layers, N(0, 0.01) weights) or ``concise`` (``torch.nn``).
        num_hiddens: hidden units per layer and direction.
        num_layers: stacked recurrent layers.
        bidirectional: add a backward direction to every layer.
        init: weight initialisation of the output layer and ``torch.nn``'s recurrent layers (:mod:`zoo.core.init`);
            None: the book's, ``normal`` for scratch (the scratch cells draw N(0, 0.01) themselves), ``default``
            (PyTorch's) for concise.
        fused: a speed switch for concise GRUs: :class:`~zoo.core.fused_gru.FusedGRU`, ``nn.GRU`` with its CPU
            path as one autograd function a layer (the same parameters, checkpoints and results; bf16 products
            under ``bf16-mixed``); on a GPU it is ``nn.GRU`` itself, and other cells and scratch layers ignore it.
        (the rest: see :class:`~zoo.core.language_model.LanguageModel`)
    """

    def __init__(
        self,
        cell: str = "gru",
        impl: str = "concise",
        num_hiddens: int = 256,
        num_layers: int = 1,
        bidirectional: bool = False,
        init: str | None = None,
        fused: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        check_positive(num_hiddens=num_hiddens, num_layers=num_layers)
        self.cell, self.impl = check_choice("cell", cell, tuple(CELLS)), check_impl(impl)
        self.num_hiddens, self.num_layers = num_hiddens, num_layers
        self.num_directions = 2 if bidirectional else 1
        self.init = init or ("normal" if impl == "scratch" else "default")
        check_choice("init", self.init, INIT_SCHEMES)
        self.fused = fused
        if self.hparams.vocab:
            self.build()

    def build_network(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        H, L, bidirectional = self.num_hiddens, self.num_layers, self.num_directions == 2
        if self.impl == "scratch":
            self.rnn = ScratchStack(self.cell, vocab_size, H, L, bidirectional)
        else:
            if self.cell == "gru":
                rnn = make_gru(vocab_size, H, num_layers=L, bidirectional=bidirectional, fused=self.fused)
            else:
                rnn = CELLS[self.cell](vocab_size, H, num_layers=L, bidirectional=bidirectional)
            self.rnn = init_weights(rnn, self.init)
        self.linear = init_weights(nn.Linear(H * self.num_directions, vocab_size), self.init)

    def forward(self, X: torch.Tensor, state=None):
        # (steps, batch, vocab) one-hot codes; FusedGRU, the CPU speed switch, takes the indices for them
        inputs = X.T if isinstance(self.rnn, FusedGRU) else F.one_hot(X.T, self.vocab_size).float()
        outputs, state = self.rnn(inputs, state)
        return self.linear(outputs).transpose(0, 1), state

    def begin_state(self, batch_size: int):
        zeros = torch.zeros(self.num_layers * self.num_directions, batch_size, self.num_hiddens, device=self.device)
        return (zeros, zeros.clone()) if self.cell == "lstm" else zeros


_LM = {"data": "TimeMachine", "input_shape": (35,), "input_dtype": "long"}
register_model(
    "rnn_lm",
    RNNLM,
    network="RNN language model",
    book=Book(
        v1=(
            "9.5 Recurrent Neural Network Implementation from Scratch",
            "9.6 Concise Implementation of Recurrent Neural Networks",
        ),
        v017=(
            "8.5 Implementation of Recurrent Neural Networks from Scratch",
            "8.6 Concise Implementation of Recurrent Neural Networks",
        ),
    ),
    configs=["rnn/rnn_time_machine.yaml"],
    kwargs={"cell": "rnn"},
    variants={"impl": ("scratch", "concise")},
    **_LM,
)
register_model(
    "lstm_lm",
    RNNLM,
    network="LSTM language model",
    book=Book(v1="10.1 Long Short-Term Memory (LSTM)", v017="9.2 Long Short-Term Memory (LSTM)"),
    configs=["rnn/lstm_time_machine.yaml"],
    kwargs={"cell": "lstm"},
    variants={"impl": ("scratch", "concise")},
    **_LM,
)
register_model(
    "gru_lm",
    RNNLM,
    network="GRU language model",
    book=Book(v1="10.2 Gated Recurrent Units (GRU)", v017="9.1 Gated Recurrent Units (GRU)"),
    configs=["rnn/gru_time_machine.yaml", "rnn/gru_time_machine_v1.yaml"],
    kwargs={"cell": "gru"},
    variants={"impl": ("scratch", "concise")},
    **_LM,
)
register_model(
    "deep_lstm_lm",
    RNNLM,
    network="Deep (2-layer) LSTM language model",
    book=Book(v1="10.3 Deep Recurrent Neural Networks", v017="9.3 Deep Recurrent Neural Networks"),
    configs=["rnn/deep_lstm_time_machine.yaml"],
    kwargs={"cell": "lstm", "num_layers": 2, "lr": 2.0},
    variants={"impl": ("scratch", "concise"), "cell": tuple(CELLS)},
    **_LM,
)
register_model(
    "bilstm_lm",
    RNNLM,
    network="Bidirectional LSTM language model (the wrong tool for generation)",
    book=Book(v1="10.4 Bidirectional Recurrent Neural Networks", v017="9.4 Bidirectional Recurrent Neural Networks"),
    configs=["rnn/bilstm_time_machine.yaml"],
    kwargs={"cell": "lstm", "num_layers": 2, "bidirectional": True},
    variants={"impl": ("scratch", "concise"), "cell": tuple(CELLS)},
    **_LM,
)
