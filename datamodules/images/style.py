"""The two images of neural style transfer (book section "Neural Style Transfer"): a content image and a style
image, both resized to one shape (the book: 300x450).

There is nothing to sample: every training "batch" is the pair itself, ``(content, style)``, each (1, 3, H, W) in
[0, 1] (the book's ``Resize`` + ``ToTensor``; the network standardises them for its VGG-19). An epoch is
``steps_per_epoch`` optimisation steps on it, so the book's 500 steps are 10 epochs of 50 and its learning-rate
decay every 50 steps falls on the epoch boundaries.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2 import functional as TF

from ..base import DataModule
from ..download import DataError


def read_image(path: str | Path, shape: tuple[int, int], what: str = "image") -> torch.Tensor:
    """The image file at `path` as RGB floats in [0, 1], resized to `shape` (height, width): (3, H, W). A missing
    or unreadable file is one DataError naming it."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"the {what} {path} does not exist")
    try:
        image = decode_image(str(path), mode=ImageReadMode.RGB)
    except (RuntimeError, OSError) as err:
        raise DataError(f"the {what} {path} cannot be read as an image ({err})") from None
    return TF.resize(image, list(shape), antialias=True).float().div(255)


class RepeatedPair(Dataset):
    """The same (content, style) pair, `length` times: one epoch of `length` steps."""

    def __init__(self, content: torch.Tensor, style: torch.Tensor, length: int) -> None:
        self.content, self.style, self.length = content, style, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.content, self.style


class StyleImages(DataModule):
    """A content image and a style image for neural style transfer.

    Args:
        content_image: the path of the photo whose content the result keeps (the book: ``rainier.jpg``).
        style_image: the path of the image whose style it takes (the book: ``autumn-oak.jpg``).
        image_shape: ``[height, width]`` both are resized to, and the size of the result (the book: [300, 450]).
        steps_per_epoch: optimisation steps per epoch.
        batch_size: must be 1: the pair is the batch.
        num_workers: see :class:`~datamodules.base.DataModule`.
    """

    def __init__(
        self,
        content_image: str,
        style_image: str,
        image_shape: list[int] = [300, 450],  # noqa: B006  (a plain list, saved as a hyperparameter)
        steps_per_epoch: int = 50,
        batch_size: int = 1,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        if batch_size != 1:
            raise ValueError(f"batch_size must be 1 (the content and style images are the batch), got {batch_size}")
        if len(image_shape) != 2 or min(image_shape) < 1:
            raise ValueError(f"image_shape must be [height, width] of positive ints, got {image_shape}")
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be positive, got {steps_per_epoch}")

    @property
    def image_shape(self) -> list[int]:
        """[height, width] of both images and of the synthesised one (the model takes it from here)."""
        return [int(v) for v in self.hparams.image_shape]

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        hp = self.hparams
        content = read_image(hp.content_image, self.image_shape, "content image")
        style = read_image(hp.style_image, self.image_shape, "style image")
        self.train_set = RepeatedPair(content, style, hp.steps_per_epoch)
        self.test_set = RepeatedPair(content, style, 1)  # predict: the result, once
