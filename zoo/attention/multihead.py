"""Multi-head attention (book section "Multi-Head Attention"): h heads of scaled dot-product attention, each
on its own learned projections of the queries, keys and values, concatenated and projected once more.

    head_i = attention(W_q^(i) q, W_k^(i) k, W_v^(i) v),   output = W_o [head_1; ...; head_h]

``impl="scratch"``: the book's, the h heads computed as one batched dot-product attention by reshaping
(``transpose_qkv``). ``impl="concise"``: ``torch.nn.MultiheadAttention`` behind the same call; tests prove the
two compute the same function on copied weights. Both keep ``attention_weights`` (B, h, Q, K) when not training.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.checks import check_impl
from .scoring import DotProductAttention


def transpose_qkv(X: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, n, num_hiddens) -> (B * num_heads, n, num_hiddens / num_heads): the heads side by side in the batch."""
    X = X.reshape(X.shape[0], X.shape[1], num_heads, -1).permute(0, 2, 1, 3)
    return X.reshape(-1, X.shape[2], X.shape[3])


def transpose_output(X: torch.Tensor, num_heads: int) -> torch.Tensor:
    """The inverse of :func:`transpose_qkv`: (B * num_heads, n, d) -> (B, n, num_heads * d)."""
    X = X.reshape(-1, num_heads, X.shape[1], X.shape[2]).permute(0, 2, 1, 3)
    return X.reshape(X.shape[0], X.shape[1], -1)


class MultiHeadAttention(nn.Module):
    """Scratch: the book's multi-head attention over :class:`~zoo.attention.scoring.DotProductAttention`."""

    def __init__(
        self,
        key_size: int,
        query_size: int,
        value_size: int,
        num_hiddens: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = False,
    ) -> None:
        super().__init__()
        if num_hiddens % num_heads:
            raise ValueError(f"num_hiddens ({num_hiddens}) must be a multiple of num_heads ({num_heads})")
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=bias)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=bias)
        self.W_v = nn.Linear(value_size, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

    def forward(self, queries, keys, values, valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        queries = transpose_qkv(self.W_q(queries), self.num_heads)
        keys = transpose_qkv(self.W_k(keys), self.num_heads)
        values = transpose_qkv(self.W_v(values), self.num_heads)
        if valid_lens is not None:  # each sequence's lengths, once per head
            valid_lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
        output = self.attention(queries, keys, values, valid_lens)  # (B * h, Q, d / h)
        return self.W_o(transpose_output(output, self.num_heads))

    @property
    def attention_weights(self) -> torch.Tensor | None:
        weights = self.attention.attention_weights
        return None if weights is None else weights.reshape(-1, self.num_heads, *weights.shape[1:])


def key_mask(valid_lens: torch.Tensor | None, num_queries: int, num_keys: int) -> torch.Tensor | None:
    """Boolean (B, Q, K) mask, True where a query may not look (keys at positions >= its valid length)."""
    if valid_lens is None:
        return None
    if valid_lens.dim() == 1:
        valid_lens = valid_lens[:, None].expand(-1, num_queries)
    return torch.arange(num_keys, device=valid_lens.device) >= valid_lens[..., None]


class ConciseMultiHeadAttention(nn.Module):
    """Concise: ``nn.MultiheadAttention`` (batch first) called as the scratch layer is.

    The valid lengths become its ``attn_mask``; the query/key/value projections start Xavier-uniform each, as
    the book's three ``nn.Linear`` layers do under ``train_seq2seq``'s initialisation (PyTorch's own draws the
    three as one matrix). A row with no valid key is NaN here, uniform in the scratch layer; sequences always
    hold at least ``<eos>``.
    """

    def __init__(
        self,
        key_size: int,
        query_size: int,
        value_size: int,
        num_hiddens: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = False,
    ) -> None:
        super().__init__()
        if query_size != num_hiddens:
            raise ValueError(f"nn.MultiheadAttention needs query_size == num_hiddens, got {query_size}, {num_hiddens}")
        self.num_heads = num_heads
        self.attention = nn.MultiheadAttention(
            num_hiddens, num_heads, dropout=dropout, bias=bias, kdim=key_size, vdim=value_size, batch_first=True
        )
        self.attention_weights: torch.Tensor | None = None
        with torch.no_grad():
            if self.attention.in_proj_weight is not None:
                for block in self.attention.in_proj_weight.chunk(3):
                    nn.init.xavier_uniform_(block)
            else:
                for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                    nn.init.xavier_uniform_(getattr(self.attention, name))

    def forward(self, queries, keys, values, valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        mask = key_mask(valid_lens, queries.shape[1], keys.shape[1])
        if mask is not None:
            mask = torch.repeat_interleave(mask, self.num_heads, dim=0)  # (B * h, Q, K), batch-major as the book's
        keep = not self.training
        output, weights = self.attention(
            queries, keys, values, attn_mask=mask, need_weights=keep, average_attn_weights=False
        )
        self.attention_weights = weights
        return output


def multi_head_attention(impl: str, *args, **kwargs) -> nn.Module:
    """The scratch (:class:`MultiHeadAttention`) or concise (:class:`ConciseMultiHeadAttention`) layer."""
    return (MultiHeadAttention if check_impl(impl) == "scratch" else ConciseMultiHeadAttention)(*args, **kwargs)
