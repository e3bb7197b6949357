"""Shared fixtures: tiny data sets written in the real on-disk formats, in a temp folder."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from datamodules import MNIST, FashionMNIST, KaggleHouse, RemoteFile

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
NETWORK_CONFIGS = sorted(p for p in CONFIGS.rglob("*.yaml") if p.parent.name not in ("trainer", "logger"))
IMAGE_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def config(name: str) -> str:
    """The path of the network config ``configs/<chapter>/<name>.yaml``."""
    matches = [p for p in NETWORK_CONFIGS if p.stem == name]
    assert len(matches) == 1, f"no single config named {name}: {matches}"
    return str(matches[0])


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array as a gzip-compressed idx file (the MNIST format)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())
    return path


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def learnable_images(n: int, seed: int, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """28x28 images whose class is a bright bar at a class-dependent row, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n)
    images = rng.integers(0, 60, (n, 28, 28))
    for i, label in enumerate(labels):
        images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 255
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_mnist_files(folder: Path, n_train: int = 96, n_test: int = 48) -> list[Path]:
    train_x, train_y = learnable_images(n_train, 0)
    test_x, test_y = learnable_images(n_test, 1)
    names = IMAGE_FILES + TEST_FILES
    return [write_idx(folder / name, a) for name, a in zip(names, (train_x, train_y, test_x, test_y))]


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A data folder holding tiny `fashion-mnist/` and `mnist/` idx files; D2L_ZOO_DATA points at it.

    The published md5s are swapped for the fixture's own, so every hash check still runs.
    """
    data_dir = tmp_path / "data"
    for cls in (FashionMNIST, MNIST):
        paths = write_mnist_files(data_dir / cls.folder_name)
        files = [RemoteFile(p.name, f"https://example.invalid/{p.name}", f"md5:{md5(p)}") for p in paths]
        monkeypatch.setattr(cls, "remote_files", classmethod(lambda c, files=files: files))
    monkeypatch.setenv("D2L_ZOO_DATA", str(data_dir))
    return data_dir


# --- tables: Kaggle house prices and the course's diabetes CSV ----------------------------------------

TRAIN_CSV, TEST_CSV = "kaggle_house_pred_train.csv", "kaggle_house_pred_test.csv"


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def write_house_csvs(folder: Path, n_train: int = 40, n_test: int = 10) -> tuple[Path, Path]:
    """Kaggle-format CSVs: Id, a numeric code, numbers with gaps, categories with NA, "None" and a
    test-only category, and (train only) SalePrice, which grows with LotArea."""
    rng = np.random.default_rng(0)
    n = n_train + n_test
    area = rng.integers(5000, 15000, n)
    frontage = rng.normal(70, 20, n).round(1).astype(object)
    frontage[[1, 7, n_train + 2]] = "NA"  # Kaggle writes missing values as NA
    zoning = rng.choice(["RL", "RM", "NA"], n).astype(object)
    zoning[n_train + 1] = "C (all)"  # only in the test file
    veneer = rng.choice(["BrkFace", "None", "Stone"], n)
    table = pd.DataFrame(
        {
            "Id": np.arange(1, n + 1),
            "MSSubClass": rng.choice([20, 60], n),
            "MSZoning": zoning,
            "LotFrontage": frontage,
            "LotArea": area,
            "MasVnrType": veneer,
        }
    )
    price = (50000 + 15 * area * rng.uniform(0.9, 1.1, n)).round()
    folder.mkdir(parents=True, exist_ok=True)
    train, test = folder / TRAIN_CSV, folder / TEST_CSV
    table.iloc[:n_train].assign(SalePrice=price[:n_train]).to_csv(train, index=False)
    table.iloc[n_train:].to_csv(test, index=False)
    return train, test


@pytest.fixture
def tiny_house(tmp_path, monkeypatch):
    """A data folder with tiny ``kaggle-house/`` CSVs; their own SHA-1s replace the published ones."""
    data_dir = tmp_path / "data"
    paths = write_house_csvs(data_dir / KaggleHouse.folder_name)
    files = tuple(RemoteFile(p.name, f"https://example.invalid/{p.name}", f"sha1:{sha1(p)}") for p in paths)
    monkeypatch.setattr(KaggleHouse, "files", files)
    monkeypatch.setenv("D2L_ZOO_DATA", str(data_dir))
    return data_dir


def write_diabetes(path: Path, n: int = 120, seed: int = 0) -> Path:
    """The course's diabetes.csv.gz format: no header, 8 features in [-1, 1], then a 0/1 label."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 8))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        for row, label in zip(X, y):
            f.write(",".join(f"{v:.6f}" for v in row) + f",{label}\n")
    return path


