"""PASCAL VOC2012 semantic segmentation (book section "Semantic Segmentation and the Dataset").

The D2L data hub's ``VOCtrainval_11-May-2012.tar`` (SHA-1 checked whenever it is there) unpacks to
``VOCdevkit/VOC2012/``: ``ImageSets/Segmentation/{train,val}.txt`` name the examples (1,464 and 1,449),
``JPEGImages/<name>.jpg`` the photos and ``SegmentationClass/<name>.png`` their label images, one VOC colour per
class (:data:`VOC_COLORMAP`, 21 classes with the background) and the cream border colour (224, 224, 192) around
objects, which becomes the label 255 that the loss and the metrics ignore. Any other colour in a label image is
one :class:`~datamodules.download.DataError` naming the file.

As the book's ``VOCSegDataset``, every example is cut to one fixed size by the same random crop of photo and
label (``crop_size``, the book's 320x480), and examples smaller than the crop are left out (the book keeps 1,114
training and 1,078 validation examples). Unlike the book, which reads every image into memory at start-up, the
sizes are read from the file headers at ``setup`` and each pair is decoded when the loader asks for it. Photos
reach the device as uint8 and are scaled to [0, 1] and standardised with ImageNet's statistics there.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.io import ImageReadMode, decode_image

from ..base import FileDataModule
from ..download import DataError, RemoteFile
from .augment import IMAGENET_MEAN, normalize
from .bananas import DATA_HUB

VOC_COLORMAP = [
    [0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128], [0, 128, 128],
    [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0], [64, 0, 128], [192, 0, 128],
    [64, 128, 128], [192, 128, 128], [0, 64, 0], [128, 64, 0], [0, 192, 0], [128, 192, 0], [0, 64, 128],
]  # fmt: skip
VOC_CLASSES = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train", "tv/monitor",
]  # fmt: skip
BORDER_COLOR = [224, 224, 192]  # VOC's "void" outline around objects and hard regions
IGNORE_INDEX = 255
SPLITS = ("train", "val")


def _color_keys(colors: torch.Tensor) -> torch.Tensor:
    """RGB triples (..., 3) as one integer each, ``(r * 256 + g) * 256 + b`` (the book's colormap2label index)."""
    colors = colors.long()
    return (colors[..., 0] * 256 + colors[..., 1]) * 256 + colors[..., 2]


_PALETTE_KEYS = _color_keys(torch.tensor(VOC_COLORMAP + [BORDER_COLOR]))
_ORDER = _PALETTE_KEYS.argsort()
_SORTED_KEYS = _PALETTE_KEYS[_ORDER]
_SORTED_LABELS = torch.tensor(list(range(len(VOC_COLORMAP))) + [IGNORE_INDEX], dtype=torch.uint8)[_ORDER]


def voc_label_indices(colormap: torch.Tensor, path: str | Path = "the label image") -> torch.Tensor:
    """A VOC label image (3, H, W) uint8 RGB as class indices (H, W) uint8: its palette colour's index, 255 for the
    border colour. A colour outside the palette is one DataError naming `path`, the colour and where it is.

    Vectorised: every pixel's colour key is looked up among the 22 sorted palette keys at once."""
    keys = _color_keys(colormap.permute(1, 2, 0))
    at = torch.searchsorted(_SORTED_KEYS, keys).clamp_(max=len(_SORTED_KEYS) - 1)
    known = _SORTED_KEYS[at] == keys
    if not bool(known.all()):
        rows, cols = torch.nonzero(~known, as_tuple=True)
        r, c = int(rows[0]), int(cols[0])
        color = colormap[:, r, c].tolist()
        raise DataError(
            f"{path}: colour {color} at row {r}, column {c} ({int((~known).sum())} pixels in all) is not a VOC "
            f"class colour nor the border colour {BORDER_COLOR}"
        )
    return _SORTED_LABELS[at]


def label_colors(labels: torch.Tensor, colormap: list[list[int]] = VOC_COLORMAP) -> torch.Tensor:
    """Class indices (H, W) as an RGB label image (3, H, W) uint8: the book's ``label2image``; 255 gets the border
    colour."""
    table = torch.zeros(256, 3, dtype=torch.uint8)
    table[: len(colormap)] = torch.tensor(colormap, dtype=torch.uint8)
    table[IGNORE_INDEX] = torch.tensor(BORDER_COLOR, dtype=torch.uint8)
    return table[labels.long()].permute(2, 0, 1)


def voc_rand_crop(
    feature: torch.Tensor, label: torch.Tensor, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The book's ``voc_rand_crop``: one random (height, width) window, the same for the photo (C, H, W) and its
    label (H, W) or (C, H, W)."""
    H, W = feature.shape[-2:]
    top = int(torch.randint(0, H - height + 1, ()))
    left = int(torch.randint(0, W - width + 1, ()))
    window = (..., slice(top, top + height), slice(left, left + width))
    return feature[window], label[window]


def center_crop(feature: torch.Tensor, label: torch.Tensor, height: int, width: int):
    """The centred (height, width) window of the photo and its label."""
    H, W = feature.shape[-2:]
    top, left = (H - height) // 2, (W - width) // 2
    window = (..., slice(top, top + height), slice(left, left + width))
    return feature[window], label[window]


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image file from its header, without decoding it."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
    except OSError as err:
        raise DataError(f"{path} cannot be read as an image ({err})") from None
    return height, width


def read_pair(voc_dir: Path, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Example `name`'s photo (3, H, W) uint8 and its class indices (H, W) uint8 (255: ignore)."""
    image_path = voc_dir / "JPEGImages" / f"{name}.jpg"
    label_path = voc_dir / "SegmentationClass" / f"{name}.png"
    decoded = []
    for path in (image_path, label_path):
        try:
            decoded.append(decode_image(str(path), mode=ImageReadMode.RGB))
        except (RuntimeError, OSError) as err:
            raise DataError(f"{path} cannot be read as an image ({err})") from None
    image, colors = decoded
    if image.shape[-2:] != colors.shape[-2:]:
        raise DataError(
            f"{label_path} is {colors.shape[-1]}x{colors.shape[-2]}, but its photo {image_path} is "
            f"{image.shape[-1]}x{image.shape[-2]}"
        )
    return image, voc_label_indices(colors, label_path)


class VOCSegDataset(Dataset):
    """Examples of one split, each decoded and cut to `crop_size` when asked for (random or centred window)."""

    def __init__(self, voc_dir: Path, names: list[str], crop_size: tuple[int, int], random_crop: bool) -> None:
        self.voc_dir, self.names, self.crop_size, self.random_crop = voc_dir, names, crop_size, random_crop

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = read_pair(self.voc_dir, self.names[index])
        crop = voc_rand_crop if self.random_crop else center_crop
        return crop(image, label, *self.crop_size)


class PadToLargest:
    """Collate whole photos of different sizes: padded at the bottom and right to the largest in the batch (photos
    with ImageNet's mean colour, labels with 255), with each photo's (height, width)."""

    def __call__(self, samples: list[tuple[torch.Tensor, torch.Tensor]]):
        height = max(image.shape[-2] for image, _ in samples)
        width = max(image.shape[-1] for image, _ in samples)
        fill = torch.tensor([round(255 * m) for m in IMAGENET_MEAN], dtype=torch.uint8).reshape(3, 1, 1)
        images = fill.repeat(len(samples), 1, height, width)
        labels = torch.full((len(samples), height, width), IGNORE_INDEX, dtype=torch.uint8)
        for i, (image, label) in enumerate(samples):
            images[i, :, : image.shape[-2], : image.shape[-1]] = image
            labels[i, : label.shape[-2], : label.shape[-1]] = label
        sizes = torch.tensor([list(image.shape[-2:]) for image, _ in samples])
        return images, labels, sizes


class VOCWholeImages(Dataset):
    """Whole examples (no crop), for ``predict``; batched by :class:`PadToLargest`."""

    def __init__(self, voc_dir: Path, names: list[str]) -> None:
        self.voc_dir, self.names = voc_dir, names
        self.collate_fn = PadToLargest()

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return read_pair(self.voc_dir, self.names[index])


class VOCSegmentation(FileDataModule):
    """VOC2012 segmentation: ``train.txt`` trains, ``val.txt`` validates and tests (the book's "test acc"), and
    ``predict`` segments whole photos (the validation ones by default).

    Args:
        crop_size: ``[height, width]`` of the windows cut from every example (the book: [320, 480]); examples
            smaller than it are left out. The FCN's output matches its input exactly for multiples of 32.
        eval_crop: ``center`` (validation and test take the centred window, so their figures repeat) or ``random``
            (a new random window each time, as the book's test set).
        predict_split: the split whose whole photos ``predict`` segments: ``val`` or ``train``.
        batch_size: minibatch size (the book: 32; it drops the last incomplete batch, the zoo keeps it).
        data_dir, mirror, download, num_workers: see :class:`~datamodules.base.FileDataModule`. The archive goes to
            ``<data_dir>/VOCtrainval_11-May-2012.tar`` and is unpacked to ``<data_dir>/VOCdevkit/VOC2012/``; a copy
            already unpacked there is used as it is, and the archive, when present, is hash-checked on every use.
    """

    folder_name = "VOCdevkit/VOC2012"
    classes = VOC_CLASSES
    colormap = VOC_COLORMAP
    in_channels = 3
    ignore_index = IGNORE_INDEX
    archive = RemoteFile(
        "VOCtrainval_11-May-2012.tar",
        DATA_HUB + "VOCtrainval_11-May-2012.tar",
        "sha1:4e443f8a2eca6b1dac8a6c57641b67dd40621a49",
    )

    def __init__(
        self,
        crop_size: list[int] = [320, 480],  # noqa: B006  (a plain list, saved as a hyperparameter)
        eval_crop: str = "center",
        predict_split: str = "val",
        batch_size: int = 32,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ValueError(f"crop_size must be [height, width] of positive ints, got {crop_size}")
        if eval_crop not in ("center", "random"):
            raise ValueError(f"eval_crop must be 'center' or 'random', got {eval_crop!r}")
        if predict_split not in SPLITS:
            raise ValueError(f"predict_split must be one of {SPLITS}, got {predict_split!r}")
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.predict_set: Dataset | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def split_file(self, split: str) -> Path:
        return self.folder / "ImageSets" / "Segmentation" / f"{split}.txt"

    def fetch(self, download: bool = False) -> list[Path]:
        """The two split files, unpacking the (hash-checked) archive if they are not there yet."""
        splits = [self.split_file(split) for split in SPLITS]
        layout = f"{self.folder}/ with ImageSets/Segmentation/{{train,val}}.txt, JPEGImages/ and SegmentationClass/."
        # <data_dir>: the archive unpacks to VOCdevkit/VOC2012 there
        return self.unpacked(splits, self.folder.parent.parent, "VOCdevkit", layout, download)

    def read_split(self, split: str) -> tuple[list[str], int]:
        """The names in ``<split>.txt`` whose photo is at least `crop_size`, and how many there are in all. A name
        without its photo or label image is one DataError naming the missing file."""
        path = self.split_file(split)
        names = path.read_text().split()
        kept = []
        for name in names:
            photo = self.folder / "JPEGImages" / f"{name}.jpg"
            label = self.folder / "SegmentationClass" / f"{name}.png"
            for file in (photo, label):
                if not file.is_file():
                    raise DataError(f"{path} lists {name}, but {file} does not exist")
            height, width = image_size(photo)
            if height >= self.crop_size[0] and width >= self.crop_size[1]:
                kept.append(name)
        return kept, len(names)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self.fetch()
        kept = {}
        for split in SPLITS:
            kept[split], total = self.read_split(split)
            height, width = self.crop_size
            print(f"{type(self).__name__}: {split}: {len(kept[split])} of {total} examples kept (the others are "
                  f"smaller than the {height}x{width} crop)")  # fmt: skip
            if not kept[split]:
                raise DataError(
                    f"{self.split_file(split)}: no example is at least {height}x{width}: choose a smaller "
                    "--data.crop_size"
                )
        self.train_set = VOCSegDataset(self.folder, kept["train"], self.crop_size, random_crop=True)
        random_eval = self.hparams.eval_crop == "random"
        self.val_set = self.test_set = VOCSegDataset(self.folder, kept["val"], self.crop_size, random_eval)
        self.predict_set = VOCWholeImages(self.folder, self.split_file(self.hparams.predict_split).read_text().split())

    def predict_dataloader(self):
        return self.loader(self.predict_set, shuffle=False)

    @property
    def image_names(self) -> list[str]:
        """The names of the photos ``predict`` segments (every example of ``predict_split``, whole), in order."""
        return list(self.predict_set.names) if self.predict_set is not None else []

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """Photos to standardised floats, labels to int64; a batch of whole photos (``predict``) also keeps their
        sizes and the uint8 photos, for the figures."""
        images, labels, *sizes = batch
        x = normalize(images.float().div(255))
        if sizes:
            return x, labels.long(), sizes[0], images
        return x, labels.long()
