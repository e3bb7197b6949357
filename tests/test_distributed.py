"""Scale-out on CPU with gloo: torchrun's launch, equality of 2 processes and 1 at the same global batch, SLURM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from conftest import ROOT, config, process_env

from cli import run

QUICK = ["--trainer.enable_model_summary", "false", "--trainer.enable_progress_bar", "false"]
ENV = process_env()


def last_weights(root: Path) -> dict[str, torch.Tensor]:
    return torch.load(root / "lightning_logs/version_0/checkpoints/last.ckpt", weights_only=True)["state_dict"]


def test_torchrun_launches_two_processes_that_train_together(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(ROOT / "cli.py"), "fit"]
    command += ["--config", config("linear_regression"), "--trainer.max_epochs", "1", *QUICK]
    command += ["--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp"]
    done = subprocess.run(command, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("epoch 1/1") == 1 and done.stdout.count("fit done") == 1  # printed once, by rank 0
    assert (tmp_path / "lightning_logs/version_0/checkpoints/last.ckpt").is_file()
    assert "[rank: 1]" in done.stderr  # the second process ran the same fit


def test_two_processes_reach_the_weights_of_one_at_the_same_global_batch(tmp_path, monkeypatch):
    """DDP splits each global batch between the ranks (Lightning's DistributedSampler, seeded 0, a fresh order per
    epoch) and averages their gradients: two ranks of 5 examples take the steps one process takes with 10, when the
    one process draws its batches from the same sampler with a single replica."""
    from torch.utils.data import DataLoader, DistributedSampler

    from datamodules.base import DataModule
    from datamodules.batching import keep_batch

    recipe = ["fit", "--config", config("linear_regression"), "--trainer.max_epochs", "2", *QUICK]
    one, two = tmp_path / "one", tmp_path / "two"
    command = [sys.executable, str(ROOT / "cli.py"), *recipe, "--data.batch_size", "5"]
    command += ["--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp"]
    done = subprocess.run([*command, "--trainer.default_root_dir", str(two)], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    def single_replica_loader(self):
        sampler = DistributedSampler(self.train_set, num_replicas=1, rank=0, shuffle=True, seed=0)
        return DataLoader(self.train_set, batch_size=self.batch_size, sampler=sampler, collate_fn=keep_batch)

    monkeypatch.setattr(DataModule, "train_dataloader", single_replica_loader)
    monkeypatch.chdir(tmp_path)
    run([*recipe, "--data.batch_size", "10", "--trainer.default_root_dir", str(one)])
    single, parallel = last_weights(one), last_weights(two)
    assert single.keys() == parallel.keys()
    for name in single:
        torch.testing.assert_close(parallel[name], single[name], atol=1e-6, rtol=1e-5)


def test_with_slurms_variables_the_trainer_takes_slurms_environment(tmp_path, monkeypatch):
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    slurm = {"SLURM_NTASKS": "1", "SLURM_NTASKS_PER_NODE": "1", "SLURM_JOB_NAME": "d2l-zoo", "SLURM_JOB_ID": "4242"}
    slurm |= {"SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0", "SLURM_NODELIST": "127.0.0.1"}
    for name, value in slurm.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    cli = run(
        ["fit", "--config", config("linear_regression"), "--trainer.max_epochs", "1", "--trainer.accelerator", "cpu"]
        + ["--trainer.devices", "1", "--trainer.strategy", "ddp", "--trainer.limit_train_batches", "2", *QUICK]
    )
    environment = cli.trainer.strategy.cluster_environment
    assert isinstance(environment, SLURMEnvironment)
    assert (environment.global_rank(), environment.local_rank(), environment.node_rank()) == (0, 0, 0)
    assert environment.main_address == "127.0.0.1" and cli.trainer.global_step == 2
