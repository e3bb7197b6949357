"""Computer vision: anchor boxes and the book's hand-written detection pieces, then single shot multibox
detection (TinySSD), one file per book section."""

# ruff: noqa: I001  (imported in the book's order: importing a file registers its networks in zoo.list_models())
from .anchors import multibox_detection, multibox_prior, multibox_target
from .ssd import TinySSD

__all__ = ["TinySSD", "multibox_detection", "multibox_prior", "multibox_target"]
