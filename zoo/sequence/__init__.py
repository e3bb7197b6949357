"""Sequence models: autoregression on a sine wave, and recurrent language models."""

from .autoregression import SineMLP
from .language_model import LanguageModel
from .rnn_lm import RNNLM

__all__ = ["RNNLM", "LanguageModel", "SineMLP"]
