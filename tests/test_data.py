"""Data modules: idx reading, hash-checked download, offline errors, batching and on-device transforms."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import md5, write_idx, write_mnist_files
from torch.utils.data import DataLoader

from datamodules import (
    DataError,
    FashionMNIST,
    RemoteFile,
    SyntheticRegression,
    TensorBatches,
    fetch_all,
    read_idx,
    resolve_data_dir,
)

# --- idx files -----------------------------------------------------------------------------------


def test_read_idx_round_trips_images_and_labels(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    labels = np.array([3, 7], dtype=np.uint8)
    assert torch.equal(read_idx(write_idx(tmp_path / "x.gz", images)), torch.from_numpy(images))
    assert read_idx(write_idx(tmp_path / "y.gz", labels)).tolist() == [3, 7]


def test_read_idx_rejects_bad_magic_and_truncated_body(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"PK\x03\x04 not an idx file")
    with pytest.raises(DataError, match="not an idx file"):
        read_idx(bad)
    good = write_idx(tmp_path / "good.gz", np.zeros((3, 4, 4), np.uint8))
    with gzip.open(good) as f:
        body = f.read()
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(body[:-5])
    with pytest.raises(DataError, match="header says shape"):
        read_idx(tmp_path / "short.gz")


# --- where data lives ----------------------------------------------------------------------------


def test_data_dir_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv("D2L_ZOO_DATA", raising=False)
    assert resolve_data_dir() == Path("data")
    monkeypatch.setenv("D2L_ZOO_DATA", str(tmp_path))
    assert resolve_data_dir() == tmp_path
    assert resolve_data_dir("/elsewhere") == Path("/elsewhere")
    assert FashionMNIST().folder == tmp_path / "fashion-mnist"
    assert FashionMNIST(data_dir="/x").folder == Path("/x/fashion-mnist")


def test_published_urls_and_md5s_are_torchvisions():
    files = {f.name: f for f in FashionMNIST.remote_files()}
    assert files["train-images-idx3-ubyte.gz"].known_hash == "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert files["t10k-labels-idx1-ubyte.gz"].url.endswith("/t10k-labels-idx1-ubyte.gz")
    assert len(files) == 4


# --- download, hash checks and errors ------------------------------------------------------------


def _remote(paths: list[Path]) -> list[RemoteFile]:
    return [RemoteFile(p.name, f"https://example.invalid/{p.name}", f"md5:{md5(p)}") for p in paths]


def test_download_from_a_local_mirror_verifies_and_stores(tmp_path):
    mirror = tmp_path / "mirror"
    files = _remote(write_mnist_files(mirror))
    target = tmp_path / "data" / "fashion-mnist"
    for mirror_form in (mirror.as_uri(), str(mirror)):  # file:// URL or plain folder
        paths = fetch_all(files, target, "Fashion-MNIST", mirror=mirror_form)
        assert [p.read_bytes() for p in paths] == [(mirror / f.name).read_bytes() for f in files]
        for p in paths:
            p.unlink()


def test_missing_files_offline_name_every_file_hash_and_folder(tmp_path):
    files = _remote(write_mnist_files(tmp_path / "elsewhere"))
    folder = tmp_path / "data" / "fashion-mnist"
    empty_mirror = (tmp_path / "empty").as_uri()
    with pytest.raises(DataError) as err:
        fetch_all(files, folder, "FashionMNIST", mirror=empty_mirror)
    message = str(err.value)
    for f in files:
        assert f.name in message and f.known_hash in message
    assert str(folder.resolve()) in message and "D2L_ZOO_DATA" in message


def test_no_download_gives_the_same_clear_error(tmp_path):
    files = _remote(write_mnist_files(tmp_path / "elsewhere"))
    with pytest.raises(DataError, match="4 file\\(s\\) missing or corrupt"):
        fetch_all(files, tmp_path / "nothing", "FashionMNIST", download=False)


def test_corrupt_file_is_detected_and_never_used(tmp_path):
    folder = tmp_path / "fashion-mnist"
    paths = write_mnist_files(folder)
    files = _remote(paths)
    paths[0].write_bytes(paths[0].read_bytes()[:100])  # truncated
    with pytest.raises(DataError, match="corrupt or truncated") as err:
        fetch_all(files, folder, "FashionMNIST", download=False)
    assert paths[0].name in str(err.value) and files[0].known_hash in str(err.value)


def test_corrupt_file_is_replaced_from_a_good_mirror(tmp_path):
    mirror = tmp_path / "mirror"
    files = _remote(write_mnist_files(mirror))
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    (folder / files[0].name).write_bytes(b"garbage")
    paths = fetch_all(files, folder, "FashionMNIST", mirror=str(mirror))
    assert paths[0].read_bytes() == (mirror / files[0].name).read_bytes()


def test_download_with_wrong_hash_is_rejected_and_not_kept(tmp_path):
    mirror = tmp_path / "mirror"
    paths = write_mnist_files(mirror)
    files = [RemoteFile(p.name, "https://example.invalid/x", "md5:" + "0" * 32) for p in paths[:1]]
    folder = tmp_path / "fashion-mnist"
    with pytest.raises(DataError, match="failed its hash check"):
        fetch_all(files, folder, "FashionMNIST", mirror=str(mirror))
    assert not (folder / files[0].name).exists()


def test_datamodule_missing_data_raises_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("D2L_ZOO_DATA", str(tmp_path))
    data = FashionMNIST(download=False)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz"):
        data.prepare_data()


# --- the data modules ----------------------------------------------------------------------------


def test_fashion_mnist_keeps_uint8_and_validates_on_test_set(tiny_mnist):
    data = FashionMNIST(batch_size=32)
    data.prepare_data()
    data.setup("fit")
    x, y = data.train_set.tensors
    assert x.dtype == torch.uint8 and x.shape == (96, 1, 28, 28) and y.dtype == torch.long
    assert data.val_set is data.test_set and len(data.test_set) == 48
    assert data.num_classes == 10 and data.classes[9] == "ankle boot"


def test_val_split_holds_out_part_of_the_training_set(tiny_mnist):
    data = FashionMNIST(val_split=0.25)
    data.setup("fit")
    assert len(data.train_set) == 72 and len(data.val_set) == 24 and len(data.test_set) == 48
    train_rows = {tuple(r.flatten().tolist()) for r in data.train_set.tensors[0]}
    assert not any(tuple(r.flatten().tolist()) in train_rows for r in data.val_set.tensors[0])
    with pytest.raises(ValueError, match="val_split"):
        FashionMNIST(val_split=1.5)


def test_batches_are_converted_resized_and_normalised_on_the_device(tiny_mnist):
    data = FashionMNIST(batch_size=16, resize=64)
    data.setup("fit")
    x, y = data.on_after_batch_transfer(next(iter(data.train_dataloader())), 0)
    assert x.shape == (16, 1, 64, 64) and x.dtype == torch.float32 and y.shape == (16,)
    assert x.min() >= 0.0 and x.max() <= 1.0
    plain = FashionMNIST(batch_size=16, normalize=True)
    plain.setup("fit")
    xn, _ = plain.on_after_batch_transfer(next(iter(plain.val_dataloader())), 0)
    assert xn.shape == (16, 1, 28, 28) and xn.min() < 0
    with pytest.raises(ValueError, match="resize"):
        FashionMNIST(resize=[0, 5])


def test_tensor_batches_visit_every_example_once_per_epoch():
    data = TensorBatches(torch.arange(50), torch.arange(50) * 2)
    loader = DataLoader(data, batch_size=8, shuffle=True, collate_fn=lambda b: b)
    seen = []
    for x, y in loader:
        assert torch.equal(y, 2 * x) and len(x) <= 8
        seen += x.tolist()
    assert sorted(seen) == list(range(50))


def test_synthetic_regression_follows_the_linear_model():
    data = SyntheticRegression(noise=0.0, num_train=100, num_val=20)
    X, y = data.train_set.tensors
    assert X.shape == (100, 2) and y.shape == (100, 1) and len(data.val_set) == 20
    assert torch.allclose(y, X @ torch.tensor([[2.0], [-3.4]]) + 4.2, atol=1e-5)
    again = SyntheticRegression(noise=0.0, num_train=100, num_val=20)
    assert torch.equal(again.train_set.tensors[0], X)
