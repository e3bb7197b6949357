"""The base LightningModule of the object detectors (book sections "Anchor Boxes" and "Single Shot Multibox
Detection"): what every anchor-based detector shares, so a network only defines its layers.

A detector's ``forward`` returns the book's triple ``(anchors, cls_preds, bbox_preds)``: anchors (1, a, 4) in
[0, 1] coordinates, class scores (N, a, classes + 1) with background as class 0, and box offsets (N, a * 4).
Batches are ``(images, targets)`` with targets (N, max_objects, 5): class (-1 pads), then the box in [0, 1].

Training labels the anchors (:func:`~zoo.vision.anchors.multibox_target`), and the loss is the book's: cross-
entropy over the anchors' classes plus L1 on the offsets of the anchors a box was assigned to. Logged per epoch:
``<stage>/loss``, the book's ``<stage>/class_err`` (the fraction of anchors given the wrong class) and
``<stage>/bbox_mae`` (the mean absolute offset error, over every anchor's four offsets, unassigned ones counting
as 0), and for validation and test the COCO mean average precision ``<stage>/map`` and ``<stage>/map_50``
(torchmetrics' ``MeanAveragePrecision``, when a COCO backend is installed: ``pip install "d2l-zoo[detection]"``).
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F
from torchmetrics import MeanAbsoluteError
from torchmetrics.classification import MulticlassAccuracy

# the vision chapter is imported before this file (zoo/__init__ imports zoo.vision, whose networks import this
# base), so this import never runs on a half-initialised package; zoo/core/__init__ must not import this file
from ..vision.anchors import multibox_detection, multibox_target
from .base import ZooModule


def map_backend() -> str | None:
    """The COCO evaluation backend torchmetrics' ``MeanAveragePrecision`` can use here, or None."""
    for module, backend in (("pycocotools", "pycocotools"), ("faster_coco_eval", "faster_coco_eval")):
        if importlib.util.find_spec(module) is not None:
            return backend
    return None


MAP_NOTE = (
    "note: mAP (val/map, test/map and their map_50) is not logged: torchmetrics' MeanAveragePrecision needs "
    'pycocotools or faster-coco-eval (pip install "d2l-zoo[detection]"); class_err and bbox_mae are logged as usual'
)


class ClassError(MulticlassAccuracy):
    """The book's class error: 1 - the accuracy of the anchors' predicted classes, over every anchor."""

    def compute(self) -> torch.Tensor:
        return 1 - super().compute()


def map_inputs(detections: list[torch.Tensor], targets: torch.Tensor, height: int, width: int):
    """Detections (one (k, 6) tensor per image: class, score, box in [0, 1]) and targets (N, max_objects, 5) as
    the lists of dicts ``MeanAveragePrecision`` takes, with boxes in pixels (so COCO's small/medium/large areas
    mean what they say)."""
    scale = torch.tensor([width, height, width, height], dtype=torch.float32, device=targets.device)
    preds = [
        {"boxes": d[:, 2:].float() * scale, "scores": d[:, 1].float(), "labels": d[:, 0].long()} for d in detections
    ]
    truth = []
    for target in targets:
        target = target[target[:, 0] >= 0]
        truth.append({"boxes": target[:, 1:].float() * scale, "labels": target[:, 0].long()})
    return preds, truth


