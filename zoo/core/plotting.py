"""Figures the book draws, written to PNG files (matplotlib's Agg backend: no screen needed)."""

from __future__ import annotations

import math
import textwrap
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


def save_heatmaps(
    matrices: torch.Tensor,
    path: Path,
    xticklabels: list[str] | None = None,
    yticklabels: list[str] | None = None,
    title: str = "",
    xlabel: str = "keys",
    ylabel: str = "queries",
    cmap: str = "Reds",
) -> Path:
    """A grid of heatmaps, matrices (rows, columns, height, width), with one colour bar: the book's
    ``show_heatmaps`` (attention weights: a row per layer, a column per head)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrices = matrices.detach().float().cpu()
    rows, cols, height, width = matrices.shape
    size = (min(max(2.5, 0.35 * width + 1.2), 5.0), min(max(2.2, 0.3 * height + 1.0), 5.0))
    figsize = (size[0] * cols + 0.8, size[1] * rows + 0.6)
    fig, axes = plt.subplots(rows, cols, figsize=figsize, squeeze=False, layout="constrained")
    for i, row_axes in enumerate(axes):
        for j, ax in enumerate(row_axes):
            image = ax.imshow(matrices[i, j].numpy(), cmap=cmap, vmin=0.0, vmax=float(matrices.max()))
            if xticklabels is not None:
                ax.set_xticks(range(width), labels=xticklabels, rotation=90, fontsize=7)
            if yticklabels is not None:
                ax.set_yticks(range(height), labels=yticklabels, fontsize=7)
            if i == rows - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(f"{ylabel} (layer {i + 1})" if rows > 1 else ylabel)
            if cols > 1:
                ax.set_title(f"head {j + 1}", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.6)
    if title:
        fig.suptitle(textwrap.fill(title, width=max(20, int(figsize[0] * 11))), fontsize=9)  # fits the figure
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
