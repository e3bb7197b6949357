"""Shared fixtures: tiny data sets written in the real on-disk formats, in a temp folder."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from datamodules import MNIST, Airfoil, Bananas, FashionMNIST, KaggleHouse, RemoteFile

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


def write_airfoil(path: Path, n: int = 60, seed: int = 0) -> Path:
    """The data hub's airfoil_self_noise.dat format: tab-separated, CRLF, no header, five features then a label
    that is linear in them plus noise."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.choice([800, 1000, 2000, 4000], n), rng.uniform(0, 20, n), rng.choice([0.0254, 0.1524, 0.3048], n)]
        + [rng.choice([31.7, 71.3], n), rng.uniform(0.0004, 0.05, n)]
    )
    y = 130 - 0.001 * X[:, 0] - 0.3 * X[:, 1] - 20 * X[:, 2] + 0.05 * X[:, 3] - 100 * X[:, 4] + rng.normal(0, 1, n)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["\t".join(f"{v:g}" for v in row) for row in np.column_stack([X, y.round(3)])]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode())
    return path


@pytest.fixture
def tiny_airfoil(tmp_path, monkeypatch):
    """A data folder with a tiny ``airfoil/airfoil_self_noise.dat``; its own SHA-1 replaces the published one."""
    data_dir = tmp_path / "data"
    path = write_airfoil(data_dir / Airfoil.folder_name / "airfoil_self_noise.dat")
    files = (RemoteFile(path.name, f"https://example.invalid/{path.name}", f"sha1:{sha1(path)}"),)
    monkeypatch.setattr(Airfoil, "files", files)
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


# --- images with boxes: the banana detection set -------------------------------------------------------


def banana_images(n: int, size: int, seed: int) -> tuple[torch.Tensor, list[list[int]]]:
    """uint8 RGB images (n, 3, size, size) of noise, each with one yellow rectangle, and its pixel box."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 90, (n, 3, size, size), generator=g, dtype=torch.uint8)
    boxes = []
    for image in images:
        w, h = (int(v) for v in torch.randint(size // 5, size // 3, (2,), generator=g))
        x, y = (int(v) for v in torch.randint(0, size - max(w, h), (2,), generator=g))
        image[:, y : y + h, x : x + w] = torch.tensor([230, 210, 40], dtype=torch.uint8).reshape(3, 1, 1)
        boxes.append([x, y, x + w, y + h])
    return images, boxes


def write_banana_split(folder: Path, n: int, size: int, seed: int) -> Path:
    """One split in the real layout: ``label.csv`` (img_name,label,xmin,ymin,xmax,ymax) and ``images/N.png``."""
    from torchvision.io import write_png

    images, boxes = banana_images(n, size, seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = ["img_name,label,xmin,ymin,xmax,ymax"]
    for i, (image, box) in enumerate(zip(images, boxes)):
        write_png(image, str(folder / "images" / f"{i}.png"))
        lines.append(f"{i}.png,0," + ",".join(map(str, box)))
    (folder / "label.csv").write_text("\n".join(lines) + "\n")
    return folder / "label.csv"


def write_banana_set(root: Path, n_train: int = 8, n_val: int = 4, size: int = 256) -> Path:
    """``root/banana-detection/bananas_{train,val}/``, as the D2L archive unpacks."""
    folder = root / Bananas.folder_name
    write_banana_split(folder / "bananas_train", n_train, size, seed=0)
    write_banana_split(folder / "bananas_val", n_val, size, seed=1)
    return folder


def zip_banana_set(folder: Path, archive: Path) -> Path:
    """The unpacked set `folder` as the hub's ``banana-detection.zip`` (members under ``banana-detection/``)."""
    import zipfile

    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder.parent).as_posix())
    return archive


def use_banana_archive(monkeypatch, archive: Path) -> RemoteFile:
    """Replace the published archive (and its SHA-1) by `archive`'s, so every hash check still runs."""
    remote = RemoteFile(archive.name, f"https://example.invalid/{archive.name}", f"sha1:{sha1(archive)}")
    monkeypatch.setattr(Bananas, "archive", remote)
    return remote


