"""The Transformer (book section "The Transformer Architecture"): an encoder of self-attention blocks and a
decoder of blocks with masked self-attention, encoder-decoder attention and a position-wise feed-forward
network, each sublayer wrapped in a residual connection and layer normalisation (AddNorm). Token embeddings are
scaled by sqrt(d) and added to the positional encoding.

Decoding one token at a time, each decoder block keeps the inputs it has seen (its self-attention's keys and
values, the book's cache). Two things differ from the book's code, neither while training: the decoder masks
attention to later positions whenever it reads several at once, not only in training mode (the book's sees
the future in evaluation mode, which makes its validation loss meaningless), and a token decoded at step t
gets position t's encoding (the book's adds position 0's to every decoded token).

``impl``: the multi-head attention of :mod:`zoo.attention.multihead`, the book's (``scratch``) or
``nn.MultiheadAttention`` (``concise``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..core.checks import check_dropout, check_impl, check_positive
from ..core.encoder_decoder import RECIPE_FACTS, TRANSLATION_ENTRY, Decoder, Encoder, EncoderDecoder, reorder
from ..core.registry import Book, register_model
from .multihead import multi_head_attention
from .positional import PositionalEncoding


class PositionWiseFFN(nn.Module):
    """The same two-layer MLP at every position."""

    def __init__(self, num_inputs: int, num_hiddens: int, num_outputs: int) -> None:
        super().__init__()
        self.dense1, self.relu, self.dense2 = (
            nn.Linear(num_inputs, num_hiddens),
            nn.ReLU(),
            nn.Linear(num_hiddens, num_outputs),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(nn.Module):
    """Residual connection, then layer normalisation: LayerNorm(X + dropout(Y))."""

    def __init__(self, num_hiddens: int, dropout: float) -> None:
        super().__init__()
        self.dropout, self.ln = nn.Dropout(dropout), nn.LayerNorm(num_hiddens)

    def forward(self, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        return self.ln(self.dropout(Y) + X)


class TransformerEncoderBlock(nn.Module):
    """Self-attention and the FFN, each under AddNorm. `use_bias`: biases in the attention's projections (the
    book's ``use_bias``: off in the Transformer, on in BERT's encoder)."""

    def __init__(
        self, num_hiddens: int, ffn_num_hiddens: int, num_heads: int, dropout: float, impl: str, use_bias: bool = False
    ) -> None:
        super().__init__()
        H = num_hiddens
        self.attention = multi_head_attention(impl, H, H, H, H, num_heads, dropout, bias=use_bias)
        self.addnorm1 = AddNorm(H, dropout)
        self.ffn = PositionWiseFFN(H, ffn_num_hiddens, H)
        self.addnorm2 = AddNorm(H, dropout)

    def forward(self, X: torch.Tensor, valid_lens: torch.Tensor | None) -> torch.Tensor:
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


class TransformerEncoder(Encoder):
    """Embedding (scaled by sqrt(d)) plus positional encoding, then `num_blocks` encoder blocks."""

    def __init__(self, vocab_size: int, num_hiddens: int, ffn_num_hiddens: int, num_heads: int, num_blocks: int,
                 dropout: float, impl: str) -> None:  # fmt: skip
        super().__init__()
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blocks = nn.ModuleList(
            TransformerEncoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, impl) for _ in range(num_blocks)
        )

    def forward(self, X: torch.Tensor, valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
        for block in self.blocks:
            X = block(X, valid_lens)
        return X

    @property
    def attention_weights(self) -> list[torch.Tensor | None]:
        return [block.attention.attention_weights for block in self.blocks]


class TransformerDecoderBlock(nn.Module):
    """Masked self-attention over the decoder's inputs so far, attention over the encoder's outputs, the FFN."""

    def __init__(self, num_hiddens: int, ffn_num_hiddens: int, num_heads: int, dropout: float, impl: str) -> None:
        super().__init__()
        H = num_hiddens
        self.attention1 = multi_head_attention(impl, H, H, H, H, num_heads, dropout)
        self.addnorm1 = AddNorm(H, dropout)
        self.attention2 = multi_head_attention(impl, H, H, H, H, num_heads, dropout)
        self.addnorm2 = AddNorm(H, dropout)
        self.ffn = PositionWiseFFN(H, ffn_num_hiddens, H)
        self.addnorm3 = AddNorm(H, dropout)

    def forward(self, X: torch.Tensor, enc_outputs, enc_valid_lens, cache: torch.Tensor | None):
        """X (B, T, d), the encoder's outputs and valid lengths, and this block's inputs of earlier steps (None
        at the start); returns the block's output and its inputs so far (the next step's cache)."""
        key_values = X if cache is None else torch.cat((cache, X), dim=1)
        B, T = X.shape[:2]
        seen = key_values.shape[1] - T  # tokens before X
        # query i (position seen + i) may look at keys 0 .. seen + i: causal, whether training or not
        dec_valid_lens = torch.arange(seen + 1, seen + T + 1, device=X.device).expand(B, T)
        Y = self.addnorm1(X, self.attention1(X, key_values, key_values, dec_valid_lens))
        Z = self.addnorm2(Y, self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens))
        return self.addnorm3(Z, self.ffn(Z)), key_values


class TransformerDecoder(Decoder):
    """Embedding plus positional encoding (from the number of tokens decoded so far), `num_blocks` decoder
    blocks, a linear layer to the vocabulary. State: encoder outputs, their valid lengths, each block's cache."""

    def __init__(self, vocab_size: int, num_hiddens: int, ffn_num_hiddens: int, num_heads: int, num_blocks: int,
                 dropout: float, impl: str) -> None:  # fmt: skip
        super().__init__()
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blocks = nn.ModuleList(
            TransformerDecoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, impl) for _ in range(num_blocks)
        )
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, enc_valid_len=None):
        return enc_outputs, enc_valid_len, [None] * len(self.blocks)

    def forward(self, X: torch.Tensor, state):
        enc_outputs, enc_valid_lens, caches = state
        seen = 0 if caches[0] is None else caches[0].shape[1]
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens), offset=seen)
        new_caches = []
        for block, cache in zip(self.blocks, caches):
            X, cache = block(X, enc_outputs, enc_valid_lens, cache)
            new_caches.append(cache)
        return self.dense(X), (enc_outputs, enc_valid_lens, new_caches)

    def reorder_state(self, state, index: torch.Tensor):
        enc_outputs, enc_valid_lens, caches = state
        return reorder(enc_outputs, index), reorder(enc_valid_lens, index), reorder(caches, index)

    @property
    def attention_weights(self) -> tuple[list, list]:
        """Each block's (self-attention, encoder-decoder attention) weights, (B, h, Q, K)."""
        return (
            [block.attention1.attention_weights for block in self.blocks],
            [block.attention2.attention_weights for block in self.blocks],
        )


