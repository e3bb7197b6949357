"""The base LightningModule of the semantic segmentation networks (book sections "Semantic Segmentation and the
Dataset" and "Fully Convolutional Networks"): a class for every pixel.

A segmenter's ``forward`` maps images (N, 3, H, W) to class scores (N, classes, H, W). Batches are ``(images,
labels)`` with labels (N, H, W) of class indices, where ``ignore_index`` (VOC's 255: the border around objects)
marks pixels that neither the loss nor the metrics count. The loss is the book's per-pixel cross-entropy; logged
per epoch: ``<stage>/loss``, ``<stage>/acc`` (pixel accuracy, the book's "train acc" / "test acc") and
``<stage>/miou`` (mean intersection over union over the classes present, from the whole epoch's confusion
matrix, VOC's measure), both through torchmetrics.

``predict`` segments whole photos (batches ``(images, labels, sizes, photos)`` of photos padded to the largest in
the batch) and writes, per photo, its predicted label image in the class colours and a figure of photo,
prediction and truth side by side.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

from .base import ZooModule


def pascal_palette(n: int = 256) -> list[list[int]]:
    """The PASCAL VOC colour of each class index (the bits of the index spread over R, G and B from the high bit
    down): the first 21 are VOC's class colours, 255 its border colour (224, 224, 192)."""
    palette = []
    for index in range(n):
        rgb, c = [0, 0, 0], index
        for bit in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((c >> channel) & 1) << bit
            c >>= 3
        palette.append(rgb)
    return palette


def colorize(labels: torch.Tensor, palette: list[list[int]]) -> torch.Tensor:
    """Class indices (H, W) as an RGB image (3, H, W) uint8 in the colours of `palette` (256 entries)."""
    table = torch.tensor(palette, dtype=torch.uint8)
    return table[labels.long().clamp(0, len(palette) - 1)].permute(2, 0, 1)


def side_by_side(images: list[torch.Tensor], gap: int = 4) -> torch.Tensor:
    """RGB uint8 images (3, H, W) of one height in a row, with white gaps."""
    height = images[0].shape[-2]
    spacer = torch.full((3, height, gap), 255, dtype=torch.uint8)
    row = []
    for i, image in enumerate(images):
        row += [spacer, image] if i else [image]
    return torch.cat(row, dim=-1)


