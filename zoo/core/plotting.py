"""Figures the book draws, written to PNG files (matplotlib's Agg backend: no screen needed)."""

from __future__ import annotations

import math
from pathlib import Path

import torch


def save_image_grid(
    images: torch.Tensor,
    titles: list[str],
    path: Path,
    suptitle: str = "",
    cols: int = 8,
    title_colors: list[str] | None = None,
) -> Path:
    """A grid of images (N, C, H, W) with a title over each, like the book's ``show_images``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    title_colors = title_colors or ["black"] * len(titles)
    for ax, image, title, color in zip(axes.flat, images, titles, title_colors):
        image = image.detach().float().cpu()
        image = (image - image.min()) / (image.max() - image.min() + 1e-12)
        ax.imshow(image.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray")
        ax.set_title(title, fontsize=8, color=color)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def save_detections(
    image: torch.Tensor,
    boxes: torch.Tensor,
    labels: list[str],
    path: Path,
    truth: torch.Tensor | None = None,
) -> Path:
    """One image (3, H, W; pixel values in [0, 255] or [0, 1]) with boxes (k, 4) in pixels, the book's
    ``show_bboxes``: white rectangles with their labels; ground-truth boxes (g, 4), if given, dashed in green."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = image.detach().float().cpu()
    if image.max() > 1:
        image = image / 255
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(image.clamp(0, 1).permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray")
    ax.axis("off")
    for box in [] if truth is None else truth.tolist():
        xy, w, h = (box[0], box[1]), box[2] - box[0], box[3] - box[1]
        ax.add_patch(plt.Rectangle(xy, w, h, fill=False, edgecolor="lime", linewidth=1.5, linestyle="--"))
    for box, label in zip(boxes.tolist(), labels):
        xy, w, h = (box[0], box[1]), box[2] - box[0], box[3] - box[1]
        ax.add_patch(plt.Rectangle(xy, w, h, fill=False, edgecolor="white", linewidth=2))
        ax.text(*xy, label, va="center", ha="center", fontsize=9, color="black", bbox=dict(facecolor="white", lw=0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
