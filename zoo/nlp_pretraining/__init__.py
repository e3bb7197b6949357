"""Natural language processing, pretraining: BERT (its encoder, the masked language model and next-sentence
prediction heads, pretraining on WikiText-2)."""

# ruff: noqa: I001  (imported in the book's order: importing a file registers its networks in zoo.list_models())
from .bert import BERT, BERTEncoder, BERTModel, MaskLM, NextSentencePred, get_tokens_and_segments

__all__ = ["BERT", "BERTEncoder", "BERTModel", "MaskLM", "NextSentencePred", "get_tokens_and_segments"]
