"""Recurrent neural networks: autoregression on a sequence, then RNN, LSTM, GRU, deep and bidirectional
language models, with the scratch cells of each section, and the GRU encoder-decoder for machine translation."""

# ruff: noqa: I001  (imported in the book's order: importing a file registers its networks in zoo.list_models())
from .autoregression import SineMLP
from ..core.fused_gru import FusedGRU
from .deep import ScratchStack
from .gru import GRUScratch
from .lstm import LSTMScratch
from .rnn import RNNScratch
from .rnn_lm import RNNLM
from .seq2seq import Seq2Seq, Seq2SeqDecoder

__all__ = [
    "RNNLM",
    "FusedGRU",
    "GRUScratch",
    "LSTMScratch",
    "RNNScratch",
    "ScratchStack",
    "Seq2Seq",
    "Seq2SeqDecoder",
    "SineMLP",
]
