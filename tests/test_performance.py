"""The speed work keeps behaviour: epoch metrics equal the epoch's own figures, device-resident data and DDP shards,
channels-last checkpoints, worker and thread choices, and the benchmark's own pieces."""

from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from conftest import ROOT, config, process_env, quiet_trainer

import zoo
from cli import run
from datamodules import FashionMNIST
from datamodules.base import DataModule
from datamodules.batching import TensorBatches
from zoo import LeNet, SoftmaxRegression

QUICK = ["--trainer.enable_model_summary", "false", "--trainer.enable_progress_bar", "false"]


class BatchLosses(L.Callback):
    """Each training batch's loss and size, per epoch, and the epoch-level figures Lightning logged."""

    def __init__(self) -> None:
        self.losses: dict[int, list[tuple[float, int]]] = {}
        self.logged: dict[int, dict[str, float]] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self.losses.setdefault(trainer.current_epoch, []).append((float(outputs["loss"]), len(batch[1])))

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.logged[trainer.current_epoch] = {k: float(v) for k, v in trainer.logged_metrics.items()}


def test_epoch_metrics_are_the_epochs_own_weighted_means(tiny_mnist, tmp_path):
    """Metrics handed to Lightning once an epoch still give each epoch's mean over its examples (96 examples in
    batches of 40, 40, 16: a mean of batch means would differ), reset between epochs."""
    model, data = SoftmaxRegression(lr=0.1), FashionMNIST(batch_size=40)
    record = BatchLosses()
    trainer = quiet_trainer(tmp_path, max_epochs=3, callbacks=[record], enable_checkpointing=False)
    trainer.fit(model, datamodule=data)
    means = []
    for epoch in range(3):
        batches = record.losses[epoch]
        assert [n for _, n in batches] == [40, 40, 16]
        means.append(sum(loss * n for loss, n in batches) / 96)
    for epoch in range(3):  # Lightning has computed the epoch's figures when the callbacks' epoch end comes
        torch.testing.assert_close(record.logged[epoch]["train/loss"], means[epoch], rtol=1e-5, atol=1e-6)
    assert len(set(means)) == 3


def test_validation_figures_equal_a_pass_by_hand_and_ignore_the_sanity_check(tiny_mnist, tmp_path):
    model, data = SoftmaxRegression(lr=0.1), FashionMNIST(batch_size=40)
    trainer = quiet_trainer(tmp_path, max_epochs=2, num_sanity_val_steps=2, enable_checkpointing=False)
    trainer.fit(model, datamodule=data)
    model.eval()
    correct = total = loss = 0.0
    with torch.no_grad():
        for batch in data.val_dataloader():
            x, y = data.on_after_batch_transfer(batch, 0)  # uint8 images to floats, as in training
            y_hat = model(x)
            loss += float(model.loss(y_hat, y)) * len(y)
            correct += float((y_hat.argmax(1) == y).sum())
            total += len(y)
    metrics = trainer.callback_metrics
    torch.testing.assert_close(float(metrics["val/acc"]), correct / total)
    torch.testing.assert_close(float(metrics["val/loss"]), loss / total, rtol=1e-5, atol=1e-6)


