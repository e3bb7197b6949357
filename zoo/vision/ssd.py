"""Single shot multibox detection (book section "Single Shot Multibox Detection"): TinySSD, the book's five-scale
SSD, on the banana detection data.

A base network of three down-sampling blocks (3 -> 16 -> 32 -> 64 channels, 256 -> 32 pixels), then one more
down-sampling block to 128 channels, two more at 128, and a global max-pool: five feature maps (32, 16, 8, 4 and
1 pixels across at 256x256). At each, anchors of the scale's sizes and ratios sit on every pixel, and a 3x3
convolution predicts each anchor's class and another its box offsets. Loss, metrics and prediction output are
the detector base's (:class:`~zoo.core.detection.Detector`).
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.detection import Detector
from ..core.registry import Book, register_model
from .anchors import multibox_prior

# the book's anchors: sizes grow from 0.2 to 0.88 over the five scales (with sqrt(s_i * s_{i+1}) as the second),
# and every scale takes the ratios 1, 2 and 0.5: 2 + 3 - 1 = 4 anchors per pixel
SIZES = [[0.2, 0.272], [0.37, 0.447], [0.54, 0.619], [0.71, 0.79], [0.88, 0.961]]
RATIOS = [[1, 2, 0.5]] * 5
NUM_SCALES = 5

# --- the prediction layers ---------------------------------------------------------------------------


def cls_predictor(num_inputs: int, num_anchors: int, num_classes: int) -> nn.Conv2d:
    """A 3x3 convolution giving each of a pixel's anchors num_classes + 1 class scores (background first)."""
    return nn.Conv2d(num_inputs, num_anchors * (num_classes + 1), kernel_size=3, padding=1)


def bbox_predictor(num_inputs: int, num_anchors: int) -> nn.Conv2d:
    """A 3x3 convolution giving each of a pixel's anchors its four offsets."""
    return nn.Conv2d(num_inputs, num_anchors * 4, kernel_size=3, padding=1)


def flatten_pred(pred: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) -> (N, h * w * C), channels last, so a pixel's predictions stay together."""
    return torch.flatten(pred.permute(0, 2, 3, 1), start_dim=1)


def concat_preds(preds: list[torch.Tensor]) -> torch.Tensor:
    """The predictions of every scale, flattened and joined: (N, sum of h * w * C)."""
    return torch.cat([flatten_pred(p) for p in preds], dim=1)


# --- the network -------------------------------------------------------------------------------------


def down_sample_blk(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 convolutions with batch norm and ReLU, then a 2x2 max-pool: half the height and width."""
    blk = []
    for _ in range(2):
        blk += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU()]
        in_channels = out_channels
    blk.append(nn.MaxPool2d(2))
    return nn.Sequential(*blk)


def base_net() -> nn.Sequential:
    """Three down-sampling blocks, 3 -> 16 -> 32 -> 64 channels: 256x256 images -> 32x32 feature maps."""
    num_filters = [3, 16, 32, 64]
    return nn.Sequential(*(down_sample_blk(num_filters[i], num_filters[i + 1]) for i in range(len(num_filters) - 1)))


def get_blk(i: int) -> nn.Module:
    """The block that makes scale i's feature map: the base network, 64 -> 128, 128 -> 128 twice, a global max-pool."""
    if i == 0:
        return base_net()
    if i == 1:
        return down_sample_blk(64, 128)
    if i == 4:
        return nn.AdaptiveMaxPool2d((1, 1))
    return down_sample_blk(128, 128)


IN_CHANNELS = [64, 128, 128, 128, 128]  # channels of the five feature maps


def _check_anchor_shapes(sizes: list[list[float]], ratios: list[list[float]]) -> None:
    for name, values in (("sizes", sizes), ("ratios", ratios)):
        if len(values) != NUM_SCALES or any(len(v) < 1 or min(v) <= 0 for v in values):
            raise ValueError(
                f"{name} must be {NUM_SCALES} non-empty lists of positive numbers (one a scale), got {values}"
            )


class TinySSD(Detector):
    """The book's TinySSD: five scales, each with its anchors and class and box predictors.

    Args:
        num_classes: object classes (the banana set: 1); each anchor also scores background.
        sizes: the anchor sizes of each of the five scales (fractions of the image's side).
        ratios: the anchor width/height ratios of each scale; a scale has len(sizes) + len(ratios) - 1 anchors
            per pixel.
        lr, weight_decay: SGD's (the book: 0.2 and 5e-4).
        nms_threshold, pos_threshold, score_threshold, max_drawn, optimizer, momentum: see
            :class:`~zoo.core.detection.Detector`.

    ``forward`` returns ``(anchors, cls_preds, bbox_preds)``: (1, a, 4), (N, a, num_classes + 1), (N, a * 4);
    a = 5444 anchors at 256x256.
    """

    def __init__(
        self,
        num_classes: int = 1,
        sizes: list[list[float]] = SIZES,  # noqa: B006  (plain lists, saved as hyperparameters)
        ratios: list[list[float]] = RATIOS,  # noqa: B006
        lr: float = 0.2,
        weight_decay: float = 5e-4,
        **kwargs,
    ) -> None:
        _check_anchor_shapes(sizes, ratios)
        super().__init__(num_classes=num_classes, lr=lr, weight_decay=weight_decay, **kwargs)
        self.sizes, self.ratios = [list(s) for s in sizes], [list(r) for r in ratios]
        num_anchors = [len(s) + len(r) - 1 for s, r in zip(self.sizes, self.ratios)]
        self.blks = nn.ModuleList(get_blk(i) for i in range(NUM_SCALES))
        self.cls = nn.ModuleList(cls_predictor(c, n, num_classes) for c, n in zip(IN_CHANNELS, num_anchors))
        self.bbox = nn.ModuleList(bbox_predictor(c, n) for c, n in zip(IN_CHANNELS, num_anchors))

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        anchors, cls_preds, bbox_preds = [], [], []
        for blk, cls, bbox, size, ratio in zip(self.blks, self.cls, self.bbox, self.sizes, self.ratios):
            X = blk(X)  # the book's blk_forward: this scale's feature map, its anchors and predictions
            anchors.append(multibox_prior(X, sizes=size, ratios=ratio))
            cls_preds.append(cls(X))
            bbox_preds.append(bbox(X))
        cls_preds = concat_preds(cls_preds)
        cls_preds = cls_preds.reshape(cls_preds.shape[0], -1, self.hparams.num_classes + 1)
        return torch.cat(anchors, dim=1), cls_preds, concat_preds(bbox_preds)


register_model(
    "tiny_ssd",
    TinySSD,
    network="TinySSD (single-shot multibox detection, 5 scales, 4 anchors per pixel)",
    book=Book(v1="14.7 Single Shot Multibox Detection", v017="13.7 Single Shot Multibox Detection"),
    configs=["vision/tinyssd.yaml"],
    data="Bananas",
    input_shape=(3, 256, 256),
)
