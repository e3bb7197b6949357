"""The shared machinery every network stands on: base modules, the language-model and encoder-decoder bases,
the data-to-model links, optimizers, initialisation, argument checks, callbacks, checkpoints, plots, K-fold and
the registry.

The detector base, ``zoo.core.detection.Detector``, is not imported here: it uses the vision chapter's anchor
boxes, so ``zoo/__init__`` imports it after ``zoo.vision`` (``zoo.Detector``)."""

from .base import BinaryClassifier, Classifier, Regressor, ZooModule
from .callbacks import Compile, EpochSummary, PredictionWriter
from .encoder_decoder import EncoderDecoder
from .fused_gru import FusedGRU
from .language_model import LanguageModel
from .optimizers import OPTIMIZERS, SCHEDULERS
from .registry import Book, ModelEntry, get_model, list_models, register_model

__all__ = [
    "OPTIMIZERS",
    "SCHEDULERS",
    "BinaryClassifier",
    "Book",
    "Classifier",
    "Compile",
    "EncoderDecoder",
    "EpochSummary",
    "FusedGRU",
    "LanguageModel",
    "ModelEntry",
    "PredictionWriter",
    "Regressor",
    "ZooModule",
    "get_model",
    "list_models",
    "register_model",
]