class Detector(ZooModule):
    """Loss, the book's class error and bbox MAE, mAP, detection and drawn predictions for anchor-based detectors.

    Args:
        num_classes: object classes, background not counted (on the command line: the data's ``num_classes``).
        nms_threshold: IoU above which non-maximum suppression drops the lower-scoring box (the book: 0.5).
        pos_threshold: a detection scoring below this is background (the book: 0.01).
        score_threshold: what ``predict`` draws and writes, and :meth:`detect` returns (the book draws >= 0.9).
        max_drawn: how many images ``predict`` draws (each as a PNG); the CSV lists every image's detections.
        lr, optimizer, weight_decay, momentum: see :class:`~zoo.core.base.ZooModule`.
    """

    def __init__(
        self,
        num_classes: int = 1,
        nms_threshold: float = 0.5,
        pos_threshold: float = 0.01,
        score_threshold: float = 0.9,
        max_drawn: int = 16,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f"num_classes (object classes, background not counted) must be >= 1, got {num_classes}")
        for name, value in (("nms_threshold", nms_threshold), ("pos_threshold", pos_threshold)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {score_threshold}")
        if max_drawn < 0:
            raise ValueError(f"max_drawn must not be negative, got {max_drawn}")
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_class_err", ClassError(num_classes + 1, average="micro", validate_args=False))
            setattr(self, f"{stage}_bbox_mae", MeanAbsoluteError())
        backend = map_backend()
        self.map_enabled = backend is not None
        if self.map_enabled:
            from torchmetrics.detection import MeanAveragePrecision

            self.val_map, self.test_map = (MeanAveragePrecision(box_format="xyxy", backend=backend) for _ in "vt")
            for metric in (self.val_map, self.test_map):  # COCO scores each image's 100 best; say nothing of the rest
                metric.warn_on_many_detections = False
        self._map_note_shown = False

    # --- loss ----------------------------------------------------------------------------------------

    def anchor_loss(self, cls_preds, cls_labels, bbox_preds, bbox_labels, bbox_masks) -> torch.Tensor:
        """The book's ``calc_loss``, averaged over the batch: cross-entropy over every anchor's class plus L1 on
        the masked offsets (each image has the same number of anchors, so the per-image means average exactly)."""
        cls = F.cross_entropy(cls_preds.reshape(-1, cls_preds.shape[-1]), cls_labels.reshape(-1))
        bbox = F.l1_loss(bbox_preds * bbox_masks, bbox_labels * bbox_masks)
        return cls + bbox

    def loss(self, outputs: tuple, targets: torch.Tensor) -> torch.Tensor:
        """The loss of the network's `outputs` ``(anchors, cls_preds, bbox_preds)`` for ground truth `targets`."""
        anchors, cls_preds, bbox_preds = outputs
        bbox_labels, bbox_masks, cls_labels = multibox_target(anchors, targets)
        return self.anchor_loss(cls_preds, cls_labels, bbox_preds, bbox_labels, bbox_masks)

    # --- detection -----------------------------------------------------------------------------------

    def detections(self, outputs: tuple) -> torch.Tensor:
        """The book's ``predict``: softmax over the classes, decoding, NMS; (N, a, 6) rows as
        :func:`~zoo.vision.anchors.multibox_detection` returns them (class -1: background or suppressed), with
        the boxes clipped to the image (the book leaves them as decoded; anchors near the edges reach past it)."""
        anchors, cls_preds, bbox_preds = outputs
        cls_probs = F.softmax(cls_preds.float(), dim=2).permute(0, 2, 1)
        hp = self.hparams
        out = multibox_detection(cls_probs, bbox_preds.float(), anchors.float(), hp.nms_threshold, hp.pos_threshold)
        out[..., 2:] = out[..., 2:].clamp(0, 1)
        return out

    @staticmethod
    def kept(detections: torch.Tensor, score_threshold: float = 0.0) -> list[torch.Tensor]:
        """Per image, the detected objects (k, 6) scoring at least `score_threshold`, best first."""
        return [d[(d[:, 0] >= 0) & (d[:, 1] >= score_threshold)] for d in detections]

    @torch.no_grad()
    def detect(self, images: torch.Tensor, score_threshold: float | None = None) -> list[torch.Tensor]:
        """Detect objects in `images` (N, 3, H, W, as the data module feeds them); per image a (k, 6) tensor of
        ``(class, score, xmin, ymin, xmax, ymax)`` in [0, 1] coordinates, best first, scoring at least
        `score_threshold` (default: the model's ``score_threshold``)."""
        was_training = self.training
        self.eval()
        try:
            threshold = self.hparams.score_threshold if score_threshold is None else score_threshold
            return self.kept(self.detections(self(images)), threshold)
        finally:
            self.train(was_training)

    # --- steps ---------------------------------------------------------------------------------------

    def _step(self, batch, stage: str) -> torch.Tensor:
        images, targets = batch
        outputs = self(images)
        anchors, cls_preds, bbox_preds = outputs
        bbox_labels, bbox_masks, cls_labels = multibox_target(anchors, targets)
        loss = self.anchor_loss(cls_preds, cls_labels, bbox_preds, bbox_labels, bbox_masks)
        self.log_mean(f"{stage}/loss", loss, len(images))
        class_err, bbox_mae = getattr(self, f"{stage}_class_err"), getattr(self, f"{stage}_bbox_mae")
        self.log_epoch(
            f"{stage}/class_err", class_err, cls_preds.detach().reshape(-1, cls_preds.shape[-1]), cls_labels.reshape(-1)
        )
        masked_preds, masked_labels = (bbox_preds.detach() * bbox_masks).float(), (bbox_labels * bbox_masks).float()
        self.log_epoch(f"{stage}/bbox_mae", bbox_mae, masked_preds, masked_labels)
        if stage != "train" and self.map_enabled:
            detected = self.kept(self.detections(tuple(o.detach() for o in outputs)))
            getattr(self, f"{stage}_map").update(*map_inputs(detected, targets, *images.shape[-2:]))
        return loss

    def _log_map(self, stage: str) -> None:
        if not self.map_enabled:
            return
        metric = getattr(self, f"{stage}_map")
        results = metric.compute()
        self.log(f"{stage}/map", results["map"].to(self.device), prog_bar=True)
        self.log(f"{stage}/map_50", results["map_50"].to(self.device))
        metric.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_map("val")

    def on_test_epoch_end(self) -> None:
        self._log_map("test")

    def _note_map(self) -> None:
        """Say once, at the start, that mAP is not logged without a COCO backend (not an error)."""
        if not self.map_enabled and not self._map_note_shown:
            self._map_note_shown = True
            self.print(MAP_NOTE)

    def on_fit_start(self) -> None:
        self._note_map()

    def on_validation_start(self) -> None:
        self._note_map()

    def on_test_start(self) -> None:
        self._note_map()

    # --- predictions ---------------------------------------------------------------------------------

    def on_predict_epoch_start(self) -> None:
        self._predicted = 0

    def predict_step(self, batch, batch_idx: int) -> dict:
        """The detections scoring at least ``score_threshold`` per image (and the first ``max_drawn`` images and
        the ground truth, when the batch has it, for the figures)."""
        images = batch[0] if isinstance(batch, (list, tuple)) else batch
        detected = self.detect(images)
        out = {"detections": [d.cpu() for d in detected], "size": tuple(images.shape[-2:])}
        start = getattr(self, "_predicted", 0)
        self._predicted = start + len(images)
        drawn = max(0, min(len(images), self.hparams.max_drawn - start))
        if drawn:
            out["images"] = images[:drawn].float().cpu()
        if isinstance(batch, (list, tuple)) and len(batch) > 1:
            out["targets"] = batch[1].cpu()
        return out

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """``detections.csv`` (image, class, name, score, box in pixels) for every image and one PNG per drawn
        image in ``detections/`` (the book's figure: detections scoring at least ``score_threshold`` in white with
        their scores, the ground truth, when known, dashed)."""
        from .plotting import save_detections

        names = list(getattr(datamodule, "classes", []) or [])
        image_names = list(getattr(datamodule, "image_names", []) or [])

        def class_name(c: int) -> str:
            return names[c] if c < len(names) else str(c)

        per_image = []  # (name, detections in pixels, image or None, ground-truth boxes in pixels or None)
        for out in outputs:
            height, width = out["size"]
            scale = torch.tensor([width, height, width, height], dtype=torch.float32)
            for i, detected in enumerate(out["detections"]):
                index = len(per_image)
                name = image_names[index] if index < len(image_names) else str(index)
                pixels = torch.cat([detected[:, :2], detected[:, 2:] * scale], dim=1)
                image = out["images"][i] if "images" in out and i < len(out["images"]) else None
                truth = None
                if out.get("targets") is not None:
                    target = out["targets"][i]
                    truth = target[target[:, 0] >= 0][:, 1:] * scale
                per_image.append((name, pixels, image, truth))

        csv_path = out_dir / "detections.csv"
        with open(csv_path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["image", "class", "class_name", "score", "xmin", "ymin", "xmax", "ymax"])
            for name, pixels, _, _ in per_image:
                for c, score, *box in pixels.tolist():
                    writer.writerow([name, int(c), class_name(int(c)), f"{score:.4f}", *(f"{v:.1f}" for v in box)])
        figures = []
        for name, pixels, image, truth in per_image:
            if image is None:
                continue
            prefix = (lambda c: class_name(int(c)) + " ") if len(names) > 1 else (lambda c: "")
            labels = [f"{prefix(c)}{score:.2f}" for c, score in pixels[:, :2].tolist()]
            path = out_dir / "detections" / f"{Path(name).stem}.png"
            figures.append(save_detections(image, pixels[:, 2:], labels, path, truth))
        count = sum(len(pixels) for _, pixels, _, _ in per_image)
        print(f"{count} detections scoring >= {self.hparams.score_threshold} in {len(per_image)} images")
        return [csv_path, *figures]
