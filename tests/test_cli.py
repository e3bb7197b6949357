"""The command line end to end on tiny fixtures: fit -> test --ckpt_path -> predict, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import CONFIGS, NETWORK_CONFIGS, config, process_env

import cli as cli_module
from cli import run as main

TRAINER_PRESETS = sorted((CONFIGS / "trainer").glob("*.yaml")) + sorted((CONFIGS / "logger").glob("*.yaml"))
FAST = ["--trainer.max_epochs", "1", "--trainer.enable_model_summary", "false"]


def run(*args: str):
    return main(list(args))


def last_checkpoint(root: Path) -> Path:
    return sorted(root.glob("lightning_logs/version_*/checkpoints/last.ckpt"))[-1]


def test_fit_then_test_and_predict_from_the_checkpoint_alone(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cli = run("fit", "--config", config("lenet"), "--data.batch_size", "32", *FAST)
    assert cli.trainer.current_epoch == 1
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and "examples/s" in out and "val/acc" in out
    ckpt = last_checkpoint(tmp_path)

    cli = run("test", "--ckpt_path", str(ckpt))  # no --model, --data or --config
    assert type(cli.model).__name__ == "LeNet" and cli.model.hparams.lr == 0.9
    assert type(cli.datamodule).__name__ == "FashionMNIST" and cli.datamodule.batch_size == 32
    assert "test/acc" in cli.trainer.callback_metrics

    cli = run("predict", "--ckpt_path", str(ckpt), "--data.batch_size", "16")  # flags still override
    assert cli.datamodule.batch_size == 16
    out = capsys.readouterr().out
    png = Path(out.split("wrote ")[-1].strip())
    assert png.name == "predictions.png" and png.stat().st_size > 1000
    rows = (png.parent / "predictions.csv").read_text().splitlines()
    assert rows[0] == "index,target,pred,target_name,pred_name" and len(rows) == 1 + 48


def test_models_and_data_by_class_name(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for model in ("SoftmaxRegression", "MLP"):
        cli = run("fit", "--model", model, "--model.impl", "scratch", "--data", "MNIST", *FAST)
        assert type(cli.model).__name__ == model and cli.model.impl == "scratch"


def test_tf32_products_are_asked_for_on_cuda_only(tmp_path, monkeypatch):
    """Since torch 2.9 the TF32 switch also reaches oneDNN's float32 CPU products: a CPU run must keep float32."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    torch.set_float32_matmul_precision("highest")
    with pytest.raises(SystemExit):  # --print_config ends the command once parsed
        main(["fit", "--model", "SoftmaxRegression", "--data", "MNIST", "--print_config"])
    assert torch.get_float32_matmul_precision() == "highest"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    try:
        cli_module._allow_tf32_on_cuda()
        assert torch.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision("highest")


