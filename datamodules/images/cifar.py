"""CIFAR-10 (book section "Image Augmentation"): 50,000 training and 10,000 test colour images, 32x32, 10 classes.

The original ``cifar-10-python.tar.gz`` (torchvision's URL and md5) is read as it is: its five ``data_batch_N``
pickles and ``test_batch`` (each a dict with ``data``, 10,000 x 3,072 uint8 rows of R, G, B planes, and
``labels``) and ``batches.meta`` (``label_names``), unpickled with only numpy's array constructor allowed.
Images stay uint8 tensors in memory; float conversion and the training augmentations run on whole batches on the
training device (``on_after_batch_transfer``; see :mod:`datamodules.images.augment`), the book's
``RandomHorizontalFlip`` + ``ToTensor`` by default.
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch
import torchvision

from ..base import FileDataModule
from ..batching import check_val_split
from ..download import DataError, RemoteFile
from .augment import make_augmentation

MEMBER_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
META = "batches.meta"
# what a CIFAR pickle may construct: numpy arrays (numpy 1 and 2 spell the module differently), nothing else
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def _unpickle(archive: Path, tar: tarfile.TarFile, name: str) -> dict:
    member = f"{MEMBER_DIR}/{name}"
    try:
        f = tar.extractfile(member)
    except KeyError:
        raise DataError(f"{archive} has no {member}: it is not the CIFAR-10 python archive") from None
    try:
        return _ArraysOnly(f, encoding="latin1").load()  # the batches were pickled by Python 2
    except Exception as err:
        raise DataError(f"{archive}: {member} is not a CIFAR batch ({type(err).__name__}: {err})") from None


def _batch_arrays(archive: Path, tar: tarfile.TarFile, name: str) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(archive, tar, name)
    try:
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"{archive}: {MEMBER_DIR}/{name} lacks 'data' or 'labels' ({err})") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise DataError(
            f"{archive}: {MEMBER_DIR}/{name} holds data of shape {data.shape} and {len(labels)} labels; a CIFAR "
            "batch has one 3,072-byte row (32x32 R, G, B planes) per label"
        )
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar10(archive: str | Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
    """The training images (N, 3, 32, 32) uint8 and labels, the test images and labels, and the class names,
    straight from ``cifar-10-python.tar.gz``. A damaged archive is one DataError naming it."""
    archive = Path(archive)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            train = [_batch_arrays(archive, tar, name) for name in TRAIN_BATCHES]
            test_x, test_y = _batch_arrays(archive, tar, TEST_BATCH)
            names = _unpickle(archive, tar, META).get("label_names")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"{archive} cannot be read as a .tar.gz archive ({type(err).__name__}: {err})") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DataError(f"{archive}: {MEMBER_DIR}/{META} has no list of label_names")
    train_x = np.concatenate([x for x, _ in train])
    train_y = np.concatenate([y for _, y in train])
    for labels in (train_y, test_y):
        if labels.size and not 0 <= labels.min() <= labels.max() < len(names):
            raise DataError(
                f"{archive}: labels run from {labels.min()} to {labels.max()}, but there are {len(names)} classes"
            )
    return (
        torch.from_numpy(train_x.copy()),
        torch.from_numpy(train_y),
        torch.from_numpy(test_x.copy()),
        torch.from_numpy(test_y),
        list(names),
    )


class CIFAR10(FileDataModule):
    """CIFAR-10 as uint8 tensors in memory, augmented per batch on the device.

    Args:
        augment: the training augmentations, applied in this order (the book's recipe: ``[flip]``; ``[]`` trains
            without augmentation): ``flip``, ``vflip``, ``resized_crop``, ``color`` (see
            :func:`~datamodules.images.augment.make_augmentation`). Validation and test images are never augmented.
        crop_scale, crop_ratio: ``resized_crop``'s area fraction and aspect-ratio ranges (the book's ``shape_aug``:
            [0.1, 1] and [0.5, 2]); crops are resized back to 32x32.
        jitter: ``color``'s brightness, contrast, saturation and hue jitter (the book's ``color_aug``: 0.5 each).
        normalize: standardise with CIFAR-10's channel means and stds (the book feeds ``ToTensor``'s [0, 1]: off).
        val_split: fraction of the training set held out for validation; 0 validates on the test set, the book's
            "test acc".
        batch_size: minibatch size (the book: 256).
        data_dir, mirror, download, num_workers: see :class:`~datamodules.base.FileDataModule`; the archive lives
            in ``<data_dir>/cifar-10/cifar-10-python.tar.gz``.
    """

    folder_name = "cifar-10"
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    in_channels = 3
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)

    def __init__(
        self,
        augment: list[str] = ["flip"],  # noqa: B006  (plain lists, saved as hyperparameters)
        crop_scale: list[float] = [0.1, 1.0],  # noqa: B006
        crop_ratio: list[float] = [0.5, 2.0],  # noqa: B006
        jitter: list[float] = [0.5, 0.5, 0.5, 0.5],  # noqa: B006
        normalize: bool = False,
        val_split: float = 0.0,
        batch_size: int = 256,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        check_val_split(val_split)
        self.augmentation = make_augmentation(augment, crop_scale, crop_ratio, jitter)

    @classmethod
    def remote_files(cls) -> list[RemoteFile]:
        """torchvision's URL and md5 of the original archive."""
        tv = torchvision.datasets.CIFAR10
        return [RemoteFile(tv.filename, tv.url, f"md5:{tv.tgz_md5}")]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def setup(self, stage: str | None = None) -> None:
        if self.test_set is not None:
            return
        (archive,) = self.fetch()
        train_x, train_y, test_x, test_y, names = read_cifar10(archive)
        if len(names) != self.num_classes:
            raise DataError(f"{archive} names {len(names)} classes, CIFAR-10 has {self.num_classes}: {names}")
        self.split_sets([train_x, train_y], [test_x, test_y])

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, labels = batch
        training = self.trainer is not None and self.trainer.training
        return self.to_model_input(images, augment=training), labels

    def to_model_input(self, images: torch.Tensor, augment: bool = False) -> torch.Tensor:
        """uint8 (N, 3, 32, 32) -> float in [0, 1] (the book's ``ToTensor``), augmented if `augment`, normalised
        if configured."""
        x = images.float().div_(255)
        if augment:
            x = self.augmentation(x)
        if self.hparams.normalize:
            mean = torch.tensor(self.mean, device=x.device).reshape(1, 3, 1, 1)
            std = torch.tensor(self.std, device=x.device).reshape(1, 3, 1, 1)
            x = (x - mean) / std
        return x