def test_fit_takes_the_book_loops_steps_exactly_from_the_same_weights_and_batches(tiny_mnist, tmp_path):
    """The zoo's data path and Lightning loop change no number: from the same initial weights, over the same
    batches, `fit` ends with the very weights of the book's `train_ch6` steps over torchvision's dataset with its
    per-image ToTensor. Accuracy differences between the two in the benchmark come from the seed alone."""
    import torchvision
    from book_loops import idx_folder
    from torch import nn
    from torch.utils.data import DataLoader, Sampler

    from datamodules.batching import keep_batch

    orders = [torch.randperm(96, generator=torch.Generator().manual_seed(epoch)).tolist() for epoch in range(2)]

    class EpochOrder(Sampler):  # the same order in both loops; Lightning calls set_epoch, as on its own samplers
        epoch = 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __len__(self) -> int:
            return 96

        def __iter__(self):
            return iter(orders[self.epoch])

    class SameOrder(FashionMNIST):
        def train_dataloader(self):
            return DataLoader(self.train_set, batch_size=40, sampler=order, collate_fn=keep_batch)

    torch.manual_seed(0)
    model, order = LeNet(lr=0.9), EpochOrder()
    book_net = copy.deepcopy(model.net)
    root = idx_folder(FashionMNIST, tmp_path / "torchvision")
    train = torchvision.datasets.FashionMNIST(str(root), train=True, transform=torchvision.transforms.ToTensor())
    optimizer, loss = torch.optim.SGD(book_net.parameters(), lr=0.9), nn.CrossEntropyLoss()
    for epoch in range(2):  # the book's train_ch6 step
        order.set_epoch(epoch)
        for X, y in DataLoader(train, batch_size=40, sampler=order):
            optimizer.zero_grad()
            loss(book_net(X), y).backward()
            optimizer.step()
    trainer = quiet_trainer(tmp_path, max_epochs=2, enable_checkpointing=False)
    trainer.fit(model, datamodule=SameOrder(batch_size=40))
    book = dict(book_net.named_parameters())
    for name, weight in model.net.named_parameters():
        assert torch.equal(weight, book[name]), name
    assert not torch.equal(model.net[0].weight, LeNet(lr=0.9).net[0].weight)


@pytest.mark.parametrize("network", ["lenet", "googlenet", "resnet18", "densenet"])
def test_the_benchmarks_book_side_starts_from_the_zoos_weights_for_the_same_seed(network, monkeypatch):
    """With one seed, the network the book's side of vs_book.py hands to train_ch6 (PyTorch's initialisation, then
    train_ch6's Xavier weights) and the zoo's constructor draw the same initial weights, so the two sides'
    accuracies compare run for run, not as two draws of the recipe's seed-to-seed spread."""
    import book_loops
    import vs_book

    handed = {}
    monkeypatch.setattr(book_loops, "train_ch6", lambda net, *args: handed.setdefault("net", net))
    torch.manual_seed(0)
    vs_book.BENCHMARKS[network].book({"lr": 0.1, "batch_size": 8, "resize": None}, 1, "cpu")
    book = handed["net"].apply(book_loops.init_weights_ch6).state_dict()
    torch.manual_seed(0)
    mine = zoo.get_model(network).net.state_dict()
    assert list(mine) == list(book)
    for name, weight in mine.items():
        assert torch.equal(weight, book[name]), name


def test_tensor_batches_move_to_a_device_in_place_and_batch_the_same():
    x, y = torch.arange(12.0).reshape(6, 2), torch.arange(6)
    data = TensorBatches(x, y)
    before = data.__getitems__([4, 1])
    assert data.to_("cpu") is data and data.device == torch.device("cpu")
    for got, want in zip(data.__getitems__([4, 1]), before):
        torch.testing.assert_close(got, want)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_on_device_keeps_the_images_on_the_gpu(tiny_mnist, tmp_path):
    data = FashionMNIST(batch_size=32, on_device=True)
    trainer = quiet_trainer(tmp_path, max_epochs=1, accelerator="gpu", devices=1, enable_checkpointing=False)
    trainer.fit(LeNet(), datamodule=data)
    assert data.train_set.device.type == "cuda" and data.val_set.device.type == "cuda"
    assert next(iter(data.train_dataloader()))[0].device.type == "cuda"


def test_on_device_training_on_the_cpu_is_the_ordinary_path(tiny_mnist, tmp_path):
    data = FashionMNIST(batch_size=32, on_device=True)
    trainer = quiet_trainer(tmp_path, max_epochs=1, enable_checkpointing=False)
    trainer.fit(LeNet(), datamodule=data)
    loader = data.train_dataloader()
    assert data.train_set.device.type == "cpu" and loader.num_workers == 0 and not loader.pin_memory


