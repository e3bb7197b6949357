"""Text data sets: The Time Machine (bundled) for language models."""

from .timemachine import LanguageModelBatches, TimeMachine, clean_lines, preprocess

__all__ = ["LanguageModelBatches", "TimeMachine", "clean_lines", "preprocess"]
