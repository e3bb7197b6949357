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


def read_metrics(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """A run's epoch-level metrics from its ``metrics.csv``: name -> [(epoch, value), ...] in epoch order."""
    import csv

    path = Path(run_dir) / "metrics.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no metrics.csv: is it a run folder (lightning_logs/version_N)?")
    curves: dict[str, dict[int, float]] = {}
    with open(path, newline="") as file:
        for row in csv.DictReader(file):
            epoch = row.get("epoch")
            if epoch in (None, ""):
                continue
            for name, value in row.items():
                if name not in ("epoch", "step") and value not in (None, "") and "/" in name:
                    curves.setdefault(name, {})[int(float(epoch))] = float(value)
    return {name: sorted(points.items()) for name, points in curves.items()}


def plot_runs(run_dirs: list[Path], path: Path, labels: list[str] | None = None) -> Path:
    """The book's training figure for one or several runs: losses on the left; accuracy, perplexity or the
    other metrics on the right; one colour per run, one line style per split (train, val, test)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    styles = {"train": "-", "val": "--", "test": ":"}
    labels = labels or [str(run) for run in run_dirs]
    for i, (run, label) in enumerate(zip(run_dirs, labels)):
        color = f"C{i % 10}"
        for name, points in read_metrics(run).items():
            split, metric = name.split("/", 1)
            ax = left if metric == "loss" else right
            epochs, values = zip(*points)
            epochs = [e + 1 for e in epochs]  # the book counts epochs from 1
            tag = name if len(run_dirs) == 1 else f"{label}: {name}"
            ax.plot(epochs, values, styles.get(split, "-."), color=color if len(run_dirs) > 1 else None, label=tag)
    for ax, title in ((left, "loss"), (right, "metrics")):
        ax.set(xlabel="epoch", title=title)
        if ax.lines:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    if left.lines and min(min(line.get_ydata()) for line in left.lines) > 0:
        left.set_yscale("log")
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
