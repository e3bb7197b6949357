"""Attention scoring functions (book section "Attention Scoring Functions"): the masked softmax, additive
attention and scaled dot-product attention, each keeping its last ``attention_weights`` for the book's heatmaps.

    additive:     a(q, k) = w_v^T tanh(W_q q + W_k k)
    dot product:  a(q, k) = q^T k / sqrt(d)

Queries (B, Q, d_q), keys (B, K, d_k), values (B, K, d_v); ``valid_lens`` (B,) or (B, Q) says how many keys
each query may attend to (the rest are padding).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def masked_softmax(X: torch.Tensor, valid_lens: torch.Tensor | None) -> torch.Tensor:
    """Softmax over the last axis of X (B, Q, K) with the keys at positions >= `valid_lens` masked out: the
    book's, which sets their scores to -1e6 (so exp gives 0; a row with no valid key comes out uniform)."""
    if valid_lens is None:
        return nn.functional.softmax(X, dim=-1)
    if valid_lens.dim() == 1:
        valid_lens = valid_lens[:, None]  # every query of a sequence: the same number of keys
    mask = torch.arange(X.shape[-1], device=X.device) < valid_lens[..., None]
    return nn.functional.softmax(X.masked_fill(~mask, -1e6), dim=-1)


class AdditiveAttention(nn.Module):
    """Additive attention: queries and keys of different sizes, scored by a one-hidden-layer network."""

    def __init__(self, key_size: int, query_size: int, num_hiddens: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.attention_weights: torch.Tensor | None = None

    def forward(self, queries, keys, values, valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        queries, keys = self.W_q(queries), self.W_k(keys)
        # (B, Q, 1, h) + (B, 1, K, h): every query with every key, by broadcasting
        features = torch.tanh(queries.unsqueeze(2) + keys.unsqueeze(1))
        scores = self.w_v(features).squeeze(-1)  # (B, Q, K)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class DotProductAttention(nn.Module):
    """Scaled dot-product attention: queries and keys of the same size d, scores q^T k / sqrt(d)."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.attention_weights: torch.Tensor | None = None

    def forward(self, queries, keys, values, valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(queries.shape[-1])
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)