@pytest.fixture
def image_batch() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = learnable_images(64, 2)
    return torch.from_numpy(x).float().div(255).unsqueeze(1), torch.from_numpy(y).long()


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny test tensors run faster on one thread than split over two (and much faster on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def quiet_trainer(tmp_path: Path, **kwargs) -> L.Trainer:
    """A Trainer for tests: no logger, progress bar or model summary (checkpointing kept unless switched off)."""
    defaults = dict(default_root_dir=tmp_path, enable_progress_bar=False, logger=False, enable_model_summary=False)
    return L.Trainer(**{**defaults, **kwargs})


def training_losses(model: L.LightningModule, x: torch.Tensor, y: torch.Tensor, steps: int) -> list[float]:
    """Train `model` on the one batch (x, y) for `steps` steps with its own optimizer and loss; the losses."""
    optimizer = model.configure_optimizers()
    losses = []
    for _ in range(steps):
        loss = model.loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def assert_loss_falls(model: L.LightningModule, x: torch.Tensor, y: torch.Tensor, steps: int, to: float) -> None:
    """The loss on a tiny batch falls below `to` times its first value within `steps` steps."""
    losses = training_losses(model, x, y, steps)
    assert losses[-1] < to * losses[0], [round(v, 4) for v in losses[:: max(1, steps // 8)]]


def layer_shapes(net: nn.Sequential, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """The book's shape table: each top-level layer's class name and output shape (prediction mode)."""
    shapes = []
    net.eval()
    with torch.no_grad():
        for layer in net:
            x = layer(x)
            shapes.append((type(layer).__name__, tuple(x.shape)))
    return shapes


# --- English-French pairs (fra-eng.zip holding fra-eng/fra.txt) ------------------------------------------

_SUBJECTS = [("I am", "Je suis"), ("You are", "Tu es"), ("He is", "Il est"), ("She is", "Elle est"),
             ("We are", "Nous sommes"), ("They are", "Ils sont")]  # fmt: skip
_ADJECTIVES = [
    ("calm", "calme"),
    ("tired", "fatigué"),
    ("happy", "heureux"),
    ("late", "en retard"),
    ("home", "chez moi"),
]
_SEEING = [("I see", "Je vois"), ("You see", "Tu vois"), ("He sees", "Il voit"), ("We see", "Nous voyons")]
_NOUNS = [("cat", "chat"), ("dog", "chien"), ("car", "voiture"), ("house", "maison")]


def fra_lines() -> list[str]:
    """fra.txt's format: English, a tab, French, one pair a line (a few with Tatoeba's attribution field); the
    book's four sentences, then 67 pairs of small grammars, raw as the book reads them ("Go." / "Va !", a
    narrow no-break space before "!")."""
    lines = ["Go.\tVa !", "I lost.\tJ'ai perdu.", "He's calm.\tIl est calme.", "I'm home.\tJe suis chez moi."]
    lines += [f"{e} {a}.\t{f} {b}." for e, f in _SUBJECTS for a, b in _ADJECTIVES]
    lines += [f"{e} the {a}!\t{f} le {b}\u202f!" for e, f in _SEEING for a, b in _NOUNS]
    lines += [f"Who is {a}?\tQui est {b} ?\tCC-BY 2.0 (France) Attribution: tatoeba.org" for a, b in _ADJECTIVES]
    lines += [f"{e} very {a}, really.\t{f} très {b}, vraiment." for e, f in _SUBJECTS[:4] for a, b in _ADJECTIVES[:4]]
    return lines


def write_fra_eng(folder: Path, lines: list[str] | None = None) -> tuple[Path, Path]:
    """``folder/fra-eng.zip`` holding ``fra-eng/fra.txt`` (as the data hub's), and the text it holds."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    text = ("\n".join(lines or fra_lines()) + "\n").encode("utf-8")
    archive = folder / "fra-eng.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # fixed dates: the same bytes (and hash) every time
        zf.writestr(zipfile.ZipInfo("fra-eng/_about.txt", date_time=(2020, 1, 1, 0, 0, 0)), "tiny test copy\n")
        zf.writestr(zipfile.ZipInfo("fra-eng/fra.txt", date_time=(2020, 1, 1, 0, 0, 0)), text)
    return archive, folder / "fra.txt"


@pytest.fixture
def tiny_fra(tmp_path, monkeypatch):
    """A data folder whose ``fra-eng/`` holds a tiny ``fra-eng.zip`` (not extracted); its own SHA-1 and its
    fra.txt's sha256 replace the published ones, so every check still runs. D2L_ZOO_DATA points at it."""
    from datamodules import Translation

    data_dir = tmp_path / "data"
    archive, text = write_fra_eng(data_dir / Translation.folder_name)
    sha256 = hashlib.sha256(("\n".join(fra_lines()) + "\n").encode("utf-8")).hexdigest()
    remote = RemoteFile(archive.name, "https://example.invalid/fra-eng.zip", f"sha1:{sha1(archive)}")
    monkeypatch.setattr(Translation, "zip_file", remote)
    monkeypatch.setattr(Translation, "text_hash", f"sha256:{sha256}")
    monkeypatch.setenv("D2L_ZOO_DATA", str(data_dir))
    return data_dir