@pytest.mark.parametrize("where", ["on_device", "in_memory"])
def test_under_ddp_each_rank_sees_its_shard_and_every_example_once_an_epoch(tmp_path, where):
    command = [sys.executable, str(ROOT / "tests" / "ddp_shards.py"), str(tmp_path), where]
    done = subprocess.run(command, env=process_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    orders = []
    for epoch in ("0", "1"):
        train = [ranks[r][epoch]["train"] for r in (0, 1)]
        assert not set(train[0]) & set(train[1]) and sorted(train[0] + train[1]) == list(range(40))
        val = [ranks[r][epoch]["val"] for r in (0, 1)]
        assert not set(val[0]) & set(val[1]) and sorted(val[0] + val[1]) == list(range(1000, 1040))
        orders.append(train[0])
    assert orders[0] != orders[1]  # a fresh shuffle each epoch


def test_channels_last_trains_and_its_checkpoint_loads_into_a_plain_model(tiny_mnist, tmp_path):
    model = LeNet(lr=0.9, channels_last=True)
    conv = model.net[3].weight  # 16x6x5x5 (the first, with 1 input channel, is both formats at once)
    trainer = quiet_trainer(tmp_path, max_epochs=1)
    trainer.fit(model, datamodule=FashionMNIST(batch_size=32))
    assert model.net[3].weight is conv, "converted in place, before the optimizer took the parameters"
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert not torch.equal(conv, LeNet(lr=0.9).net[3].weight)  # it trained
    path = trainer.checkpoint_callback.best_model_path
    assert LeNet.load_from_checkpoint(path).net[3].weight.is_contiguous(memory_format=torch.channels_last)
    plain = LeNet.load_from_checkpoint(path, channels_last=False)
    assert plain.net[3].weight.is_contiguous()
    x = torch.rand(4, 1, 28, 28)
    model.eval(), plain.eval()
    torch.testing.assert_close(plain(x), model(x))


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_that_emulates_it_warns_before_training(native, tiny_mnist, tmp_path, monkeypatch, recwarn):
    monkeypatch.setattr(zoo.core.base, "cpu_has_bf16", lambda: native)
    trainer = quiet_trainer(tmp_path, max_steps=1, limit_val_batches=0, precision="bf16-mixed", accelerator="cpu")
    trainer.fit(LeNet(), datamodule=FashionMNIST(batch_size=32))
    emulated = [w for w in recwarn if "bfloat16 products are emulated" in str(w.message)]
    assert len(emulated) == (0 if native else 1)


def test_the_cli_resumes_and_tests_a_run_with_the_speed_switches_on(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    switches = ["--model.channels_last", "true", "--data.on_device", "true"]
    args = ["--config", config("lenet"), *switches, "--data.batch_size", "32", *QUICK]
    run(["fit", *args, "--trainer.max_epochs", "1"])
    resumed = run(["fit", "--ckpt_path", "last", "--trainer.max_epochs", "2", *QUICK])
    assert resumed.trainer.current_epoch == 2
    assert resumed.model.net[3].weight.is_contiguous(memory_format=torch.channels_last)
    last = tmp_path / "lightning_logs/version_0/checkpoints/last.ckpt"
    tested = run(["test", "--ckpt_path", str(last), *QUICK])
    # the checkpoint alone gives the resumed run's last validation figure (val_split 0: the test images)
    val, test = resumed.trainer.callback_metrics["val/acc"], tested.trainer.callback_metrics["test/acc"]
    torch.testing.assert_close(test, val)


def test_threads_flag_sets_torchs_threads_and_rejects_zero(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["fit", "--config", config("softmax_regression"), "--trainer.max_epochs", "1", *QUICK]
    run([*args, "--threads", "2"])
    assert torch.get_num_threads() == 2  # the autouse fixture sets 1 back afterwards
    capsys.readouterr()
    with pytest.raises(SystemExit):
        run([*args, "--threads", "0"])
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "--threads must be a positive integer" in err and len(err.splitlines()) == 1


def test_workers_follow_the_data_kind_and_the_device(monkeypatch):
    class Folder(torch.utils.data.Dataset):  # decoded per sample, like an image folder
        def __len__(self):
            return 4

    memory, folder = TensorBatches(torch.zeros(4, 1)), Folder()
    cpu = SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device("cpu")), num_devices=1)
    gpu = SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device("cuda", 0)), num_devices=2)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    data = DataModule()
    data.trainer = cpu
    assert data.workers(memory) == 0 and data.workers(folder) == 0  # a CPU's cores are computing
    data.trainer = gpu
    assert data.workers(memory) == 0 and data.workers(folder) == 7  # 16 cores / 2 GPUs, less the main process
    assert DataModule(num_workers=3).workers(folder) == 3  # an explicit value wins
    with pytest.raises(ValueError, match="num_workers"):
        DataModule(num_workers=-1)


