"""The optimization chapter: the scratch optimizers against torch's and against hand-computed steps, the schedules
against the book's, the airfoil data, LeNet's variants, trajectories, and the optimizers and schedules from the
command line (by name, by class, restored on resume)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import CONFIGS, config, sha1, write_airfoil
from torch import nn

import zoo
from cli import run as main
from datamodules import Airfoil, DataError, RemoteFile
from zoo.core.optimizers import OPTIMIZERS, SCHEDULERS, make_optimizer, make_scheduler
from zoo.optim import (
    CosineScheduler,
    FactorScheduler,
    MultiFactorScheduler,
    ScratchAdadelta,
    SquareRootScheduler,
    Yogi,
)

FAST = ["--trainer.enable_model_summary", "false"]


def run(*args: str):
    return main(list(args))


# --- the scratch optimizers take torch's steps, where torch has the algorithm ----------------------------------

# (scratch name, its args, torch name, torch's args): the same hyperparameters on both sides. AdaGrad and RMSProp
# put eps inside the square root in the book and outside in torch: with eps 0 the formulas are the same.
SAME_ALGORITHM = [
    ("sgd-scratch", {}, {}, "sgd", {}),
    ("momentum-scratch", {"momentum": 0.9}, {}, "sgd", {}),
    ("nesterov-scratch", {"momentum": 0.9}, {}, "sgd", {"nesterov": True}),
    ("adagrad-scratch", {}, {"eps": 0.0}, "adagrad", {"eps": 0.0}),
    ("rmsprop-scratch", {}, {"gamma": 0.9, "eps": 0.0}, "rmsprop", {"alpha": 0.9, "eps": 0.0}),
    ("adadelta-scratch", {}, {"rho": 0.9, "eps": 1e-5}, "adadelta", {"rho": 0.9, "eps": 1e-5}),
    ("adam-scratch", {}, {"betas": [0.9, 0.99], "eps": 1e-6}, "adam", {"betas": [0.9, 0.99], "eps": 1e-6}),
]


def least_squares_path(name: str, lr: float, args: dict, steps: int = 300, **options) -> list[torch.Tensor]:
    """A 5-3 linear layer on minibatches of a fixed least-squares problem: the parameters after every step."""
    gen = torch.Generator().manual_seed(0)
    X, W_true = torch.randn(64, 5, generator=gen), torch.randn(5, 3, generator=gen)
    Y = X @ W_true + 0.1 * torch.randn(64, 3, generator=gen)
    W = nn.Parameter(torch.randn(5, 3, generator=gen))
    b = nn.Parameter(torch.zeros(3))
    optimizer = make_optimizer(name, [W, b], lr, args, **options)
    path = []
    for _ in range(steps):
        rows = torch.randint(0, 64, (8,), generator=gen)
        optimizer.zero_grad()
        ((X[rows] @ W + b - Y[rows]) ** 2).mean().backward()
        optimizer.step()
        path.append(torch.cat([W.detach().flatten(), b.detach()]).clone())
    return path


@pytest.mark.parametrize(
    "scratch, options, args, torch_name, torch_args", SAME_ALGORITHM, ids=[c[0] for c in SAME_ALGORITHM]
)
def test_each_scratch_optimizer_takes_torchs_steps(scratch, options, args, torch_name, torch_args):
    lr = 1.0 if scratch == "adadelta-scratch" else 0.01
    options = {"weight_decay": 0.01, **options}
    ours = least_squares_path(scratch, lr, args, **options)
    theirs = least_squares_path(torch_name, lr, torch_args, **options)
    assert type(make_optimizer(torch_name, [nn.Parameter(torch.zeros(1))], lr, torch_args, **options)).__module__ == (
        f"torch.optim.{torch_name}"
    )
    assert (ours[-1] - ours[0]).abs().max() > 1e-2  # they went somewhere
    for step, (a, b) in enumerate(zip(ours, theirs)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=f"{scratch} left torch's path at step {step}")


def test_the_epsilon_is_where_the_book_puts_it():
    """AdaGrad: x -= eta g / sqrt(s + eps), not torch's eta g / (sqrt(s) + eps): with a large eps they differ."""
    p = nn.Parameter(torch.tensor([1.0]))
    optimizer = make_optimizer("adagrad-scratch", [p], 0.5, {"eps": 3.0})
    p.grad = torch.tensor([1.0])
    optimizer.step()
    assert p.item() == pytest.approx(1 - 0.5 * 1 / math.sqrt(1 + 3))