class Transformer(EncoderDecoder):
    """The Transformer encoder-decoder for machine translation.

    Args:
        num_hiddens: model width d (embeddings, attention, block outputs).
        num_blocks: encoder blocks and decoder blocks.
        ffn_num_hiddens: hidden units of the position-wise FFN.
        num_heads: attention heads (d must be a multiple).
        dropout: dropout on the positional encoding, attention weights and sublayer outputs.
        impl: ``scratch`` (the book's multi-head attention) or ``concise`` (``nn.MultiheadAttention``).
        (the rest: see :class:`~zoo.core.encoder_decoder.EncoderDecoder`)
    """

    def __init__(
        self,
        num_hiddens: int = 32,
        num_blocks: int = 2,
        ffn_num_hiddens: int = 64,
        num_heads: int = 4,
        dropout: float = 0.1,
        impl: str = "scratch",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        check_positive(
            num_hiddens=num_hiddens, num_blocks=num_blocks, ffn_num_hiddens=ffn_num_hiddens, num_heads=num_heads
        )
        if num_hiddens % num_heads:
            raise ValueError(f"num_hiddens ({num_hiddens}) must be a multiple of num_heads ({num_heads})")
        check_dropout(dropout)
        check_impl(impl)
        self.build_if_ready()

    def build_network(self, src_vocab_size: int, tgt_vocab_size: int):
        hp = self.hparams
        sizes = (hp.num_hiddens, hp.ffn_num_hiddens, hp.num_heads, hp.num_blocks, hp.dropout, hp.impl)
        return TransformerEncoder(src_vocab_size, *sizes), TransformerDecoder(tgt_vocab_size, *sizes)

    def attention_maps(self) -> dict[str, tuple[torch.Tensor, str, str]]:
        """(blocks, heads, queries, keys) for the encoder's self-attention, the decoder's and the decoder-encoder
        attention, of the first sentence of the last forward pass."""
        decoder_self, decoder_encoder = self.decoder.attention_weights
        return {
            "encoder self-attention": (torch.stack([w[0] for w in self.encoder.attention_weights]), "source", "source"),
            "decoder self-attention": (torch.stack([w[0] for w in decoder_self]), "output", "input"),
            "decoder-encoder attention": (torch.stack([w[0] for w in decoder_encoder]), "output", "source"),
        }


register_model(
    "transformer",
    Transformer,
    network="Transformer (English-French)",
    book=Book(
        v1=(
            "11.5 Multi-Head Attention",
            "11.6 Self-Attention and Positional Encoding",
            "11.7 The Transformer Architecture",
        ),
        v017=("10.5 Multi-Head Attention", "10.6 Self-Attention and Positional Encoding", "10.7 Transformer"),
    ),
    configs=["attention/transformer.yaml", "attention/transformer_fra_full.yaml"],
    kwargs=RECIPE_FACTS,
    variants={"impl": ("scratch", "concise")},
    **TRANSLATION_ENTRY,
)
