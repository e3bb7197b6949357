"""Resuming a fit: `--ckpt_path last` finds the run, continues in its folder, and a run killed mid-epoch (a real
process, SIGKILL) ends with exactly the weights of an uninterrupted one; SIGTERM stops with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, config, process_env

from cli import run

QUICK = ["--trainer.enable_model_summary", "false", "--trainer.enable_progress_bar", "false"]


def fit_process(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = process_env(PYTHONPATH=str(ROOT / "tests"))
    command = [sys.executable, str(ROOT / "cli.py"), "fit", *args, "--trainer.default_root_dir", str(root), *QUICK]
    return subprocess.run(command, cwd=root.parent, env=env, capture_output=True, text=True, timeout=600)


def weights(root: Path) -> dict[str, torch.Tensor]:
    return torch.load(root / "lightning_logs/version_0/checkpoints/last.ckpt", weights_only=True)["state_dict"]


def killer(tmp_path: Path, epoch: int, batch: int, signum: str = "SIGKILL") -> list[str]:
    return [
        "--trainer.callbacks+=kill_callback.SignalAt",
        f"--trainer.callbacks.epoch={epoch}",
        f"--trainer.callbacks.batch={batch}",
        f"--trainer.callbacks.once={tmp_path / 'signalled'}",
        f"--trainer.callbacks.signum={signum}",
    ]


@pytest.mark.parametrize(
    "recipe",
    [
        # shuffled minibatches (the sampler draws from the global generator each epoch)
        ["--config", config("linear_regression"), "--trainer.max_epochs", "3"],
        # The Time Machine's sequential partitioning: a fresh offset per pass, and hidden state across batches
        ["--config", config("gru_time_machine"), "--data.max_tokens", "3000", "--model.num_hiddens", "8"]
        + ["--model.num_preds", "0", "--trainer.max_epochs", "3", "--checkpoint_every", "1"],  # the recipe's is 10
    ],
    ids=["shuffled", "sequential-text"],
)
def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_weights(recipe, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    done = fit_process(whole, *recipe)
    assert done.returncode == 0, done.stderr[-2000:]

    done = fit_process(killed, *recipe, *killer(tmp_path, epoch=1, batch=1))  # mid-epoch in both recipes
    assert done.returncode == -9, done.stderr[-2000:]  # SIGKILL: nothing could be saved on the way out
    assert (tmp_path / "signalled").exists()

    done = fit_process(killed, "--ckpt_path", "last")  # no config: the run's own config.yaml
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming" in done.stdout and f"{killed}/lightning_logs/version_0" in done.stdout
    assert [p.name for p in (killed / "lightning_logs").iterdir()] == ["version_0"]  # the same run folder
    resumed, uninterrupted = weights(killed), weights(whole)
    assert resumed.keys() == uninterrupted.keys()
    for name in resumed:
        assert torch.equal(resumed[name], uninterrupted[name]), name
    epochs = {line.split(",")[0] for line in (killed / "lightning_logs/version_0/metrics.csv").read_text().split()[1:]}
    assert epochs == {"0", "1", "2"}  # the epoch logged before the kill is kept, the others appended


def test_sigterm_stops_the_fit_with_a_clear_message_and_a_checkpoint(tmp_path):
    root = tmp_path / "run"
    recipe = ["--config", config("linear_regression"), "--trainer.max_epochs", "3"]
    done = fit_process(root, *recipe, *killer(tmp_path, epoch=1, batch=2, signum="SIGTERM"))
    assert done.returncode == 143, (done.returncode, done.stderr[-2000:])
    assert "interrupted by SIGTERM" in done.stderr and "--ckpt_path last" in done.stderr
    assert torch.load(root / "lightning_logs/version_0/checkpoints/last.ckpt", weights_only=True)["epoch"] == 0


def test_last_with_no_run_to_resume_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run(["fit", "--config", config("linear_regression"), "--ckpt_path", "last"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --ckpt_path last: no run under") and len(err.splitlines()) == 1


def test_resuming_from_a_missing_or_corrupt_checkpoint_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    truncated = tmp_path / "cut.ckpt"
    run(["fit", "--config", config("linear_regression"), "--trainer.max_epochs", "1", *QUICK])
    good = (tmp_path / "lightning_logs/version_0/checkpoints/last.ckpt").read_bytes()
    truncated.write_bytes(good[: len(good) // 2])
    for path, message in ((tmp_path / "nope.ckpt", "checkpoint not found"), (truncated, "not a readable")):
        with pytest.raises(SystemExit) as exit_info:
            run(["fit", "--config", config("linear_regression"), "--ckpt_path", str(path)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