def two_steps(optimizer_cls, grads, **hyperparameters) -> tuple[list[float], dict]:
    p = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    optimizer = optimizer_cls([p], **hyperparameters)
    values = []
    for g in grads:
        p.grad = torch.tensor([g], dtype=torch.float64)
        optimizer.step()
        values.append(p.item())
    return values, {k: v.item() if torch.is_tensor(v) else v for k, v in optimizer.state[p].items()}


def test_yogi_follows_its_formula_on_a_hand_computed_example():
    """x0 = 1, gradients 2 then 0.5, lr 0.1, betas (0.5, 0.9), eps 0.1.

    Step 1: v = 0.5 * 2 = 1; s = 0 + 0.1 * sign(4 - 0) * 4 = 0.4; v_hat = 1 / 0.5 = 2, s_hat = 0.4 / 0.1 = 4;
            x = 1 - 0.1 * 2 / (2 + 0.1) = 0.9047619...
    Step 2: v = 0.5 * 1 + 0.5 * 0.5 = 0.75; s = 0.4 + 0.1 * sign(0.25 - 0.4) * 0.25 = 0.375 (Adam: 0.385);
            v_hat = 0.75 / 0.75 = 1, s_hat = 0.375 / 0.19 = 1.97368...; x = 0.9047619 - 0.1 / (1.40487... + 0.1)
            = 0.8383114...
    """
    values, state = two_steps(Yogi, [2.0, 0.5], lr=0.1, betas=(0.5, 0.9), eps=0.1)
    assert values == pytest.approx([0.9047619048, 0.8383113670], abs=1e-9)
    assert state["v"] == pytest.approx(0.75) and state["s"] == pytest.approx(0.375) and state["step"] == 2


def test_adadelta_follows_its_formula_on_a_hand_computed_example():
    """x0 = 1, gradients 2 then 0.5, rho 0.9, eps 0.01 (and the book's lr 1).

    Step 1: s = 0.1 * 4 = 0.4; g' = sqrt(0 + 0.01) / sqrt(0.41) * 2 = 0.3123475...; x = 0.6876524...;
            delta = 0.1 * g'^2 = 0.004 / 0.41 = 0.0097561...
    Step 2: s = 0.36 + 0.025 = 0.385; g' = sqrt(0.0197561) / sqrt(0.395) * 0.5 = 0.1118207...;
            x = 0.5758318...; delta = 0.9 * 0.0097561 + 0.1 * g'^2 = 0.0100309...
    """
    values, state = two_steps(ScratchAdadelta, [2.0, 0.5], rho=0.9, eps=0.01)
    assert values == pytest.approx([0.6876524762, 0.5758318197], abs=1e-9)
    assert state["s"] == pytest.approx(0.385) and state["delta"] == pytest.approx(0.0100308737, abs=1e-9)


def test_scratch_optimizers_take_the_weight_decay_chapters_parameter_groups():
    """The concise weight-decay model decays w only, through its groups; a scratch SGD now honours them."""
    ours, theirs = (zoo.WeightDecay(impl="concise", lambd=3.0, optimizer=name) for name in ("sgd-scratch", "sgd"))
    theirs.load_state_dict(ours.state_dict())
    X, y = torch.randn(5, 200), torch.randn(5, 1)
    for model in (ours, theirs):
        optimizer = model.configure_optimizers()
        assert [g["weight_decay"] for g in optimizer.param_groups] == [3.0, 0.0]
        model.loss(model(X), y).backward()
        optimizer.step()
    torch.testing.assert_close(ours.state_dict(), theirs.state_dict())