@pytest.fixture
def tiny_bananas(tmp_path, monkeypatch):
    """A data folder with a tiny unpacked ``banana-detection/`` (8 + 4 images, 256x256, the real layout);
    D2L_ZOO_DATA points at it."""
    data_dir = tmp_path / "data"
    write_banana_set(data_dir)
    monkeypatch.setenv("D2L_ZOO_DATA", str(data_dir))
    return data_dir


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


LAUNCH_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "NODE_RANK", "LOCAL_WORLD_SIZE")


def process_env(**extra: str) -> dict[str, str]:
    """The environment for a test's own training process: one thread, no warnings, and none of the variables an
    earlier in-process DDP run leaves behind (a MASTER_PORT whose store still listens makes a fresh launch hang)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in LAUNCH_VARIABLES and not k.startswith(("SLURM_", "TORCHELASTIC"))
    }
    return env | {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", **extra}


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


# --- CIFAR-10: the python tarball ---------------------------------------------------------------------------

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (n, 3, 32, 32) of noise whose class is a bright bar at a class-dependent row, and labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 80, (n, 3, 32, 32))
    for i, label in enumerate(labels):
        images[i, :, 3 * label : 3 * label + 2, 4:28] = 250
    return images.astype(np.uint8), labels


def write_cifar_tarball(path: Path, per_batch: int = 8, n_test: int = 16) -> tuple[np.ndarray, ...]:
    """``cifar-10-python.tar.gz`` in the real layout: ``cifar-10-batches-py/data_batch_{1..5}``, ``test_batch``
    and ``batches.meta``, pickles (protocol 2, as Python 2 wrote them) of dicts with ``data`` (rows of 3,072 bytes:
    R, G, B planes), ``labels``, ``batch_label`` and ``filenames``. Returns the train and test images and labels."""
    import io
    import pickle
    import tarfile

    train_x, train_y = cifar_images(5 * per_batch, 0)
    test_x, test_y = cifar_images(n_test, 1)

    def batch(x, y, label):
        return {
            "batch_label": label,
            "labels": [int(v) for v in y],
            "data": x.reshape(len(x), -1),
            "filenames": [f"img_{i}.png" for i in range(len(x))],
        }

    members = {}
    for i in range(5):
        rows = slice(i * per_batch, (i + 1) * per_batch)
        members[f"data_batch_{i + 1}"] = batch(train_x[rows], train_y[rows], f"training batch {i + 1} of 5")
    members["test_batch"] = batch(test_x, test_y, "testing batch 1 of 1")
    members["batches.meta"] = {"num_cases_per_batch": per_batch, "label_names": CIFAR_NAMES, "num_vis": 3072}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            data = pickle.dumps(content, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return train_x, train_y, test_x, test_y


def use_fixture_file(monkeypatch, cls, path: Path, algorithm: str = "md5") -> RemoteFile:
    """Replace `cls`'s published file (and hash) by `path`'s own, so every hash check still runs."""
    digest = hashlib.new(algorithm, path.read_bytes()).hexdigest()
    remote = RemoteFile(path.name, f"https://example.invalid/{path.name}", f"{algorithm}:{digest}")
    monkeypatch.setattr(cls, "remote_files", classmethod(lambda c: [remote]))
    if hasattr(cls, "archive"):
        monkeypatch.setattr(cls, "archive", remote)
    return remote


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """A data folder with a tiny ``cifar-10/cifar-10-python.tar.gz`` (40 + 16 images); its md5 replaces the
    published one; D2L_ZOO_DATA points at it."""
    from datamodules import CIFAR10

    data_dir = tmp_path / "data"
    write_cifar_tarball(data_dir / CIFAR10.folder_name / "cifar-10-python.tar.gz")
    use_fixture_file(monkeypatch, CIFAR10, data_dir / CIFAR10.folder_name / "cifar-10-python.tar.gz")
    monkeypatch.setenv("D2L_ZOO_DATA", str(data_dir))
    return data_dir


# --- the hot-dog image folder ---------------------------------------------------------------------------------


def write_hotdog_folder(root: Path, per_class: tuple[int, int] = (6, 3), seed: int = 0) -> Path:
    """``root/hotdog/{train,test}/{hotdog,not-hotdog}/N.png``: PNGs of assorted sizes, hot dogs reddish and the
    rest greenish (so a network can tell them apart)."""
    from torchvision.io import write_png

    g = torch.Generator().manual_seed(seed)
    folder = root / "hotdog"
    for split, n in zip(("train", "test"), per_class):
        for label, name in enumerate(("hotdog", "not-hotdog")):
            (folder / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = (int(v) for v in torch.randint(60, 110, (2,), generator=g))
                image = torch.randint(0, 90, (3, h, w), generator=g, dtype=torch.uint8)
                image[0 if label == 0 else 1] += 150
                write_png(image, str(folder / split / name / f"{i}.png"))
    return folder


@pytest.fixture
def tiny_hotdog(tmp_path, monkeypatch):
    """A data folder with a tiny unpacked ``hotdog/`` (12 training, 6 test PNGs); D2L_ZOO_DATA points at it."""
    data_dir = tmp_path / "data"
    write_hotdog_folder(data_dir)
    monkeypatch.setenv("D2L_ZOO_DATA", str(data_dir))
    return data_dir


def zip_folder(folder: Path, archive: Path) -> Path:
    """`folder` as a zip whose members sit under ``<folder name>/`` (how the data hub packs its sets)."""
    import zipfile

    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder.parent).as_posix())
    return archive


# --- VOC2012 segmentation -------------------------------------------------------------------------------------

VOC_PALETTE = [
    [0, 0, 0],
    [128, 0, 0],
    [0, 128, 0],
    [128, 128, 0],
    [0, 0, 128],
    [128, 0, 128],
    [0, 128, 128],
    [128, 128, 128],
    [64, 0, 0],
    [192, 0, 0],
    [64, 128, 0],
    [192, 128, 0],
    [64, 0, 128],
    [192, 0, 128],
    [64, 128, 128],
    [192, 128, 128],
    [0, 64, 0],
    [128, 64, 0],
    [0, 192, 0],
    [128, 192, 0],
    [0, 64, 128],
]  # fmt: skip  (the book's VOC_COLORMAP, typed again so the tests check the data module's)


def voc_class_map(height: int, width: int, seed: int, block: int = 16) -> torch.Tensor:
    """Class indices (height, width) uint8: blocks of `block` pixels of random classes 0-4, outlined by the border
    label 255 on their top and left edges."""
    g = torch.Generator().manual_seed(seed)
    blocks = torch.randint(0, 5, (-(-height // block), -(-width // block)), generator=g, dtype=torch.uint8)
    labels = blocks.repeat_interleave(block, 0).repeat_interleave(block, 1)[:height, :width].clone()
    labels[::block, :] = 255
    labels[:, ::block] = 255
    return labels


def write_voc_pair(voc_dir: Path, name: str, height: int, width: int, seed: int) -> torch.Tensor:
    """``JPEGImages/<name>.jpg`` (each pixel the VOC colour of its class, cream on the border) and
    ``SegmentationClass/<name>.png`` (a palette PNG, as VOC's: index = class, 255 = border). Returns the labels."""
    from PIL import Image
    from torchvision.io import write_jpeg

    labels = voc_class_map(height, width, seed)
    palette = torch.zeros(256, 3, dtype=torch.uint8)
    palette[:21] = torch.tensor(VOC_PALETTE, dtype=torch.uint8)
    palette[255] = torch.tensor([224, 224, 192], dtype=torch.uint8)
    photo = palette[labels.long()].permute(2, 0, 1).contiguous()
    (voc_dir / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (voc_dir / "SegmentationClass").mkdir(parents=True, exist_ok=True)
    write_jpeg(photo, str(voc_dir / "JPEGImages" / f"{name}.jpg"), quality=95)
    mask = Image.fromarray(labels.numpy(), mode="P")
    mask.putpalette(palette.flatten().tolist())
    mask.save(voc_dir / "SegmentationClass" / f"{name}.png")
    return labels


VOC_FIXTURE = {  # name: (split, height, width); with the 64x96 crop the "small" ones are left out
    "2007_000001": ("train", 80, 112),
    "2007_000002": ("train", 72, 100),
    "2007_000003": ("train", 96, 128),
    "2007_000004": ("train", 60, 120),  # small: 60 < 64
    "2007_000005": ("val", 70, 110),
    "2007_000006": ("val", 64, 96),
    "2007_000007": ("val", 100, 90),  # small: 90 < 96
}


def write_voc_tree(root: Path) -> Path:
    """``root/VOCdevkit/VOC2012/`` as the VOC archive unpacks, with :data:`VOC_FIXTURE`'s pairs and
    ``ImageSets/Segmentation/{train,val,trainval}.txt``."""
    voc_dir = root / "VOCdevkit" / "VOC2012"
    splits = {"train": [], "val": []}
    for seed, (name, (split, height, width)) in enumerate(VOC_FIXTURE.items()):
        write_voc_pair(voc_dir, name, height, width, seed)
        splits[split].append(name)
    sets = voc_dir / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True, exist_ok=True)
    for split, names in [*splits.items(), ("trainval", splits["train"] + splits["val"])]:
        (sets / f"{split}.txt").write_text("\n".join(names) + "\n")
    return voc_dir


@pytest.fixture
def tiny_voc(tmp_path, monkeypatch):
    """A data folder with a tiny unpacked ``VOCdevkit/VOC2012/`` (4 + 3 pairs, 2 too small for a 64x96 crop);
    D2L_ZOO_DATA points at it."""
    data_dir = tmp_path / "data"
    write_voc_tree(data_dir)
    monkeypatch.setenv("D2L_ZOO_DATA", str(data_dir))
    return data_dir


# --- style transfer's two images ------------------------------------------------------------------------------


def write_style_images(folder: Path, height: int = 40, width: int = 60) -> tuple[Path, Path]:
    """A content PNG (a smooth gradient with a dark square) and a style PNG (coloured stripes)."""
    from torchvision.io import write_png

    folder.mkdir(parents=True, exist_ok=True)
    ys = torch.linspace(0, 1, height).reshape(-1, 1).expand(height, width)
    xs = torch.linspace(0, 1, width).reshape(1, -1).expand(height, width)
    content = torch.stack([ys, xs, 0.5 * (ys + xs)])
    content[:, height // 4 : height // 2, width // 4 : width // 2] = 0.1
    stripes = (torch.arange(width).reshape(1, -1).expand(height, width) // 4) % 2
    style = torch.stack([stripes.float(), 1 - stripes.float(), 0.3 * torch.ones(height, width)])
    paths = folder / "content.png", folder / "style.png"
    for image, path in zip((content, style), paths):
        write_png((image * 255).round().to(torch.uint8), str(path))
    return paths


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


# --- multi-head attention: copying the book's weights into nn.MultiheadAttention ------------------------------


def copy_into_concise(scratch, concise) -> None:
    """The book's four projections (a :class:`~zoo.attention.multihead.MultiHeadAttention`) into
    nn.MultiheadAttention's (packed or separate) weights, and their biases where they have them (BERT's)."""
    mha = concise.attention
    with torch.no_grad():
        if mha.in_proj_weight is not None:
            mha.in_proj_weight.copy_(torch.cat([scratch.W_q.weight, scratch.W_k.weight, scratch.W_v.weight]))
        else:
            mha.q_proj_weight.copy_(scratch.W_q.weight)
            mha.k_proj_weight.copy_(scratch.W_k.weight)
            mha.v_proj_weight.copy_(scratch.W_v.weight)
        mha.out_proj.weight.copy_(scratch.W_o.weight)
        assert (mha.in_proj_bias is None) == (scratch.W_q.bias is None)
        if mha.in_proj_bias is not None:
            mha.in_proj_bias.copy_(torch.cat([scratch.W_q.bias, scratch.W_k.bias, scratch.W_v.bias]))
            mha.out_proj.bias.copy_(scratch.W_o.bias)


def copy_transformer(scratch: nn.Module, concise: nn.Module) -> None:
    """Every weight of a network with the book's multi-head attention into the same network built with
    nn.MultiheadAttention (the Transformer, BERT): the attention layers as above, the rest as they are."""
    from zoo.attention.multihead import ConciseMultiHeadAttention, MultiHeadAttention

    scratch_mha = {n: m for n, m in scratch.named_modules() if isinstance(m, MultiHeadAttention)}
    concise_mha = {n: m for n, m in concise.named_modules() if isinstance(m, ConciseMultiHeadAttention)}
    assert scratch_mha.keys() == concise_mha.keys() and scratch_mha
    for name, module in scratch_mha.items():
        copy_into_concise(module, concise_mha[name])
    concise_state = concise.state_dict()
    with torch.no_grad():
        for name, tensor in scratch.state_dict().items():
            if ".attention" not in name or ".attention.attention" in name:  # not the attention projections
                concise_state[name].copy_(tensor)


# --- WikiText-2: the unpacked token files ---------------------------------------------------------------------

_WIKI_TEXT = (
    "the of and in to a was is for on as with by he it at "
    "from his an were which that game album song city river team season first two new "
    "after during film series north south war army ship year station line church school road king "
    "music band record chart single tour show"
)
_WIKI_WORDS = _WIKI_TEXT.split()


def wiki_sentence(rng: np.random.Generator, length: int) -> str:
    """WikiText's token format: words between single spaces, the first capitalised, with ``,``, ``@-@``,
    ``@,@`` and ``@.@`` joins inside numbers and words, and ``<unk>`` for rare words."""
    words = []
    for i in range(length):
        kind = rng.random()
        if kind < 0.06:
            words.append("<unk>")
        elif kind < 0.1:
            words += [str(rng.integers(1, 9)), rng.choice(["@,@", "@.@"]), str(rng.integers(100, 999))]
        elif kind < 0.14 and i:
            words += [",", str(rng.choice(_WIKI_WORDS))]
        elif kind < 0.17:
            words += [str(rng.choice(_WIKI_WORDS)), "@-@", str(rng.choice(_WIKI_WORDS))]
        else:
            words.append(str(rng.choice(_WIKI_WORDS)))
    words[0] = words[0].capitalize()
    return " ".join(words)


def wiki_text(n_paragraphs: int, seed: int, long_sentence: bool = True) -> str:
    """A ``wiki.*.tokens`` file: `` = Title = `` headings, `` = = Section = = `` subheadings and blank lines (each
    line opens with a space, as WikiText's), paragraphs of 2-6 sentences joined by `` . `` and ending in `` . ``,
    a one-sentence line (not a paragraph for the book), and one sentence longer than 64 tokens."""
    rng = np.random.default_rng(seed)
    lines = [" ", " = Valkyria Chronicles III = ", " "]
    for p in range(n_paragraphs):
        if p % 7 == 3:
            lines += [" ", f" = = Section {p} = = ", " "]
        length = 80 if long_sentence and p == 1 else None
        sentences = [wiki_sentence(rng, length or int(rng.integers(3, 16))) for _ in range(int(rng.integers(2, 7)))]
        lines.append(" " + " . ".join(sentences) + " . ")
        if p % 11 == 5:
            lines.append(" A single line without a full stop")
    return "\n".join(lines) + "\n"


def write_wikitext(folder: Path, n_paragraphs: tuple[int, int, int] = (150, 30, 30)) -> Path:
    """``folder/wiki.{train,valid,test}.tokens`` (the unpacked ``wikitext-2/``); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed, (split, n) in enumerate(zip(("train", "valid", "test"), n_paragraphs)):
        (folder / f"wiki.{split}.tokens").write_text(wiki_text(n, seed), encoding="utf-8")
    return folder


@pytest.fixture
def tiny_wikitext(tmp_path, monkeypatch):
    """A data folder whose ``wikitext-2/`` holds tiny unpacked token files (150 training paragraphs, 30 validation
    and 30 test ones); D2L_ZOO_DATA points at it."""
    data_dir = tmp_path / "data"
    write_wikitext(data_dir / "wikitext-2")
    monkeypatch.setenv("D2L_ZOO_DATA", str(data_dir))
    return data_dir
