"""The rest of the MLP chapter: dropout, weight decay, and polynomial under- and overfitting."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from conftest import config, quiet_trainer
from torch import nn

from cli import run as main
from datamodules import SyntheticRegression
from datamodules.synthetic.polynomial import PolynomialData, polynomial_features
from zoo.linear.model_selection import PolynomialRegression
from zoo.linear.regression import squared_loss
from zoo.linear.weight_decay import WeightDecay, l2_penalty
from zoo.mlp.mlp import MLP, dropout_layer

# --- dropout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_layer_zeroes_a_fraction_p_and_scales_the_survivors(p):
    torch.manual_seed(0)
    X = torch.rand(200, 500) + 0.5  # 100,000 elements, none of them zero
    out = dropout_layer(X, p)
    dropped = out == 0
    assert abs(dropped.float().mean().item() - p) < 0.01  # the binomial std here is below 0.002
    torch.testing.assert_close(out[~dropped], X[~dropped] / (1 - p))
    assert abs(dropout_layer(torch.ones(200, 500), p).mean().item() - 1.0) < 0.03  # unbiased in expectation


def test_dropout_layer_edge_cases_and_bad_probabilities():
    X = torch.randn(4, 6)
    assert torch.equal(dropout_layer(X, 0.0), X)
    assert torch.equal(dropout_layer(X, 1.0), torch.zeros_like(X))
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout probability"):
            dropout_layer(X, p)


def copy_into_concise(scratch: MLP, concise: MLP) -> None:
    linears = [m for m in concise.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for linear, W, b in zip(linears, scratch.Ws, scratch.bs):
            linear.weight.copy_(W.T)
            linear.bias.copy_(b)


def test_dropout_mlp_layers_follow_the_book():
    net = MLP(num_hiddens=[256, 256], dropouts=[0.2, 0.5]).net
    assert [type(m).__name__ for m in net] == [
        "Flatten", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"
    ]  # fmt: skip
    assert [m.p for m in net if isinstance(m, nn.Dropout)] == [0.2, 0.5]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [
        (784, 256),
        (256, 256),
        (256, 10),
    ]


def test_dropout_mlp_is_the_plain_network_in_eval_mode_and_random_in_train_mode():
    torch.manual_seed(0)
    scratch = MLP(impl="scratch", num_hiddens=[256, 256], dropouts=[0.2, 0.5])
    concise = MLP(impl="concise", num_hiddens=[256, 256], dropouts=[0.2, 0.5])
    plain = MLP(impl="concise", num_hiddens=[256, 256])  # no dropout at all
    with torch.no_grad():
        for b in scratch.bs:
            b.normal_()
    copy_into_concise(scratch, concise)
    copy_into_concise(scratch, plain)
    X = torch.rand(8, 1, 28, 28)
    for model in (scratch, concise, plain):
        model.eval()
    torch.testing.assert_close(scratch(X), concise(X))
    torch.testing.assert_close(concise(X), plain(X))
    assert torch.equal(scratch(X), scratch(X))
    for model in (scratch, concise):
        model.train()
        first, second = model(X), model(X)
        assert not torch.allclose(first, second)
        assert not torch.allclose(first, plain(X))


# --- weight decay --------------------------------------------------------------------------------


def weight_decay_data(**kwargs) -> SyntheticRegression:
    """The book's data: 200 inputs, w = 0.01 * ones, b = 0.05, 20 training and 100 test examples, batch 5."""
    args = dict(w=0.01, num_inputs=200, b=0.05, noise=0.01, num_train=20, num_val=100, batch_size=5)
    return SyntheticRegression(**{**args, **kwargs})


def test_synthetic_regression_takes_one_weight_repeated_num_inputs_times():
    data = weight_decay_data(noise=0.0)
    X, y = data.train_set.tensors
    assert X.shape == (20, 200) and y.shape == (20, 1) and len(data.val_set) == 100
    assert data.num_inputs == 200 and torch.equal(data.w, torch.full((200,), 0.01))
    torch.testing.assert_close(y, X.sum(1, keepdim=True) * 0.01 + 0.05)
    assert SyntheticRegression(w=[2.0, -3.4], num_inputs=2).num_inputs == 2
    assert data.hparams.num_inputs == 200 and SyntheticRegression().hparams.num_inputs == 2  # resolved, not None
    with pytest.raises(ValueError, match="num_inputs"):
        SyntheticRegression(w=0.01)
    with pytest.raises(ValueError, match="num_inputs=3 but w has 2 values"):
        SyntheticRegression(w=[2.0, -3.4], num_inputs=3)


@pytest.mark.filterwarnings("ignore:.*self.log.*")
def test_scratch_penalty_takes_the_same_step_as_weight_decay_on_w_only():
    torch.manual_seed(0)
    scratch = WeightDecay(num_inputs=10, lambd=3.0, impl="scratch", lr=0.1)
    concise = WeightDecay(num_inputs=10, lambd=3.0, impl="concise", lr=0.1)
    with torch.no_grad():
        scratch.b.fill_(1.0)  # a bias that weight decay would visibly shrink
        concise.net.weight.copy_(scratch.w.T)
        concise.net.bias.copy_(scratch.b)
    X, y = torch.randn(5, 10), torch.randn(5, 1)
    objective = scratch.training_step((X, y), 0)
    torch.testing.assert_close(objective, squared_loss(scratch(X), y) + 3.0 * (scratch.w**2).sum() / 2)
    for model, loss in ((scratch, objective), (concise, squared_loss(concise(X), y))):
        optimizer = model.configure_optimizers()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    w, b = concise.get_w_b()
    torch.testing.assert_close(w, scratch.w.detach().reshape(-1))
    torch.testing.assert_close(b, scratch.b.detach())
    torch.testing.assert_close(l2_penalty(torch.tensor([3.0, 4.0])), torch.tensor(12.5))