def test_linear_regression_recovers_w_and_b(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run("fit", "--config", config("linear_regression"), "--trainer.enable_model_summary", "false")
    out = capsys.readouterr().out
    errors = out.split("error in w: ")[1]
    w_err = [abs(float(v)) for v in errors.split("]")[0].strip("[").split(",")]
    b_err = abs(float(errors.split("error in b: ")[1].split()[0]))
    assert max(w_err) < 0.01 and b_err < 0.01


@pytest.mark.parametrize("path", NETWORK_CONFIGS, ids=lambda p: p.stem)
def test_every_config_parses(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run("fit", "--config", str(path), "--print_config")
    assert exit_info.value.code == 0
    assert "class_path" in capsys.readouterr().out


@pytest.mark.parametrize("preset", TRAINER_PRESETS, ids=lambda p: p.stem)
def test_trainer_presets_combine_with_a_network_config(preset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run("fit", "--config", config("lenet"), "--config", str(preset), "--print_config")
    assert exit_info.value.code == 0


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run("test", "--ckpt_path", str(tmp_path / "nope.ckpt"))
    assert exit_info.value.code == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_a_file_that_is_not_a_checkpoint_is_a_clear_error(tmp_path, capsys):
    bogus = tmp_path / "model.ckpt"
    bogus.write_text("not a checkpoint")
    with pytest.raises(SystemExit):
        run("predict", "--ckpt_path", str(bogus))
    assert "not a readable Lightning checkpoint" in capsys.readouterr().err


def test_bad_config_value_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        run("fit", "--model", "MLP", "--model.impl", "fastest", "--data", "FashionMNIST")
    err = capsys.readouterr().err
    assert "invalid configuration: impl must be one of" in err and "Traceback" not in err
    assert "Union subtypes" not in err


def test_missing_data_offline_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("D2L_ZOO_DATA", str(tmp_path / "empty"))
    with pytest.raises(SystemExit) as exit_info:
        run("fit", "--model", "LeNet", "--data", "FashionMNIST", "--data.download", "false", *FAST)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte.gz" in err and "md5:bb300cfdad3c16e7a12a480ee83cd310" in err
    assert str(tmp_path / "empty" / "fashion-mnist") in err


def test_ddp_on_two_cpu_processes(tmp_path):
    """Lightning launches a second rank; both shard The Time Machine and train one epoch together."""
    import subprocess
    import sys

    root = Path(__file__).parents[1]
    command = [sys.executable, str(root / "cli.py"), "fit", "--config", config("gru_time_machine")]
    command += ["--data.max_tokens", "3000", "--model.num_hiddens", "16", "--trainer.max_epochs", "1"]
    command += ["--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp"]
    env = process_env()
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("epoch 1/1") == 1 and "generated:" in done.stdout  # metrics printed once, by rank 0
    assert "distributed_backend=gloo" in done.stderr and "All distributed processes registered" in done.stderr


def test_checkpointing_can_be_switched_off(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = run(
        "fit",
        "--model",
        "SoftmaxRegression",
        "--data",
        "FashionMNIST",
        *FAST,
        "--trainer.enable_checkpointing",
        "false",
    )
    assert cli.trainer.checkpoint_callback is None and not list(tmp_path.glob("lightning_logs/*/checkpoints"))


def test_checkpoint_every_n_epochs_still_saves_the_last_epoch(tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.chdir(tmp_path)
    saves = []
    monkeypatch.setattr(torch, "save", lambda obj, f, *args, **kwargs: saves.append(obj["epoch"]))
    args = ["fit", "--config", config("linear_regression"), "--trainer.enable_model_summary", "false"]
    cli = run(*args, "--trainer.max_epochs", "4", "--checkpoint_every", "2")
    assert cli.trainer.checkpoint_callback.every_n_epochs == 2 and saves == [1, 3]  # after epochs 2 and 4 (0-based)
    saves.clear()
    run(*args, "--trainer.max_epochs", "5", "--checkpoint_every", "2")
    assert saves == [1, 3, 5]  # and at the end of a run that stops between two: its state after 5 epochs
    monkeypatch.undo()
    with pytest.raises(SystemExit):
        run(*args, "--checkpoint_every", "0")
    assert "--checkpoint_every must be a positive integer, got 0" in one_error_line(capsys)


# --- Lightning's conventions kept -------------------------------------------------------------------


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_the_console_script_exits_0_after_fit(tmp_path):
    import subprocess
    import sys

    script = Path(sys.executable).with_name("d2l-zoo")
    assert script.is_file(), "pip install -e . installs the d2l-zoo console script next to python"
    command = [str(script), "fit", "--config", config("linear_regression"), "--trainer.max_epochs", "1"]
    env = process_env()
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ZooCLI object" not in done.stdout + done.stderr
    assert "run folder: lightning_logs/version_0" in done.stdout.replace("./", "")


def test_default_root_dir_receives_the_logs_and_checkpoints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "runs"
    run("fit", "--config", config("linear_regression"), *FAST, "--trainer.default_root_dir", str(root))
    assert (root / "lightning_logs" / "version_0" / "metrics.csv").is_file()
    assert (root / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt").is_file()
    assert not (tmp_path / "lightning_logs").exists()


def test_fast_dev_run_writes_no_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run("fit", "--config", config("linear_regression"), "--trainer.fast_dev_run", "2")
    assert not list(tmp_path.rglob("*.ckpt"))


def test_evaluating_a_runs_checkpoint_logs_into_that_run(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run("fit", "--model", "SoftmaxRegression", "--data", "FashionMNIST", *FAST)
    ckpt = last_checkpoint(tmp_path)
    run("test", "--ckpt_path", str(ckpt))
    run("predict", "--ckpt_path", str(ckpt))
    run_dir = ckpt.parents[1]
    assert (run_dir / "test" / "metrics.csv").is_file() and (run_dir / "predict" / "predictions.png").is_file()
    assert [p.name for p in (tmp_path / "lightning_logs").iterdir()] == ["version_0"]  # no new versions


def test_a_checkpoint_of_another_network_is_one_clear_error(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run("fit", "--model", "SoftmaxRegression", "--data", "FashionMNIST", *FAST)
    ckpt = str(last_checkpoint(tmp_path))
    capsys.readouterr()
    for wrong in (["--model", "LeNet"], ["--config", config("lenet")]):
        with pytest.raises(SystemExit) as exit_info:
            run("test", "--ckpt_path", ckpt, *wrong)
        assert exit_info.value.code == 2
        err = one_error_line(capsys)
        assert "holds a zoo.SoftmaxRegression, not a zoo.LeNet" in err


def test_weights_that_do_not_fit_the_model_are_one_clear_error(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run("fit", "--model", "MLP", "--data", "FashionMNIST", *FAST)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        run("test", "--ckpt_path", str(last_checkpoint(tmp_path)), "--model.num_hiddens", "[32]")
    assert "the checkpoint's weights do not fit this model" in one_error_line(capsys)


def test_a_missing_gpu_is_one_clear_error(tmp_path, monkeypatch, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run("fit", "--config", config("linear_regression"), "--trainer.accelerator", "gpu", "--trainer.devices", "2")
    assert exit_info.value.code == 2
    assert "--trainer.accelerator" in one_error_line(capsys)


def test_an_unknown_network_or_data_set_lists_the_known_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for args, hint in ((["--model", "LeNett"], "Did you mean LeNet"), (["--data", "FashionMnist"], "FashionMNIST")):
        with pytest.raises(SystemExit) as exit_info:
            run("fit", *args)
        assert exit_info.value.code == 2
        err = one_error_line(capsys)
        assert hint in err and "Known: " in err and ("ResNet" in err or "TimeMachine" in err)
        assert "ZooModule" not in err and "FileDataModule" not in err  # bases are not choices


def test_help_lists_every_command_and_list_prints_the_registry(capsys):
    import zoo

    with pytest.raises(SystemExit) as exit_info:
        run("--help")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("fit", "validate", "test", "predict", "'list'", "'kfold'"))
    run("list")
    out = capsys.readouterr().out
    assert all(name in out for name in zoo.list_models())
    with pytest.raises(SystemExit, match="usage: cli.py kfold"):
        run("kfold", "--help")


def test_model_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        run("fit", "--model.help", "LeNet")
    help_text = capsys.readouterr().out.split("Help for --model.help")[1]
    options = [line.split()[0] for line in help_text.splitlines() if line.strip().startswith("--model.")]
    assert {"--model.num_classes", "--model.in_channels", "--model.init", "--model.lr"} <= set(options)
    for option in options:  # the text after each option says what it is before "(type: ..."
        described = help_text.split(option, 1)[1].split("(type:", 1)[0]
        assert len(described.replace(option.split(".")[1].upper(), "").strip()) > 3, option


def test_lightning_still_has_the_private_method_the_cli_replaces():
    """ZooCLI overrides LightningCLI._parse_ckpt_path (it re-applies checkpoint values over the user's flags);
    if Lightning renames it, the override silently stops mattering: fail here instead."""
    import inspect

    from lightning.pytorch.cli import LightningCLI

    from cli import ZooCLI

    assert "_parse_ckpt_path" in LightningCLI.__dict__ and list(
        inspect.signature(LightningCLI._parse_ckpt_path).parameters
    ) == ["self"]
    assert ZooCLI._parse_ckpt_path is not LightningCLI._parse_ckpt_path


def test_a_config_that_brings_its_own_model_checkpoint_keeps_it(tmp_path, monkeypatch):
    from lightning.pytorch.callbacks import ModelCheckpoint

    monkeypatch.chdir(tmp_path)
    own = tmp_path / "own.yaml"
    own.write_text(
        "trainer:\n  callbacks:\n    - class_path: lightning.pytorch.callbacks.ModelCheckpoint\n"
        "      init_args:\n        filename: mine\n"
    )
    cli = run("fit", "--config", config("linear_regression"), "--config", str(own), *FAST)
    checkpoints = [c for c in cli.trainer.callbacks if isinstance(c, ModelCheckpoint)]
    assert len(checkpoints) == 1 and checkpoints[0].filename == "mine"
