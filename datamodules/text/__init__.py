"""Text data sets: The Time Machine (bundled) for language models, English-French pairs for translation,
WikiText-2 for pretraining BERT."""

from .timemachine import LanguageModelBatches, TimeMachine, clean_lines, preprocess
from .translation import Translation, preprocess_nmt
from .wikitext import WikiText2

__all__ = [
    "LanguageModelBatches",
    "TimeMachine",
    "Translation",
    "WikiText2",
    "clean_lines",
    "preprocess",
    "preprocess_nmt",
]