# --- the benchmark's own pieces (its figures are measured by running it, never by a test) --------------------

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_benchmark_reads_the_recipe_from_the_zoos_config():
    import vs_book

    assert vs_book.recipe("convnets/lenet.yaml") == {"lr": 0.9, "batch_size": 256, "resize": None, "epochs": 10}
    for name, bench in vs_book.BENCHMARKS.items():
        assert (ROOT / "configs" / bench.config).is_file(), name


def test_benchmark_runs_both_sides_on_synthetic_data_and_writes_its_row(tmp_path, monkeypatch, capsys):
    """Softmax regression for one epoch on small synthetic Fashion-MNIST files (no data folder)."""
    import vs_book

    monkeypatch.setenv("D2L_ZOO_DATA", str(tmp_path / "nothing"))
    monkeypatch.setattr(vs_book, "SYNTHETIC_SIZES", (1024, 256))
    monkeypatch.setattr(FashionMNIST, "remote_files", FashionMNIST.remote_files)  # restored after the test
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "bench.csv"
    vs_book.main(["softmax_regression", "--epochs", "1", "--seed", "3", "--csv", str(out)])
    printed = capsys.readouterr().out
    assert "softmax_regression book:" in printed and "softmax_regression zoo:" in printed and "zoo / book" in printed
    (row,) = list(csv.DictReader(out.open()))
    assert row["network"] == "softmax_regression" and row["data"] == "synthetic" and row["epochs"] == "1"
    assert row["seed"] == "3" and row["zoo_flags"] == ""
    book, zoo_, speedup = (float(row[k]) for k in ("book_seconds", "zoo_seconds", "speedup"))
    assert (book - 0.05) / (zoo_ + 0.05) - 0.01 <= speedup <= (book + 0.05) / (zoo_ - 0.05) + 0.01  # seconds: 0.1 s
    assert 0.05 < float(row["book_metric"]) < 0.2 and 0.05 < float(row["zoo_metric"]) < 0.2  # random labels


def test_the_gpu_check_plan_names_known_benchmarks_and_configs(tmp_path):
    """benchmarks/gpu_checks.sh's plan (printed, not run, with DRY=1): every run is a benchmark vs_book.py knows,
    with configs that exist, the issue's four GPU targets first (a run out of time skips the last ones)."""
    import vs_book

    env = {**process_env(), "DRY": "1", "OUT": str(tmp_path)}
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_checks.sh"), "run"], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    runs = [line.split() for line in done.stdout.splitlines() if line.startswith("timeout ")]
    benchmarks = [words[6] for words in runs if words[3] == "benchmarks/vs_book.py"]
    assert benchmarks[:4] == ["lenet", "resnet18", "gru", "seq2seq"] and set(benchmarks) <= set(vs_book.BENCHMARKS)
    assert all(words[2] == "python3" and int(words[1]) <= 180 for words in runs)
    for words in runs:
        configs = [words[i + 1] for i, word in enumerate(words) if word == "--config"]
        assert all((ROOT / c).is_file() for c in configs), configs
