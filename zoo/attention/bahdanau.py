"""Seq2seq with Bahdanau attention (book section "The Bahdanau Attention Mechanism"): instead of one fixed
context, every decoding step attends over all the encoder's outputs, with the decoder's current top-layer state
as the query (additive attention), and feeds the attention-pooled context to the GRU with the input token.

    c_t' = sum_t alpha(s_{t'-1}, h_t) h_t

The encoder is the seq2seq one (:class:`zoo.core.encoder_decoder.Seq2SeqEncoder`); the decoder loops over
time steps in Python, as the book's, since each step's query is the previous step's state.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.encoder_decoder import RECIPE_FACTS, TRANSLATION_ENTRY, Decoder, RNNEncoderDecoder, reorder
from ..core.fused_gru import make_gru
from ..core.registry import Book, register_model
from .scoring import AdditiveAttention


class Seq2SeqAttentionDecoder(Decoder):
    """The book's attention decoder: additive attention over the encoder outputs, GRU, linear layer."""

    def __init__(
        self,
        vocab_size: int,
        embed_size: int,
        num_hiddens: int,
        num_layers: int,
        dropout: float = 0.0,
        fused: bool = False,
    ):
        super().__init__()
        self.attention = AdditiveAttention(num_hiddens, num_hiddens, num_hiddens, dropout)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = make_gru(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout, fused=fused)
        self.dense = nn.Linear(num_hiddens, vocab_size)
        self.attention_weights: torch.Tensor | None = None

    def init_state(self, enc_outputs, enc_valid_len=None):
        outputs, hidden_state = enc_outputs
        return outputs.permute(1, 0, 2), hidden_state, enc_valid_len  # (B, T, H), (L, B, H), (B,)

    def forward(self, X: torch.Tensor, state):
        enc_outputs, hidden_state, enc_valid_len = state
        outputs, weights = [], []
        for x in self.embedding(X.T):  # one time step at a time: (B, embed)
            query = hidden_state[-1].unsqueeze(1)  # (B, 1, H)
            context = self.attention(query, enc_outputs, enc_outputs, enc_valid_len)  # (B, 1, H)
            x = torch.cat((context, x.unsqueeze(1)), dim=-1)
            out, hidden_state = self.rnn(x.transpose(0, 1), hidden_state)
            outputs.append(out)
            weights.append(self.attention.attention_weights)
        self.attention_weights = torch.cat(weights, dim=1)  # (B, T_dec, T_src)
        logits = self.dense(torch.cat(outputs, dim=0)).transpose(0, 1)
        return logits, (enc_outputs, hidden_state, enc_valid_len)

    def reorder_state(self, state, index: torch.Tensor):
        enc_outputs, hidden_state, enc_valid_len = state
        return reorder(enc_outputs, index), reorder(hidden_state, index, dim=1), reorder(enc_valid_len, index)


class Bahdanau(RNNEncoderDecoder):
    """The RNN encoder-decoder with Bahdanau (additive) attention (arguments: as :class:`~zoo.rnn.seq2seq.Seq2Seq`,
    :class:`~zoo.core.encoder_decoder.RNNEncoderDecoder`)."""

    decoder_class = Seq2SeqAttentionDecoder

    def attention_maps(self) -> dict[str, tuple[torch.Tensor, str, str]]:
        return {"decoder-encoder attention": (self.decoder.attention_weights[:1].unsqueeze(0), "output", "source")}


register_model(
    "bahdanau",
    Bahdanau,
    network="Seq2seq with Bahdanau attention (English-French)",
    book=Book(
        v1=("11.3 Attention Scoring Functions", "11.4 The Bahdanau Attention Mechanism"),
        v017=("10.3 Attention Scoring Functions", "10.4 Bahdanau Attention"),
    ),
    configs=["attention/bahdanau.yaml", "attention/bahdanau_fra_full.yaml"],
    kwargs=RECIPE_FACTS,
    **TRANSLATION_ENTRY,
)
