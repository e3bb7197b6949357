"""The banana detection data set (book section "The Object Detection Dataset"): 1,000 training and 100
validation images, 256x256 RGB, each with one banana and its box.

The D2L data hub's ``banana-detection.zip`` unpacks to ``banana-detection/bananas_{train,val}/`` with a
``label.csv`` (``img_name,label,xmin,ymin,xmax,ymax``, boxes in pixels) and the ``images/``. Labels are read and
checked row by row at ``setup`` (a malformed row, a box outside the image or a missing image is one
:class:`~datamodules.download.DataError` naming the file and row); images are decoded one at a time as the loader
asks for them (so workers share the decoding and nothing waits at start-up), as uint8, and turned into floats on
the device. Targets are the book's (N, max_objects, 5): class, then the box scaled to [0, 1] by the image side;
rows of class -1 pad images with fewer objects (the banana images have one each).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.io import ImageReadMode, decode_image

from ..base import FileDataModule
from ..download import DataError, RemoteFile

DATA_HUB = "http://d2l-data.s3-accelerate.amazonaws.com/"
HEADER = ["img_name", "label", "xmin", "ymin", "xmax", "ymax"]
SPLIT_FOLDERS = {"train": "bananas_train", "val": "bananas_val"}


def read_detection_labels(
    path: Path, image_size: int, num_classes: int, missing_images: str = "error"
) -> tuple[list[str], list[torch.Tensor], int]:
    """A ``label.csv`` checked row by row: the image names, each image's (k, 5) target (class, box in [0, 1])
    in the order images first appear, and how many rows were skipped for a missing image (`missing_images`
    ``skip``; ``error`` raises). Any bad row is one DataError naming the file and the row."""
    image_dir = path.parent / "images"
    objects: dict[str, list[list[float]]] = {}
    skipped = 0
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != HEADER:
            raise DataError(f"{path}, line 1: expected the header {','.join(HEADER)}, found {','.join(header or [])!r}")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue  # a blank line
            where = f"{path}, row {line - 1} (line {line})"
            if len(row) != len(HEADER):
                raise DataError(f"{where}: expected {len(HEADER)} fields ({','.join(HEADER)}), found {len(row)}: {row}")
            name = row[0].strip()
            if not name or Path(name).name != name:
                raise DataError(f"{where}: {name!r} is not an image file name")
            try:
                label, box = int(row[1]), [float(v) for v in row[2:]]
            except ValueError:
                raise DataError(f"{where}: class and box must be numbers, found {row[1:]}") from None
            if not 0 <= label < num_classes:
                raise DataError(f"{where}: class {label}, but the data set has {num_classes} (0 to {num_classes - 1})")
            scaled = [v / image_size for v in box]
            if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in scaled):
                raise DataError(
                    f"{where}: box {row[2:]} lies outside the {image_size}x{image_size} image (scaled to "
                    f"{[round(v, 4) for v in scaled]}, not within [0, 1])"
                )
            if not (scaled[0] < scaled[2] and scaled[1] < scaled[3]):
                raise DataError(f"{where}: box {row[2:]} is empty (it needs xmin < xmax and ymin < ymax)")
            if not (image_dir / name).is_file():
                if missing_images == "error":
                    raise DataError(
                        f"{where}: the image {image_dir / name} does not exist "
                        "(--data.missing_images skip leaves out rows whose image is missing)"
                    )
                skipped += 1
                continue
            objects.setdefault(name, []).append([float(label), *scaled])
    return list(objects), [torch.tensor(rows) for rows in objects.values()], skipped


class PadTargets:
    """The collate function of :class:`DetectionImages`: images stacked, (N, 3, H, W) uint8, and each image's
    (k, 5) target padded with class -1 rows to (N, max_objects, 5)."""

    def __init__(self, max_objects: int) -> None:
        self.max_objects = max_objects

    def __call__(self, samples: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        images = torch.stack([image for image, _ in samples])
        targets = torch.full((len(samples), self.max_objects, 5), -1.0)
        for i, (_, target) in enumerate(samples):
            targets[i, : len(target)] = target
        return images, targets


class DetectionImages(Dataset):
    """Images in a folder with their targets; each image is read and decoded when it is asked for.

    Args:
        image_dir: the folder of the images.
        names: the image file names.
        targets: per image, its (k, 5) target (class, box in [0, 1]).
        image_size: every image's height and width (the label rows' pixel boxes assume it).
    """

    def __init__(self, image_dir: Path, names: list[str], targets: list[torch.Tensor], image_size: int) -> None:
        self.image_dir, self.names, self.targets, self.image_size = image_dir, names, targets, image_size
        self.collate_fn = PadTargets(max((len(t) for t in targets), default=1))

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        path = self.image_dir / self.names[index]
        try:
            image = decode_image(str(path), mode=ImageReadMode.RGB)
        except (RuntimeError, OSError) as err:
            raise DataError(f"{path} cannot be read as an image ({err})") from None
        if tuple(image.shape[-2:]) != (self.image_size, self.image_size):
            raise DataError(
                f"{path} is {image.shape[-1]}x{image.shape[-2]}, but its label rows are boxes in a "
                f"{self.image_size}x{self.image_size} image (--data.image_size)"
            )
        return image, self.targets[index]


class Bananas(FileDataModule):
    """The D2L banana detection set: ``bananas_train`` (1,000 images) trains, ``bananas_val`` (100) validates,
    tests and is what ``predict`` draws.

    Args:
        image_size: the images' side in pixels; label boxes are divided by it (the book: 256).
        train_split: ``train`` (the book), or ``val`` to train on the validation images (for a copy holding only
            those; validation then runs on the training images, so it measures fit, not generalisation).
        missing_images: ``error`` (a label row whose image is missing stops with one error naming it) or ``skip``
            (such rows are left out, with one line saying how many).
        batch_size: minibatch size (the book: 32).
        data_dir, mirror, download, num_workers: see :class:`~datamodules.base.FileDataModule`. The archive goes
            to ``<data_dir>/banana-detection.zip`` and is unpacked to ``<data_dir>/banana-detection/``; a folder
            already unpacked there is used as it is (its label files are checked row by row), and the archive,
            when present, is hash-checked on every use.

    Images reach the model as float pixel values in [0, 255], as the book feeds them.
    """

    folder_name = "banana-detection"
    classes = ["banana"]
    archive = RemoteFile(
        "banana-detection.zip", DATA_HUB + "banana-detection.zip", "sha1:5de26c8fce5ccdea9f91267273464dc968d20d72"
    )

    def __init__(
        self,
        image_size: int = 256,
        train_split: str = "train",
        missing_images: str = "error",
        batch_size: int = 32,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        if image_size < 1:
            raise ValueError(f"image_size must be a positive number of pixels, got {image_size}")
        for name, value, choices in (
            ("train_split", train_split, tuple(SPLIT_FOLDERS)),
            ("missing_images", missing_images, ("error", "skip")),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")

    @property
    def num_classes(self) -> int:
        """Object classes, background not counted."""
        return len(self.classes)

    def label_file(self, split: str) -> Path:
        return self.folder / SPLIT_FOLDERS[split] / "label.csv"

    def fetch(self, download: bool = False) -> list[Path]:
        """The two label files, unpacking the (hash-checked) archive if they are not there yet (an unpacked copy's
        rows are checked at setup)."""
        labels = [self.label_file(split) for split in SPLIT_FOLDERS]
        layout = f"{self.folder}/{{bananas_train,bananas_val}}/ with label.csv and images/."
        return self.unpacked(labels, self.folder.parent, self.folder_name, layout, download)

    def _read(self, split: str) -> DetectionImages:
        hp = self.hparams
        path = self.label_file(split)
        names, targets, skipped = read_detection_labels(path, hp.image_size, self.num_classes, hp.missing_images)
        if skipped:
            print(f"{type(self).__name__}: {path}: left out {skipped} rows whose image is missing, kept {len(names)}")
        if not names:
            raise DataError(f"{path}: no label rows with their images in {path.parent / 'images'}")
        return DetectionImages(path.parent / "images", names, targets, hp.image_size)

    def setup(self, stage: str | None = None) -> None:
        if self.val_set is not None:
            return
        self.fetch()
        self.val_set = self.test_set = self._read("val")
        self.train_set = self.val_set if self.hparams.train_split == "val" else self._read("train")

    @property
    def image_names(self) -> list[str]:
        """The file names of the images ``predict`` runs on (the validation images), in order."""
        return list(self.test_set.names) if self.test_set is not None else []

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, targets = batch
        return images.float(), targets  # the book's pixel values, 0 to 255
