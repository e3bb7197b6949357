"""Production pieces: training-curve plots, export to TorchScript and ONNX, TensorBoard and W&B (offline) logging."""

from __future__ import annotations

import pytest
import torch
from conftest import CONFIGS, config

import zoo
from cli import run
from zoo.core.export import export

QUICK = ["--trainer.enable_model_summary", "false"]


def test_fit_draws_its_curves_and_plot_redraws_several_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for lr in ("0.03", "0.01"):
        run(["fit", "--config", config("linear_regression"), "--model.lr", lr, *QUICK])
    runs = sorted(tmp_path.glob("lightning_logs/version_*"))
    assert all((run_dir / "curves.png").stat().st_size > 5000 for run_dir in runs)  # drawn at the end of fit
    capsys.readouterr()
    run(["plot", *map(str, runs), "--out", str(tmp_path / "both.png")])
    assert "wrote" in capsys.readouterr().out and (tmp_path / "both.png").stat().st_size > 5000
    with pytest.raises(SystemExit) as exit_info:
        run(["plot", str(tmp_path)])  # not a run folder
    assert exit_info.value.code == 2 and "has no metrics.csv" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
@pytest.mark.parametrize("name", ["lenet-fashion-mnist", "gru-time-machine"])
def test_exports_compute_what_the_model_computes(name, fmt, tmp_path):
    model = zoo.load_pretrained(name)
    path, error = export(model, tmp_path / f"model.{fmt}", fmt)
    assert path.stat().st_size > 10_000 and error < 1e-4  # export() runs the file and compares it with the model
    if fmt == "torchscript":  # usable without the zoo
        loaded = torch.jit.load(str(path))
        x = torch.randint(0, 28, (1, 35)) if "gru" in name else torch.rand(1, 1, 28, 28)
        first = [o[0] if isinstance(o, tuple) else o for o in (loaded(x), model(x))]
        torch.testing.assert_close(first[0], first[1])


def test_export_from_the_command_line(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run(["fit", "--model", "LeNet", "--data", "FashionMNIST", "--trainer.max_epochs", "1", *QUICK])
    ckpt = next(tmp_path.glob("lightning_logs/version_0/checkpoints/last.ckpt"))
    capsys.readouterr()
    run(["export", "--ckpt_path", str(ckpt), "--format", "onnx", "--out", str(tmp_path / "lenet.onnx")])
    assert "largest difference from the model" in capsys.readouterr().out and (tmp_path / "lenet.onnx").is_file()


def test_tensorboard_logging(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    preset = str(CONFIGS / "logger" / "tensorboard.yaml")
    run(["fit", "--config", config("linear_regression"), "--config", preset, "--trainer.max_epochs", "1", *QUICK])
    assert list(tmp_path.glob("lightning_logs/version_0/events.out.tfevents.*"))


def test_wandb_logging_offline_needs_no_account(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    preset = str(CONFIGS / "logger" / "wandb.yaml")
    cli = run(["fit", "--config", config("linear_regression"), "--config", preset, "--trainer.max_epochs", "1", *QUICK])
    assert type(cli.trainer.logger).__name__ == "WandbLogger"
    runs = list(tmp_path.glob("wandb/offline-run-*/run-*.wandb"))
    assert runs and runs[0].stat().st_size > 0
