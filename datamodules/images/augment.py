"""Image augmentation on whole batches (book section "Image Augmentation"), each image with its own randomness.

The book augments one PIL image at a time in the loader (``RandomHorizontalFlip``, ``RandomResizedCrop``,
``ColorJitter``). Here the same augmentations run on a float batch (N, 3, H, W) in [0, 1] on the training device,
in ``on_after_batch_transfer``. torchvision's v2 transforms accept such a batch, but they draw their random
parameters once per call, so the whole batch would be flipped (or jittered by the same factors) together; these
classes draw the parameters per image and apply them in one vectorised pass:

- :class:`RandomFlip`: a random mask of images, flipped with ``torch.where``;
- :class:`RandomResizedCrop`: torchvision's crop sampling (area fraction, log-uniform aspect ratio, ten tries,
  then the centre crop) per image, and every crop resized by one ``grid_sample`` with per-image sampling grids
  (bilinear; crops that shrink are not antialiased, which the CIFAR-10 recipe never needs);
- :class:`ColorJitter`: per-image brightness, contrast, saturation and hue factors (torchvision's formulas),
  applied in a random order drawn per image, as torchvision draws one per call.

:func:`make_augmentation` builds a pipeline from names (``flip``, ``vflip``, ``resized_crop``, ``color``), the
data modules' ``augment`` argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

# ImageNet's channel statistics, the book's ``Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])``
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale

AUGMENTATIONS = ("flip", "vflip", "resized_crop", "color")


def normalize(x: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
    """Standardise each channel of a float batch (N, C, H, W): ``(x - mean) / std``."""
    mean = torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    return (x - mean) / std


def _uniform(low: float, high: float, n: int, device, shape: tuple[int, ...] = ()) -> torch.Tensor:
    return torch.empty((n, *shape), device=device).uniform_(low, high)


# --- flips ---------------------------------------------------------------------------------------------------


class RandomFlip:
    """Flip each image left-right (``vertical=True``: upside down) with probability `p`, independently."""

    def __init__(self, p: float = 0.5, vertical: bool = False) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"flip probability must be in [0, 1], got {p}")
        self.p, self.dim = p, -2 if vertical else -1

    def sample(self, n: int, device=None) -> torch.Tensor:
        """Which of `n` images to flip: a bool mask (n,)."""
        return torch.rand(n, device=device) < self.p

    def apply(self, x: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
        return torch.where(flip.reshape(-1, 1, 1, 1), x.flip(self.dim), x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x, self.sample(len(x), x.device))


# --- random resized crops ------------------------------------------------------------------------------------


class RandomResizedCrop:
    """Crop a random area fraction in `scale` with aspect ratio (w / h) in `ratio` out of each image and resize it
    to `size` (``[height, width]``; default: the input's size), as ``torchvision.transforms.RandomResizedCrop``."""

    def __init__(
        self,
        size: Sequence[int] | None = None,
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3 / 4, 4 / 3),
    ) -> None:
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ValueError(f"crop size must be [height, width] of positive ints, got {size}")
        if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f"crop scale must be [low, high] with 0 < low <= high <= 1, got {scale}")
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"crop ratio must be [low, high] with 0 < low <= high, got {ratio}")
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.scale, self.ratio = (float(scale[0]), float(scale[1])), (float(ratio[0]), float(ratio[1]))

    def sample(self, n: int, height: int, width: int, device=None, tries: int = 10) -> torch.Tensor:
        """Per image a crop box ``(top, left, h, w)`` in pixels, (n, 4) as floats: torchvision's ten tries at a
        random area and log-uniform ratio, the first that fits; the centre crop (ratio clamped) if none does."""
        area = height * width
        target = area * _uniform(*self.scale, n, device, (tries,))
        aspect = torch.exp(_uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), n, device, (tries,)))
        w = torch.round(torch.sqrt(target * aspect))
        h = torch.round(torch.sqrt(target / aspect))
        fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = fits.float().argmax(dim=1, keepdim=True)  # the first try that fits (0 when none does)
        w, h, found = w.gather(1, first)[:, 0], h.gather(1, first)[:, 0], fits.any(dim=1)
        in_ratio = width / height  # torchvision's fallback: the whole image, cropped to the nearest allowed ratio
        if in_ratio < self.ratio[0]:
            fallback_w, fallback_h = width, round(width / self.ratio[0])
        elif in_ratio > self.ratio[1]:
            fallback_w, fallback_h = round(height * self.ratio[1]), height
        else:
            fallback_w, fallback_h = width, height
        w = torch.where(found, w, torch.full_like(w, fallback_w))
        h = torch.where(found, h, torch.full_like(h, fallback_h))
        top = torch.where(found, torch.floor(torch.rand(n, device=device) * (height - h + 1)), (height - h) // 2)
        left = torch.where(found, torch.floor(torch.rand(n, device=device) * (width - w + 1)), (width - w) // 2)
        return torch.stack([top, left, h, w], dim=1)

    def apply(self, x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Each image's box (top, left, h, w) resized to the output size, bilinearly, in one ``grid_sample``: the
        crop-then-resize of torchvision (``antialias=False``), sampling points clamped to the box as its resize
        clamps them to the cropped image."""
        n, _, height, width = x.shape
        out_h, out_w = self.size or (height, width)
        top, left, h, w = (v.reshape(n, 1) for v in boxes.to(x.dtype).unbind(dim=1))

        def centres(start, length, out, side):
            """Output pixel centres mapped into the box (align_corners=False), in grid_sample's [-1, 1]."""
            steps = torch.arange(out, dtype=x.dtype, device=x.device).reshape(1, out)
            src = torch.minimum(torch.maximum(start + (steps + 0.5) * length / out - 0.5, start), start + length - 1)
            return (2 * src + 1) / side - 1

        xs, ys = centres(left, w, out_w, width), centres(top, h, out_h, height)  # (n, out_w), (n, out_h)
        grid = torch.stack([xs[:, None, :].expand(n, out_h, out_w), ys[:, :, None].expand(n, out_h, out_w)], dim=-1)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x, self.sample(len(x), x.shape[-2], x.shape[-1], x.device))


# --- colour ----------------------------------------------------------------------------------------------------


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """The luminance of RGB images (N, 3, H, W) as one channel (N, 1, H, W), with torchvision's weights."""
    r, g, b = x.unbind(dim=-3)
    return (GRAY_WEIGHTS[0] * r + GRAY_WEIGHTS[1] * g + GRAY_WEIGHTS[2] * b).unsqueeze(-3)


def _per_image(factor: torch.Tensor) -> torch.Tensor:
    return factor.reshape(-1, 1, 1, 1)


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """torchvision's ``_blend``: ``factor * x + (1 - factor) * other``, clamped to [0, 1]."""
    f = _per_image(factor)
    return (f * x + (1 - f) * other).clamp(0, 1)


def adjust_brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Scale each image by its factor: 0 gives black, 1 the image."""
    return _blend(x, torch.zeros_like(x), factor)


def adjust_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend each image with its mean grey level: 0 gives a flat grey image, 1 the image."""
    return _blend(x, grayscale(x).mean(dim=(-3, -2, -1), keepdim=True), factor)


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend each image with its greyscale version: 0 gives grey, 1 the image."""
    return _blend(x, grayscale(x), factor)


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] to HSV, hue in [0, 1) (the formulas of torchvision's and colorsys' conversions)."""
    r, g, b = x.unbind(dim=-3)
    maxc, minc = x.amax(dim=-3), x.amin(dim=-3)
    chroma = maxc - minc
    flat = chroma == 0
    safe = torch.where(flat, torch.ones_like(chroma), chroma)
    hue = torch.where(maxc == r, (g - b) / safe, torch.where(maxc == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    hue = torch.where(flat, torch.zeros_like(hue), (hue / 6.0) % 1.0)
    saturation = torch.where(flat, torch.zeros_like(chroma), chroma / torch.where(maxc == 0, 1.0, maxc))
    return torch.stack([hue, saturation, maxc], dim=-3)


def hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """HSV (hue in [0, 1)) to RGB: channel n in (5, 3, 1) is ``V - V S clamp(min(k, 4 - k), 0, 1)`` with
    ``k = (n + 6 H) mod 6``."""
    h, s, v = x.unbind(dim=-3)
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = (n + 6.0 * h) % 6.0
        channels.append(v - v * s * torch.minimum(k, 4.0 - k).clamp(0, 1))
    return torch.stack(channels, dim=-3)


def adjust_hue(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Rotate each image's hue by its factor (in turns, within [-0.5, 0.5])."""
    hsv = rgb_to_hsv(x)
    hue = (hsv[:, 0] + factor.reshape(-1, 1, 1)) % 1.0
    return hsv_to_rgb(torch.stack([hue, hsv[:, 1], hsv[:, 2]], dim=1)).clamp(0, 1)


class ColorJitter:
    """Random brightness, contrast, saturation and hue per image, as ``torchvision.transforms.ColorJitter``:
    factors uniform in ``[max(0, 1 - b), 1 + b]`` (hue: ``[-h, h]``), the four in a random order; a jitter of 0
    leaves that property alone. The book's ``color_aug`` is ``ColorJitter(0.5, 0.5, 0.5, 0.5)``."""

    def __init__(self, brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0, hue: float = 0.0):
        for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if value < 0:
                raise ValueError(f"{name} jitter must not be negative, got {value}")
        if not 0.0 <= hue <= 0.5:
            raise ValueError(f"hue jitter must be in [0, 0.5], got {hue}")
        self.jitter = (float(brightness), float(contrast), float(saturation), float(hue))
        self.ops = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)

    def sample(self, n: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per image its four factors (n, 4) and the order it applies them in (n, 4), a random permutation."""
        b, c, s, h = self.jitter
        factors = torch.stack(
            [
                _uniform(max(0.0, 1 - b), 1 + b, n, device),
                _uniform(max(0.0, 1 - c), 1 + c, n, device),
                _uniform(max(0.0, 1 - s), 1 + s, n, device),
                _uniform(-h, h, n, device),
            ],
            dim=1,
        )
        order = torch.rand(n, 4, device=device).argsort(dim=1)
        return factors, order

    def apply(self, x: torch.Tensor, factors: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        """Step k applies, to each image, the adjustment at position k of its order, with its factor."""
        for k in range(4):
            for j, op in enumerate(self.ops):
                chosen = order[:, k] == j
                if self.jitter[j] and chosen.any():
                    x = torch.where(chosen.reshape(-1, 1, 1, 1), op(x, factors[:, j]), x)
        return x

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x, *self.sample(len(x), x.device))


# --- pipelines -------------------------------------------------------------------------------------------------


class Augmentation:
    """Batched augmentations applied in order (the book's ``Compose``); an empty list is the identity."""

    def __init__(self, steps: Sequence) -> None:
        self.steps = list(steps)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            x = step(x)
        return x

    def __len__(self) -> int:
        return len(self.steps)


def make_augmentation(
    names: Sequence[str],
    crop_scale: Sequence[float] = (0.1, 1.0),
    crop_ratio: Sequence[float] = (0.5, 2.0),
    jitter: Sequence[float] = (0.5, 0.5, 0.5, 0.5),
    size: Sequence[int] | None = None,
) -> Augmentation:
    """The pipeline named by `names`, in that order: ``flip`` (left-right, p 0.5), ``vflip`` (upside down),
    ``resized_crop`` (area `crop_scale`, ratio `crop_ratio`, back to `size` or the input's size) and ``color``
    (brightness, contrast, saturation, hue `jitter`). The defaults are the book's ``shape_aug`` and ``color_aug``."""
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; known: {', '.join(AUGMENTATIONS)}")
    if len(jitter) != 4:
        raise ValueError(f"jitter must be [brightness, contrast, saturation, hue], got {jitter}")
    build = {
        "flip": lambda: RandomFlip(),
        "vflip": lambda: RandomFlip(vertical=True),
        "resized_crop": lambda: RandomResizedCrop(size, crop_scale, crop_ratio),
        "color": lambda: ColorJitter(*jitter),
    }
    return Augmentation([build[name]() for name in names])
