"""Sequence-to-sequence learning with recurrent networks (book sections "Machine Translation and the Dataset",
"The Encoder-Decoder Architecture", "Sequence-to-Sequence Learning" and "Beam Search"): a GRU encoder reads the
English sentence; its final state starts a GRU decoder, which also takes the encoder's last top-layer state
(the context) with every input token, and writes the French one.

The encoder is :class:`zoo.core.encoder_decoder.Seq2SeqEncoder` (the Bahdanau network uses it too); the loss,
teacher forcing, decoding and BLEU live in :class:`~zoo.core.encoder_decoder.EncoderDecoder`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.encoder_decoder import RECIPE_FACTS, TRANSLATION_ENTRY, Decoder, RNNEncoderDecoder, reorder
from ..core.fused_gru import make_gru
from ..core.registry import Book, register_model


class Seq2SeqDecoder(Decoder):
    """The book's RNN decoder: embedding and context in, GRU, a linear layer to the vocabulary.

    The context is the encoder's last top-layer state, kept in the decoder state, as the 1.0 edition does
    (0.17's takes the decoder's own current top-layer state, which is the same while training but drifts when
    decoding one token at a time).
    """

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
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = make_gru(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout, fused=fused)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, enc_valid_len=None):
        outputs, hidden_state = enc_outputs
        return outputs[-1], hidden_state  # context (B, H), state (L, B, H)

    def forward(self, X: torch.Tensor, state):
        context, hidden_state = state
        embs = self.embedding(X.T)  # (T, B, embed)
        context_steps = context.unsqueeze(0).expand(embs.shape[0], -1, -1)
        outputs, hidden_state = self.rnn(torch.cat((embs, context_steps), dim=2), hidden_state)
        return self.dense(outputs).transpose(0, 1), (context, hidden_state)

    def reorder_state(self, state, index: torch.Tensor):
        context, hidden_state = state
        return context.index_select(0, index), reorder(hidden_state, index, dim=1)


class Seq2Seq(RNNEncoderDecoder):
    """The RNN encoder-decoder for machine translation: a GRU encoder, and a GRU decoder that reads the encoder's
    last state as its context at every step (arguments: :class:`~zoo.core.encoder_decoder.RNNEncoderDecoder`)."""

    decoder_class = Seq2SeqDecoder


register_model(
    "seq2seq",
    Seq2Seq,
    network="Seq2seq: GRU encoder-decoder (English-French)",
    book=Book(
        v1=(
            "10.5 Machine Translation and the Dataset",
            "10.6 The Encoder--Decoder Architecture",
            "10.7 Sequence-to-Sequence Learning for Machine Translation",
            "10.8 Beam Search",
        ),
        v017=(
            "9.5 Machine Translation and the Dataset",
            "9.6 Encoder-Decoder Architecture",
            "9.7 Sequence to Sequence Learning",
            "9.8 Beam Search",
        ),
    ),
    configs=["rnn/seq2seq.yaml"],
    kwargs=RECIPE_FACTS,
    **TRANSLATION_ENTRY,
)