@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_weight_decay_stops_overfitting_20_examples(impl, tmp_path):
    results = {}
    for lambd in (0.0, 3.0):
        L.seed_everything(0, verbose=False)
        trainer = quiet_trainer(tmp_path, enable_checkpointing=False, max_epochs=100, check_val_every_n_epoch=5)
        model = WeightDecay(lambd=lambd, impl=impl)
        trainer.fit(model, weight_decay_data())
        results[lambd] = {k: v.item() for k, v in trainer.callback_metrics.items()}
    overfit, decayed = results[0.0], results[3.0]
    assert decayed["l2_norm"] == pytest.approx(model.l2_norm().item())  # logged after the last epoch
    assert overfit["train/loss"] < 1e-3 and overfit["val/loss"] > 10  # book: test loss 98 (scratch)
    assert decayed["l2_norm"] < 0.1 * overfit["l2_norm"]  # book: 12.96 -> 0.356
    assert decayed["val/loss"] < 0.01 * overfit["val/loss"]  # book: 98.1 -> 0.0795
    assert decayed["val/loss"] < 1.0


def test_weight_decay_config_trains_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the CSV logger merges model and data hyperparameters: num_inputs must agree
    args = ["--trainer.max_epochs", "5", "--trainer.enable_model_summary", "false", "--model.lambd", "3"]
    cli = main(["fit", "--config", config("weight_decay"), *args])
    assert cli.model.lambd == 3.0 and cli.datamodule.num_inputs == 200
    out = capsys.readouterr().out
    assert "epoch 5/5" in out and "l2_norm" in out and "L2 norm of w:" in out


def test_weight_decay_checkpoint_round_trip(tmp_path):
    trainer = quiet_trainer(tmp_path, enable_checkpointing=False, max_epochs=1)
    model = WeightDecay(lambd=3.0, impl="concise")
    trainer.fit(model, weight_decay_data())
    trainer.save_checkpoint(tmp_path / "wd.ckpt")
    restored = WeightDecay.load_from_checkpoint(tmp_path / "wd.ckpt")
    assert restored.lambd == 3.0 and restored.impl == "concise"
    X = torch.randn(3, 200)
    torch.testing.assert_close(restored(X), model(X))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lambd": -1.0}, "lambd"),
        ({"weight_decay": 3.0}, "lambd, not weight_decay"),
    ],
)
def test_weight_decay_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WeightDecay(**kwargs)


# --- polynomial fitting --------------------------------------------------------------------------


def test_polynomial_features_are_powers_over_factorials():
    x = torch.tensor([-1.5, 0.0, 0.7, 2.0], dtype=torch.float64)
    features = polynomial_features(x, 20)
    assert features.shape == (4, 20)
    for i in range(20):
        torch.testing.assert_close(features[:, i], x**i / math.gamma(i + 1))
    data = PolynomialData(num_features=4, noise=0.0)
    X, y = data.train_set.tensors
    x = data.x[:100]
    assert X.shape == (100, 4) and y.shape == (100, 1)
    torch.testing.assert_close(X, polynomial_features(x, 4).float())
    cubic = 5 + 1.2 * x - 3.4 * x**2 / 2 + 5.6 * x**3 / 6
    torch.testing.assert_close(y.reshape(-1), cubic.float())


def test_polynomial_data_takes_the_first_num_features_and_caps_the_batch():
    for n in (2, 4, 20):
        data = PolynomialData(num_features=n)
        assert data.train_set.tensors[0].shape == (100, n) and data.val_set.tensors[0].shape == (100, n)
        assert torch.equal(data.train_set.tensors[0], PolynomialData(num_features=20).train_set.tensors[0][:, :n])
    assert PolynomialData(num_train=5).batch_size == 5  # the book's min(10, n_train)
    for kwargs in ({"num_features": 0}, {"num_features": 21}, {"w": [1.0] * 21}):
        with pytest.raises(ValueError):
            PolynomialData(**kwargs)


def fit_polynomial(num_features: int, epochs: int = 100) -> tuple[PolynomialRegression, float]:
    """The book's loop (SGD lr 0.01, batch 10) for `epochs` epochs; returns the model and its training loss."""
    torch.manual_seed(0)
    data = PolynomialData(num_features=num_features)
    model = PolynomialRegression(num_inputs=num_features)
    optimizer = model.configure_optimizers()
    for _ in range(epochs):
        for X, y in data.train_dataloader():
            loss = model.loss(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    X, y = data.train_set.tensors
    with torch.no_grad():
        return model, model.loss(model(X), y).item()


def test_cubic_fit_recovers_the_true_weights_and_a_line_underfits():
    cubic, cubic_loss = fit_polynomial(4)
    assert (cubic.weight - torch.tensor([5.0, 1.2, -3.4, 5.6])).abs().max() < 0.15
    assert cubic_loss < 0.02  # the noise variance is 0.01
    _, line_loss = fit_polynomial(2)
    assert line_loss > 100 * cubic_loss  # book: 8.43 (ZH), 2.47 (EN) against 0.011


def test_model_and_data_feature_counts_must_agree(tmp_path):
    with pytest.raises(ValueError, match="built for num_inputs=4 but PolynomialData gives 2"):
        quiet_trainer(tmp_path, enable_checkpointing=False, max_epochs=1).fit(
            PolynomialRegression(num_inputs=4), PolynomialData(num_features=2)
        )
    with pytest.raises(ValueError, match="num_inputs"):
        PolynomialRegression(num_inputs=0)