def test_the_names_cover_the_book_and_torch():
    scratch = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "yogi"}
    assert {f"{n}-scratch" for n in scratch} | {"sgd", "adam", "adamw", "adagrad", "rmsprop", "adadelta"} == set(
        OPTIMIZERS
    )
    assert set(SCHEDULERS) == {"square-root", "factor", "multi-factor", "cosine"}
    assert zoo.optim.Yogi is Yogi and zoo.ScratchSGD is zoo.optim.ScratchSGD


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'; known: sgd (torch.optim.SGD), adam"),
        ({"lr": -0.1}, "lr must be a positive number, got -0.1"),
        ({"optimizer": "adam-scratch", "optimizer_args": {"betas": [0.9, 1.0]}}, "betas must be two numbers in [0, 1)"),
        ({"optimizer": "adam", "optimizer_args": {"betas": [-0.1, 0.9]}}, "betas must be two numbers in [0, 1)"),
        (
            {"optimizer": "yogi-scratch", "optimizer_args": {"gamma": 0.9}},
            "takes no gamma in optimizer_args (it takes betas, eps)",
        ),
        ({"optimizer": "rmsprop-scratch", "optimizer_args": {"gamma": 1.5}}, "gamma must be in [0, 1]"),
        ({"optimizer": "momentum-scratch"}, "momentum must be in (0, 1)"),
        ({"optimizer": "adagrad-scratch", "momentum": 0.9}, "'adagrad-scratch' has no momentum"),
        ({"weight_decay": -1.0}, "weight_decay must be a non-negative number"),
        ({"lr_scheduler": "linear"}, "unknown lr_scheduler 'linear'; known: square-root"),
        ({"lr_scheduler": "cosine"}, "'cosine' needs max_update in lr_scheduler_args"),
        ({"lr_scheduler": "multi-factor", "lr_scheduler_args": {"milestones": [30, 15]}}, "increasing positive"),
        ({"lr_scheduler": "cosine", "lr_scheduler_args": {"max_update": 5, "warmup_steps": 5}}, "less than max"),
        ({"lr_scheduler_args": {"max_update": 5}}, "without an lr_scheduler"),
    ],
)
def test_bad_optimizers_and_schedules_are_one_clear_error(kwargs, message):
    with pytest.raises(ValueError) as err:
        zoo.LinearRegression(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_classes_check_their_own_hyperparameters():
    p = [nn.Parameter(torch.zeros(1))]
    with pytest.raises(ValueError, match=r"Yogi: betas must be two numbers in \[0, 1\), got \(0.9, 1.5\)"):
        Yogi(p, betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="ScratchAdadelta: lr must be a positive number, got -1"):
        ScratchAdadelta(p, lr=-1)


# --- the schedules give the book's learning rates ---------------------------------------------------------------


class BookFactorScheduler:  # transcribed from the book's section, to compare against
    def __init__(self, factor=1, stop_factor_lr=1e-7, base_lr=0.1):
        self.factor, self.stop_factor_lr, self.base_lr = factor, stop_factor_lr, base_lr

    def __call__(self, num_update):
        self.base_lr = max(self.stop_factor_lr, self.base_lr * self.factor)
        return self.base_lr


def book_cosine(epoch, max_update, base_lr, final_lr=0, warmup_steps=0, warmup_begin_lr=0):
    """The book's CosineScheduler(epoch), for epochs visited in order (it keeps its last rate past max_update)."""
    if epoch < warmup_steps:
        return warmup_begin_lr + (base_lr - warmup_begin_lr) * epoch / warmup_steps
    epoch = min(epoch, max_update)
    return (
        final_lr
        + (base_lr - final_lr) * (1 + math.cos(math.pi * (epoch - warmup_steps) / (max_update - warmup_steps))) / 2
    )


def epoch_rates(lr: float, epochs: int, make) -> list[float]:
    """The learning rate of each epoch when `make(optimizer)`'s schedule steps once per epoch, as Lightning does."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make(optimizer)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_the_schedules_give_the_books_learning_rates():
    rates = epoch_rates(0.1, 30, SquareRootScheduler)
    assert rates == pytest.approx([0.1 * (t + 1) ** -0.5 for t in range(30)])
    assert rates[0] == pytest.approx(0.1) and rates[3] == pytest.approx(0.05)

    book = BookFactorScheduler(factor=0.9, stop_factor_lr=1e-2, base_lr=2.0)  # the book's plot of 50 values
    rates = epoch_rates(2.0, 60, lambda o: FactorScheduler(o, factor=0.9, stop_factor_lr=1e-2))
    assert rates[1:] == pytest.approx([book(t) for t in range(59)]) and rates[-1] == 0.01

    rates = epoch_rates(0.5, 30, lambda o: MultiFactorScheduler(o, milestones=[15, 30], gamma=0.5))
    assert rates == [0.5] * 15 + [0.25] * 15

    rates = epoch_rates(0.3, 30, lambda o: CosineScheduler(o, max_update=20, final_lr=0.01))
    assert rates == pytest.approx([book_cosine(t, 20, 0.3, 0.01) for t in range(30)])
    assert (
        rates[0] == pytest.approx(0.3)
        and rates[10] == pytest.approx(0.155)
        and rates[20:] == pytest.approx([0.01] * 10)
    )

    rates = epoch_rates(0.3, 30, lambda o: CosineScheduler(o, max_update=20, final_lr=0.01, warmup_steps=5))
    assert rates == pytest.approx([book_cosine(t, 20, 0.3, 0.01, warmup_steps=5) for t in range(30)])
    assert rates[:6] == pytest.approx([0.0, 0.06, 0.12, 0.18, 0.24, 0.3])


def test_a_schedule_by_name_is_the_class():
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler = make_scheduler("multi-factor", optimizer, {"milestones": [15, 30], "gamma": 0.5})
    assert isinstance(scheduler, torch.optim.lr_scheduler.MultiStepLR)


# --- the airfoil data ---------------------------------------------------------------------------------------------


def test_airfoil_is_the_books_get_data_ch11(tiny_airfoil):
    path = tiny_airfoil / "airfoil" / "airfoil_self_noise.dat"
    data = Airfoil(num_rows=50)
    data.prepare_data()
    data.setup("fit")
    raw = np.genfromtxt(path, dtype=np.float32, delimiter="\t")  # the book's reading of the file
    expected = torch.from_numpy((raw - raw.mean(axis=0)) / raw.std(axis=0))[:50]
    X, y = data.train_set.tensors
    torch.testing.assert_close(X, expected[:, :-1])
    torch.testing.assert_close(y, expected[:, -1:])
    assert data.num_inputs == 5 and data.batch_size == 10 and len(data.val_set) == 50  # the book's loss is on them
    assert Airfoil.files[0].url.endswith("/airfoil_self_noise.dat")


def test_airfoil_checks_the_published_hash(tmp_path, monkeypatch):
    assert Airfoil.files[0].known_hash == "sha1:76e5be1548fd8222e5074cf0faae75edff8cf93f"
    path = write_airfoil(tmp_path / "airfoil" / "airfoil_self_noise.dat")  # not the published file
    data = Airfoil(data_dir=str(tmp_path), download=False)
    with pytest.raises(DataError, match="76e5be1548fd8222e5074cf0faae75edff8cf93f") as err:
        data.setup()
    assert "corrupt" in str(err.value)
    monkeypatch.setattr(Airfoil, "files", (RemoteFile(path.name, "https://example.invalid/x", f"sha1:{sha1(path)}"),))
    data.setup()
    assert len(data.train_set) == 60


def test_airfoil_linear_regression_is_the_books_train_ch11(tiny_airfoil, tmp_path, monkeypatch, capsys):
    """w ~ N(0, 0.01), b = 0, squared loss / 2: the loss starts near the label's variance / 2 and falls."""
    monkeypatch.chdir(tmp_path)
    cli = run("fit", "--config", config("airfoil_adam"), *FAST)
    model = cli.model
    assert model.impl == "scratch" and model.hparams.num_inputs == 5 and model.w.shape == (5, 1)
    assert type(cli.trainer.optimizers[0]) is zoo.optim.ScratchAdam
    out = capsys.readouterr().out
    figure = float(out.split("the book's figure): ")[1].split()[0])
    assert figure == pytest.approx(cli.datamodule.loss(model), abs=1e-4)
    assert figure < 0.45  # a standardised label: w = 0, b = 0 give exactly 0.5 (its variance / 2)
    assert figure == pytest.approx(float(cli.trainer.callback_metrics["val/loss"]), abs=1e-4)


# --- LeNet's variants ---------------------------------------------------------------------------------------------


def test_lenet_keeps_its_defaults_and_offers_relu_and_max_pooling():
    kinds = lambda net: [type(layer).__name__ for layer in net]  # noqa: E731
    assert set(kinds(zoo.LeNet().net)) >= {"Sigmoid", "AvgPool2d"} and "ReLU" not in kinds(zoo.LeNet().net)
    torch.manual_seed(0)
    relu = zoo.get_model("lenet_relu")
    assert set(kinds(relu.net)) >= {"ReLU", "MaxPool2d"} and not {"Sigmoid", "AvgPool2d"} & set(kinds(relu.net))
    torch.manual_seed(0)
    default_init = nn.Conv2d(1, 6, kernel_size=5, padding=2)  # PyTorch's own initialisation, as the study's net_fn
    torch.testing.assert_close(relu.net[0].weight, default_init.weight)
    with pytest.raises(ValueError, match="activation must be one of"):
        zoo.LeNet(activation="tanh")


# --- trajectories ---------------------------------------------------------------------------------------------------


def test_trajectories_reproduce_the_books_printed_final_points(tmp_path, capsys):
    """The book's 2-D runs from (-5, -2): each section's printed final point, taken by the zoo's optimizers."""
    out = str(tmp_path / "png")
    book = [
        (["--optimizer", "sgd-scratch", "--objective", "quadratic", "--lr", "0.1"], "x1: -0.057646, x2: -0.000073"),
        (["--optimizer", "sgd-scratch"], "x1: -0.943467, x2: -0.000073"),  # Momentum: GD at eta 0.4
        (["--optimizer", "sgd-scratch", "--lr", "0.6"], "x1: -0.387814, x2: -1673.365109"),
        (["--optimizer", "momentum-scratch"], "x1: 0.007188, x2: 0.002553"),
        (["--optimizer", "momentum-scratch", "--momentum", "0.25"], "x1: -0.126340, x2: -0.186632"),
        (["--optimizer", "adagrad-scratch"], "x1: -2.382563, x2: -0.158591"),
        (["--optimizer", "adagrad-scratch", "--lr", "2"], "x1: -0.002295, x2: -0.000000"),
        (["--optimizer", "rmsprop-scratch"], "x1: -0.010599, x2: 0.000000"),
    ]
    for flags, printed in book:
        run("trajectories", *flags, "--out", out)
        assert f"epoch 20, {printed}" in capsys.readouterr().out, flags
    run("trajectories", "--optimizer", "yogi-scratch,adam", "--out", out)
    pngs = sorted(p.name for p in Path(out).glob("*.png"))
    assert pngs == ["adagrad-scratch.png", "adam.png", "momentum-scratch.png", "rmsprop-scratch.png",
                    "sgd-scratch.png", "yogi-scratch.png"]  # fmt: skip
    assert all((Path(out) / name).stat().st_size > 10_000 for name in pngs)


def test_trajectories_errors_are_one_line(tmp_path, capsys):
    for flags, message in (
        (["--optimizer", "lbfgs"], "unknown optimizer 'lbfgs'; known: "),
        (["--optimizer", "adam-scratch", "--optimizer_args", '{"betas": [1, 2]}'], "betas must be two numbers"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            run("trajectories", *flags, "--out", str(tmp_path))
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


# --- from the command line: by name, by class, restored on resume ------------------------------------------------


def metrics_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def last_run(root: Path) -> Path:
    return sorted(root.glob("lightning_logs/version_*"), key=lambda p: int(p.name.split("_")[1]))[-1]


ROUTES = {
    "by-name": [
        "--model.optimizer", "yogi-scratch", "--model.lr", "0.02", "--model.optimizer_args", '{"betas": [0.8, 0.99]}',
        "--model.lr_scheduler", "cosine", "--model.lr_scheduler_args", '{"max_update": 4, "final_lr": 0.001}',
    ],
    "by-class": [
        "--optimizer", "zoo.optim.Yogi", "--optimizer.lr", "0.02", "--optimizer.betas", "[0.8, 0.99]",
        "--lr_scheduler", "zoo.optim.CosineScheduler", "--lr_scheduler.max_update", "4",
        "--lr_scheduler.final_lr", "0.001",
    ],
}  # fmt: skip


@pytest.mark.parametrize("route", ROUTES)
def test_optimizer_and_schedule_reach_the_model_and_come_back_on_resume(route, tiny_airfoil, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["--config", config("airfoil_sgd"), *FAST]
    cli = run("fit", *base, *ROUTES[route])
    optimizer, scheduler = cli.trainer.optimizers[0], cli.trainer.lr_scheduler_configs[0].scheduler
    assert type(optimizer) is Yogi and optimizer.defaults["betas"] == (0.8, 0.99)
    assert type(scheduler) is CosineScheduler and cli.trainer.lr_scheduler_configs[0].interval == "epoch"
    run_dir = last_run(tmp_path)
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    if route == "by-class":
        assert saved["optimizer"]["class_path"].endswith("Yogi") and saved["optimizer"]["init_args"]["lr"] == 0.02
        assert saved["lr_scheduler"]["init_args"]["max_update"] == 4
    else:
        assert saved["model"]["init_args"]["optimizer_args"] == {"betas": [0.8, 0.99]}
        assert cli.model.hparams.lr_scheduler == "cosine"
    rates = [float(r["lr-Yogi"]) for r in metrics_rows(run_dir) if r.get("lr-Yogi")]  # per epoch
    assert rates == pytest.approx([0.02, book_cosine(1, 4, 0.02, 0.001)])

    ckpt = run_dir / "checkpoints" / "last.ckpt"
    saved_state = torch.load(ckpt, weights_only=True)
    steps = saved_state["optimizer_states"][0]["state"][0]["step"]
    assert saved_state["lr_schedulers"][0]["last_epoch"] == 2 and steps == 12  # 2 epochs of 6 batches

    # resume one more epoch from the run's own config: Yogi with the checkpoint's state, the schedule at epoch 2
    cli = run("fit", "--config", str(run_dir / "config.yaml"), "--ckpt_path", str(ckpt), "--trainer.max_epochs", "3")
    optimizer, scheduler = cli.trainer.optimizers[0], cli.trainer.lr_scheduler_configs[0].scheduler
    assert type(optimizer) is Yogi and type(scheduler) is CosineScheduler
    assert optimizer.state[optimizer.param_groups[0]["params"][0]]["step"] == steps + 6
    assert scheduler.last_epoch == 3 and scheduler.base_lrs == [0.02]
    assert last_run(tmp_path) == run_dir  # the resumed fit goes on in its own run folder, its metrics appended
    resumed = [float(r["lr-Yogi"]) for r in metrics_rows(run_dir) if r.get("lr-Yogi")]
    assert resumed == pytest.approx([0.02, book_cosine(1, 4, 0.02, 0.001), book_cosine(2, 4, 0.02, 0.001)])

    # the checkpoint alone resumes the same way, and test/predict from it still work
    cli = run("fit", "--ckpt_path", str(ckpt), "--trainer.max_epochs", "3")
    assert type(cli.trainer.optimizers[0]) is Yogi and cli.trainer.lr_scheduler_configs[0].scheduler.last_epoch == 3
    cli = run("test", "--ckpt_path", str(ckpt))
    assert "test/loss" in cli.trainer.callback_metrics


def test_lightnings_schedule_flag_schedules_the_models_own_optimizer(tiny_airfoil, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    schedule = ["--lr_scheduler", "torch.optim.lr_scheduler.StepLR", "--lr_scheduler.step_size", "1"]
    cli = run("fit", "--config", config("airfoil_adam"), *schedule, "--lr_scheduler.gamma", "0.5", *FAST)
    assert type(cli.trainer.optimizers[0]) is zoo.optim.ScratchAdam
    rates = [float(r["lr-ScratchAdam"]) for r in metrics_rows(last_run(tmp_path)) if r.get("lr-ScratchAdam")]
    assert rates == pytest.approx([0.01, 0.005])


def test_lightnings_optimizer_flag_takes_any_torch_optimizer_over_the_models_parameter_groups(
    tiny_house, tmp_path, monkeypatch
):
    """--optimizer torch.optim.AdamW: built when training starts, so a network whose layers wait for the data
    (house prices) and one with its own parameter groups (weight decay on w only) both train with it."""
    monkeypatch.chdir(tmp_path)
    cli = run("fit", "--config", config("kaggle_house"), "--data.batch_size", "8", "--trainer.max_epochs", "1",
              "--optimizer", "torch.optim.AdamW", "--optimizer.lr", "0.01", *FAST)  # fmt: skip
    assert type(cli.trainer.optimizers[0]) is torch.optim.AdamW and cli.trainer.optimizers[0].defaults["lr"] == 0.01
    wd = ["--model.impl", "concise", "--model.lambd", "3", "--trainer.max_epochs", "1"]
    cli = run(
        "fit", "--config", config("weight_decay"), *wd, "--optimizer", "torch.optim.SGD", "--optimizer.lr", "0.003"
    )
    groups = cli.trainer.optimizers[0].param_groups
    assert type(cli.trainer.optimizers[0]) is torch.optim.SGD and [g["weight_decay"] for g in groups] == [3.0, 0.0]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--optimizer", "torch.optim.Adam", "--optimizer.lr", "-1"], "--optimizer: lr must be a positive number"),
        (["--optimizer", "zoo.optim.Yogi", "--optimizer.betas", "[0.9, 1.0]"], "betas must be two numbers in [0, 1)"),
        (["--model.optimizer", "adam-scratch", "--model.optimizer_args", '{"betas": [0.9, 1.0]}'], "betas must be"),
        (["--model.optimizer", "lbfgs"], "unknown optimizer 'lbfgs'; known: sgd (torch.optim.SGD)"),
        (["--optimizer", "Yogii"], "unknown --optimizer class 'Yogii'. Did you mean Yogi? Known: torch.optim.ASGD"),
        (["--lr_scheduler", "zoo.optim.Cosine"], "Known: torch.optim.lr_scheduler.ChainedScheduler"),
        (["--model.lr", "-0.5"], "lr must be a positive number, got -0.5"),
        (["--lr_scheduler", "zoo.optim.CosineScheduler", "--lr_scheduler.max_update", "0"], "max_update must be"),
        (
            [
                "--model.lr_scheduler",
                "square-root",
                "--lr_scheduler",
                "torch.optim.lr_scheduler.StepLR",
                "--lr_scheduler.step_size",
                "2",
            ],
            "two schedules",
        ),  # fmt: skip
    ],
)
def test_bad_optimizers_from_the_command_line_are_one_error_line(flags, message, tiny_airfoil, tmp_path, monkeypatch,
                                                                 capsys):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run("fit", "--config", config("airfoil_sgd"), *flags)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1, err


def test_every_optimizer_config_is_the_books_section(tiny_airfoil):
    """One airfoil config per scratch optimizer, each with its section's hyperparameters."""
    expected = {
        "sgd": ("sgd-scratch", 0.05, {}),
        "momentum": ("momentum-scratch", 0.02, {"momentum": 0.5}),
        "nesterov": ("nesterov-scratch", 0.02, {"momentum": 0.5}),
        "adagrad": ("adagrad-scratch", 0.1, {}),
        "rmsprop": ("rmsprop-scratch", 0.01, {"optimizer_args": {"gamma": 0.9}}),
        "adadelta": ("adadelta-scratch", 1.0, {"optimizer_args": {"rho": 0.9}}),
        "adam": ("adam-scratch", 0.01, {}),
        "yogi": ("yogi-scratch", 0.01, {}),
    }
    for name, (optimizer, lr, extra) in expected.items():
        cfg = yaml.safe_load((CONFIGS / "optim" / f"airfoil_{name}.yaml").read_text())
        init = cfg["model"]["init_args"]
        assert (init["optimizer"], init["lr"], cfg["data"]["init_args"]["batch_size"]) == (optimizer, lr, 10), name
        assert {k: init[k] for k in extra} == extra and cfg["trainer"]["max_epochs"] == 2
