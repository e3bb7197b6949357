"""Text data sets: The Time Machine (bundled) for language models, English-French pairs for translation."""

from .timemachine import LanguageModelBatches, TimeMachine, clean_lines, preprocess
from .translation import Translation, preprocess_nmt

__all__ = ["LanguageModelBatches", "TimeMachine", "Translation", "clean_lines", "preprocess", "preprocess_nmt"]
