"""Computer vision, one file per book section: image augmentation (the CIFAR-10 ResNet-18), fine-tuning, anchor
boxes and single shot multibox detection (TinySSD), transposed convolution and the fully convolutional network,
neural style transfer."""

# ruff: noqa: I001  (imported in the book's order: importing a file registers its networks in zoo.list_models())
from . import augmentation  # noqa: F401  (registers the CIFAR-10 ResNet-18, a zoo.ResNet)
from .finetune import FineTuneResNet
from .anchors import multibox_detection, multibox_prior, multibox_target
from .ssd import TinySSD
from .fcn import FCN, bilinear_kernel, trans_conv
from .style_transfer import StyleTransfer, gram

__all__ = [
    "FCN",
    "FineTuneResNet",
    "StyleTransfer",
    "TinySSD",
    "bilinear_kernel",
    "gram",
    "multibox_detection",
    "multibox_prior",
    "multibox_target",
    "trans_conv",
]
