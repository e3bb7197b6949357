"""Attention mechanisms and Transformers: attention pooling (Nadaraya-Watson), scoring functions, Bahdanau
attention, multi-head attention, positional encoding and the Transformer."""

# ruff: noqa: I001  (imported in the book's order: importing a file registers its networks in zoo.list_models())
from .nadaraya_watson import NadarayaWatson, NWKernelRegression
from .scoring import AdditiveAttention, DotProductAttention, masked_softmax
from .bahdanau import Bahdanau, Seq2SeqAttentionDecoder
from .multihead import ConciseMultiHeadAttention, MultiHeadAttention, transpose_output, transpose_qkv
from .positional import PositionalEncoding
from .transformer import Transformer, TransformerDecoder, TransformerEncoder

__all__ = [
    "AdditiveAttention",
    "Bahdanau",
    "ConciseMultiHeadAttention",
    "DotProductAttention",
    "MultiHeadAttention",
    "NWKernelRegression",
    "NadarayaWatson",
    "PositionalEncoding",
    "Seq2SeqAttentionDecoder",
    "Transformer",
    "TransformerDecoder",
    "TransformerEncoder",
    "masked_softmax",
    "transpose_output",
    "transpose_qkv",
]
