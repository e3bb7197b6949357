"""The hot-dog data set (book section "Fine-Tuning"): photos of hot dogs and of other food, an image folder.

The D2L data hub's ``hotdog.zip`` (SHA-1 checked whenever it is there) unpacks to ``hotdog/{train,test}/
{hotdog,not-hotdog}/*.png`` (the book's copy: 2,000 training and 1,000 test images of assorted sizes). As
``torchvision.datasets.ImageFolder`` does, each sub-folder is a class, in sorted order (0 ``hotdog``,
1 ``not-hotdog``). Images are decoded one at a time as the loader asks for them (``--data.num_workers`` share the
work) and transformed per sample, as the book's: training takes a random resized crop of 224x224 and flips it
left-right at random, evaluation resizes the shorter side to 256 and takes the centre 224x224; both reach the
device as uint8 and are scaled to [0, 1] and standardised with ImageNet's statistics there.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms import v2

from ..base import FileDataModule
from ..download import DataError, RemoteFile
from .augment import normalize
from .bananas import DATA_HUB

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SPLITS = ("train", "test")


def image_folder(root: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """``(path, class index)`` for every image under ``root/<class>/``, classes in the given order, files sorted;
    a missing or empty class folder is one DataError naming it."""
    samples = []
    for index, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            raise DataError(
                f"{folder} does not exist: the image folder {root} needs one sub-folder per class {classes}"
            )
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        samples += [(path, index) for path in files]
    return samples


class FolderImages(Dataset):
    """Image files with their class index; each is read, decoded (RGB, uint8) and transformed when asked for."""

    def __init__(self, samples: list[tuple[Path, int]], transform) -> None:
        self.samples, self.transform = samples, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        try:
            image = decode_image(str(path), mode=ImageReadMode.RGB)
        except (RuntimeError, OSError) as err:
            raise DataError(f"{path} cannot be read as an image ({err})") from None
        return self.transform(image), label


class Hotdog(FileDataModule):
    """The hot-dog image folder with the book's fine-tuning transforms; the test images validate (the book's
    "test acc") and are what ``predict`` labels.

    Args:
        image_size: the side of the crops the network sees (the book: 224).
        resize: evaluation resizes the shorter side to this before the centre crop (the book: 256).
        batch_size: minibatch size (the book: 128).
        data_dir, mirror, download, num_workers: see :class:`~datamodules.base.FileDataModule`. The archive goes to
            ``<data_dir>/hotdog.zip`` and is unpacked to ``<data_dir>/hotdog/``; a folder already unpacked there is
            used as it is, and the archive, when present, is hash-checked on every use.
    """

    folder_name = "hotdog"
    classes = ["hotdog", "not-hotdog"]
    in_channels = 3
    archive = RemoteFile("hotdog.zip", DATA_HUB + "hotdog.zip", "sha1:fba480ffa8aa7e0febbb511d181409f899b9baa5")

    def __init__(self, image_size: int = 224, resize: int = 256, batch_size: int = 128, **kwargs) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        if image_size < 1 or resize < image_size:
            raise ValueError(f"need 1 <= image_size <= resize, got image_size={image_size}, resize={resize}")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def transforms(self, train: bool):
        """The book's ``train_augs`` (RandomResizedCrop, RandomHorizontalFlip) or ``test_augs`` (Resize,
        CenterCrop), on uint8 tensors; ``ToTensor`` and ``Normalize`` run on the device."""
        size = self.hparams.image_size
        if train:
            return v2.Compose([v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()])
        return v2.Compose([v2.Resize(self.hparams.resize, antialias=True), v2.CenterCrop(size)])

    def fetch(self, download: bool = False) -> list[Path]:
        """The two split folders, unpacking the (hash-checked) archive if they are not there yet."""
        splits = [self.folder / split for split in SPLITS]
        layout = f"{self.folder}/{{train,test}}/{{hotdog,not-hotdog}}/"
        return self.unpacked(splits, self.folder.parent, self.folder_name, layout, download)

    def setup(self, stage: str | None = None) -> None:
        if self.test_set is not None:
            return
        train, test = self.fetch()
        self.train_set = FolderImages(image_folder(train, self.classes), self.transforms(train=True))
        self.val_set = self.test_set = FolderImages(image_folder(test, self.classes), self.transforms(train=False))

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, labels = batch
        return normalize(images.float().div_(255)), labels
