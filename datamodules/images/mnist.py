"""Fashion-MNIST and MNIST (book section "The Image Classification Dataset").

The four original idx ``.gz`` files are read straight into uint8 tensors. Conversion to float,
resizing and normalisation happen per batch on the training device (``on_after_batch_transfer``),
so nothing runs per image in Python and a GPU does the resize for AlexNet-sized inputs.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
import torchvision
from torchvision.transforms.v2 import functional as TF

from ..base import FileDataModule
from ..batching import check_val_split
from ..download import DataError, RemoteFile

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> torch.Tensor:
    """Read an idx file (gzip-compressed or not) into a tensor of its stored shape and type."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an idx file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    body = data[4 + 4 * ndim :]
    if len(body) != dtype.itemsize * int(np.prod(shape)):
        raise DataError(f"{path}: header says shape {shape}, but the file holds {len(body)} bytes of data")
    array = np.frombuffer(body, dtype=dtype).reshape(shape)
    return torch.from_numpy(array.astype(dtype.newbyteorder("="), copy=True))


class IdxImageClassification(FileDataModule):
    """The shared body of MNIST-format data sets: idx files in, uint8 image tensors kept in memory.

    Args:
        resize: side length (or ``[height, width]``) images are resized to on the device; None keeps 28x28.
        normalize: standardise with the data set's mean and std (the book feeds raw [0, 1] pixels: off).
        val_split: fraction of the training set held out for validation; 0 validates on the test
            set, which is what the book reports as "test acc" after every epoch.
        data_dir, mirror, download, batch_size, num_workers: see :class:`~datamodules.base.FileDataModule`.
    """

    torchvision_class: type = torchvision.datasets.MNIST
    classes: list[str] = []
    mean: float = 0.0
    std: float = 1.0
    in_channels: int = 1

    def __init__(
        self, resize: int | list[int] | None = None, normalize: bool = False, val_split: float = 0.0, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        check_val_split(val_split)
        self.size = [resize, resize] if isinstance(resize, int) else resize  # [height, width] or None
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ValueError(f"resize must be a positive int or [height, width], got {resize}")

    @classmethod
    def remote_files(cls) -> list[RemoteFile]:
        """The four files with torchvision's published URL (first mirror) and md5."""
        base = cls.torchvision_class.mirrors[0]
        return [RemoteFile(name, base + name, f"md5:{md5}") for name, md5 in cls.torchvision_class.resources]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_inputs(self) -> int:
        """Values per image, flattened (784 at 28x28): what a fully connected network takes."""
        height, width = self.size or (28, 28)
        return self.in_channels * height * width

    def setup(self, stage: str | None = None) -> None:
        if self.test_set is not None:
            return
        train_x, train_y, test_x, test_y = (read_idx(p) for p in self.fetch())
        self.split_sets([train_x.unsqueeze(1), train_y.long()], [test_x.unsqueeze(1), test_y.long()])

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, labels = batch
        return self.to_model_input(images), labels

    def to_model_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 1, 28, 28) -> float in [0, 1], resized and normalised as configured."""
        x = images.float().div_(255)
        if self.size is not None and list(x.shape[-2:]) != self.size:
            x = TF.resize(x, self.size, antialias=True)
        if self.hparams.normalize:
            x = (x - self.mean) / self.std
        return x


class FashionMNIST(IdxImageClassification):
    """Fashion-MNIST: 60,000 + 10,000 grey 28x28 images of 10 kinds of clothing."""

    folder_name = "fashion-mnist"
    torchvision_class = torchvision.datasets.FashionMNIST
    classes = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
    mean, std = 0.2860, 0.3530


class MNIST(IdxImageClassification):
    """MNIST handwritten digits; the companion PyTorch course normalises with (0.1307, 0.3081)."""

    folder_name = "mnist"
    torchvision_class = torchvision.datasets.MNIST
    classes = [str(d) for d in range(10)]
    mean, std = 0.1307, 0.3081