class Segmenter(ZooModule):
    """Per-pixel cross-entropy, pixel accuracy and mean IoU (ignoring `ignore_index`), and predicted label images.

    Args:
        num_classes: classes, the background included (on the command line: the data's ``num_classes``; VOC: 21).
        ignore_index: the label of pixels that count for nothing (VOC: 255).
        max_drawn: how many photos ``predict`` draws side by side with its prediction (every photo gets its mask).
        lr, optimizer, weight_decay, momentum: see :class:`~zoo.core.base.ZooModule`.
    """

    def __init__(self, num_classes: int = 21, ignore_index: int = 255, max_drawn: int = 16, **kwargs) -> None:
        super().__init__(**kwargs)
        if num_classes < 2:
            raise ValueError(f"num_classes (the background included) must be at least 2, got {num_classes}")
        if 0 <= ignore_index < num_classes:
            raise ValueError(f"ignore_index {ignore_index} is one of the {num_classes} classes; VOC's is 255")
        if max_drawn < 0:
            raise ValueError(f"max_drawn must not be negative, got {max_drawn}")
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_acc", MulticlassAccuracy(num_classes, average="micro", ignore_index=ignore_index))
            setattr(
                self, f"{stage}_miou", MulticlassJaccardIndex(num_classes, average="macro", ignore_index=ignore_index)
            )

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The book's per-pixel cross-entropy, averaged over the pixels that are not `ignore_index`."""
        return F.cross_entropy(logits, labels, ignore_index=self.hparams.ignore_index)

    def _step(self, batch, stage: str) -> torch.Tensor:
        images, labels = batch[0], batch[1]
        logits = self(images)
        loss = self.loss(logits, labels)
        preds = logits.detach().argmax(dim=1)
        self.log_mean(f"{stage}/loss", loss, len(images))
        self.log_epoch(f"{stage}/acc", getattr(self, f"{stage}_acc"), preds, labels)
        self.log_epoch(f"{stage}/miou", getattr(self, f"{stage}_miou"), preds, labels)
        return loss

    @torch.no_grad()
    def segment(self, images: torch.Tensor) -> torch.Tensor:
        """The class of every pixel of `images` (N, 3, H, W, as the data module feeds them): (N, H, W)."""
        was_training = self.training
        self.eval()
        try:
            return self(images).argmax(dim=1)
        finally:
            self.train(was_training)

    # --- predictions ---------------------------------------------------------------------------------

    def on_predict_epoch_start(self) -> None:
        self._predicted = 0

    def predict_step(self, batch, batch_idx: int) -> dict:
        """Each photo's predicted classes (h, w) uint8, cut back to its own size, its true labels when the batch has
        them, and the photo itself for the first ``max_drawn``."""
        images = batch[0] if isinstance(batch, (list, tuple)) else batch
        labels = batch[1] if isinstance(batch, (list, tuple)) and len(batch) > 1 else None
        sizes = batch[2].tolist() if isinstance(batch, (list, tuple)) and len(batch) > 2 else None
        photos = batch[3] if isinstance(batch, (list, tuple)) and len(batch) > 3 else None
        preds = self.segment(images).to(torch.uint8).cpu()
        sizes = sizes or [list(images.shape[-2:])] * len(images)
        out = {"preds": [], "labels": [], "photos": []}
        start = getattr(self, "_predicted", 0)
        self._predicted = start + len(images)
        for i, (h, w) in enumerate(sizes):
            out["preds"].append(preds[i, :h, :w])
            out["labels"].append(None if labels is None else labels[i, :h, :w].to(torch.uint8).cpu())
            drawn = photos is not None and start + i < self.hparams.max_drawn
            out["photos"].append(photos[i, :, :h, :w].cpu() if drawn else None)
        return out

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """``segmentation.csv`` (per photo: its size and pixel accuracy, border pixels not counted) and, in
        ``segmentation/``, ``<name>_mask.png`` (the predicted label image, in the data's class colours, the size of
        the photo) for every photo and ``<name>.png`` (photo, prediction, truth side by side, the book's figure)
        for the first ``max_drawn``."""
        from torchvision.io import write_png

        palette = pascal_palette()
        for index, color in enumerate(getattr(datamodule, "colormap", None) or []):
            palette[index] = list(color)
        names = list(getattr(datamodule, "image_names", []) or [])
        folder = out_dir / "segmentation"
        folder.mkdir(parents=True, exist_ok=True)
        rows, written, correct, counted = [], [], 0, 0
        index = 0
        for out in outputs:
            for pred, label, photo in zip(out["preds"], out["labels"], out["photos"]):
                name = Path(names[index]).stem if index < len(names) else str(index)
                index += 1
                mask = colorize(pred, palette)
                path = folder / f"{name}_mask.png"
                write_png(mask, str(path))
                written.append(path)
                accuracy = ""
                if label is not None:
                    valid = label != self.hparams.ignore_index
                    hits, total = int((pred[valid] == label[valid]).sum()), int(valid.sum())
                    correct, counted = correct + hits, counted + total
                    accuracy = f"{hits / total:.4f}" if total else ""
                rows.append([name, pred.shape[0], pred.shape[1], accuracy])
                if photo is not None:
                    panels = [photo, mask] + ([colorize(label, palette)] if label is not None else [])
                    figure = folder / f"{name}.png"
                    write_png(side_by_side(panels), str(figure))
                    written.append(figure)
        csv_path = out_dir / "segmentation.csv"
        with open(csv_path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["image", "height", "width", "pixel_acc"])
            writer.writerows(rows)
        summary = f", pixel accuracy {correct / counted:.4f} (border pixels not counted)" if counted else ""
        print(f"segmented {index} photos{summary}")
        return [csv_path, *written]
