"""Positional encoding (book section "Self-Attention and Positional Encoding"): self-attention ignores order,
so the Transformer adds to the token at position i a fixed vector of sines and cosines of falling frequency,

    P[i, 2j] = sin(i / 10000^(2j/d)),   P[i, 2j+1] = cos(i / 10000^(2j/d)).
"""

from __future__ import annotations

import torch
from torch import nn


def sinusoidal_positions(max_len: int, num_hiddens: int) -> torch.Tensor:
    """The book's matrix P, (max_len, num_hiddens)."""
    P = torch.zeros(max_len, num_hiddens)
    X = torch.arange(max_len, dtype=torch.float32).reshape(-1, 1) / torch.pow(
        10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens
    )
    P[:, 0::2] = torch.sin(X)
    P[:, 1::2] = torch.cos(X[:, : num_hiddens // 2])
    return P


class PositionalEncoding(nn.Module):
    """Adds P to X (B, T, d) (from position `offset` on: a decoder fed one token at a time), then dropout."""

    def __init__(self, num_hiddens: int, dropout: float = 0.0, max_len: int = 1000) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("P", sinusoidal_positions(max_len, num_hiddens).unsqueeze(0), persistent=False)

    def forward(self, X: torch.Tensor, offset: int = 0) -> torch.Tensor:
        if offset + X.shape[1] > self.P.shape[1]:
            raise ValueError(f"positions up to {offset + X.shape[1]}, but the encoding was made for {self.P.shape[1]}")
        return self.dropout(X + self.P[:, offset : offset + X.shape[1]])
