"""Networks of the linear, MLP and LeNet chapters: shapes, scratch == concise, training, checkpoints."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_loss_falls, layer_shapes, quiet_trainer
from torch import nn

from datamodules import SyntheticRegression
from zoo import MLP, LeNet, LinearRegression, ScratchSGD, SoftmaxRegression
from zoo.core.init import init_weights
from zoo.linear.regression import squared_loss
from zoo.linear.softmax import cross_entropy, softmax
from zoo.mlp.mlp import relu

# --- shapes --------------------------------------------------------------------------------------


def test_lenet_layer_shapes_match_the_book():
    assert layer_shapes(LeNet().net, torch.rand(1, 1, 28, 28)) == [
        ("Conv2d", (1, 6, 28, 28)),
        ("Sigmoid", (1, 6, 28, 28)),
        ("AvgPool2d", (1, 6, 14, 14)),
        ("Conv2d", (1, 16, 10, 10)),
        ("Sigmoid", (1, 16, 10, 10)),
        ("AvgPool2d", (1, 16, 5, 5)),
        ("Flatten", (1, 400)),
        ("Linear", (1, 120)),
        ("Sigmoid", (1, 120)),
        ("Linear", (1, 84)),
        ("Sigmoid", (1, 84)),
        ("Linear", (1, 10)),
    ]


def test_mlp_and_softmax_layer_shapes():
    assert layer_shapes(MLP().net, torch.rand(2, 1, 28, 28)) == [
        ("Flatten", (2, 784)),
        ("Linear", (2, 256)),
        ("ReLU", (2, 256)),
        ("Linear", (2, 10)),
    ]
    assert layer_shapes(SoftmaxRegression().net, torch.rand(2, 1, 28, 28)) == [
        ("Flatten", (2, 784)),
        ("Linear", (2, 10)),
    ]
    for impl in ("scratch", "concise"):
        assert MLP(impl=impl, num_hiddens=[256, 256], dropouts=[0.2, 0.5])(torch.rand(3, 1, 28, 28)).shape == (3, 10)
        assert SoftmaxRegression(impl=impl)(torch.rand(3, 1, 28, 28)).shape == (3, 10)
        assert LinearRegression(impl=impl)(torch.rand(5, 2)).shape == (5, 1)


# --- scratch == concise on copied weights --------------------------------------------------------


def test_linear_regression_scratch_equals_concise():
    scratch, concise = LinearRegression(impl="scratch"), LinearRegression(impl="concise")
    with torch.no_grad():
        concise.net.weight.copy_(scratch.w.T)
        concise.net.bias.copy_(scratch.b)
    X, y = torch.randn(8, 2), torch.randn(8, 1)
    torch.testing.assert_close(scratch(X), concise(X))
    torch.testing.assert_close(scratch.loss(scratch(X), y), concise.loss(concise(X), y) / 2)


def test_softmax_regression_scratch_equals_concise():
    scratch, concise = SoftmaxRegression(impl="scratch"), SoftmaxRegression(impl="concise")
    with torch.no_grad():
        concise.net[1].weight.copy_(scratch.W.T)
        concise.net[1].bias.copy_(torch.randn(10))
        scratch.b.copy_(concise.net[1].bias)
    X, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    torch.testing.assert_close(scratch(X), torch.softmax(concise(X), dim=1))
    torch.testing.assert_close(scratch.loss(scratch(X), y), concise.loss(concise(X), y))


def test_mlp_scratch_equals_concise():
    scratch = MLP(impl="scratch", num_hiddens=[256, 128])
    concise = MLP(impl="concise", num_hiddens=[256, 128])
    linears = [m for m in concise.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for linear, W, b in zip(linears, scratch.Ws, scratch.bs):
            b.normal_()
            linear.weight.copy_(W.T)
            linear.bias.copy_(b)
    X = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(scratch(X), concise(X))


def test_scratch_pieces_match_torch():
    X = torch.randn(6, 10) * 50  # large logits: the scratch softmax must not overflow
    torch.testing.assert_close(softmax(X), torch.softmax(X, dim=1))
    assert torch.allclose(softmax(X).sum(1), torch.ones(6))
    y = torch.randint(0, 10, (6,))
    P = torch.softmax(torch.randn(6, 10), 1)
    torch.testing.assert_close(cross_entropy(P, y), nn.functional.nll_loss(P.log(), y))
    torch.testing.assert_close(relu(X), torch.relu(X))
    torch.testing.assert_close(squared_loss(torch.ones(3, 1), torch.zeros(3)), torch.tensor(0.5))


def test_scratch_sgd_takes_the_same_step_as_torch_sgd():
    p1, p2 = nn.Parameter(torch.randn(5)), None
    p2 = nn.Parameter(p1.detach().clone())
    for p, opt in ((p1, ScratchSGD([p1], lr=0.1)), (p2, torch.optim.SGD([p2], lr=0.1))):
        (p**2).sum().backward()
        opt.step()
    torch.testing.assert_close(p1, p2)


def test_book_initialisation():
    lenet = LeNet().net
    conv = lenet[0]
    bound = (6 / (conv.in_channels * 25 + conv.out_channels * 25)) ** 0.5
    assert conv.weight.abs().max() <= bound
    linear = init_weights(nn.Linear(1000, 1000), "normal")
    assert abs(linear.weight.std().item() - 0.01) < 0.001 and linear.bias.abs().max() == 0
    with pytest.raises(ValueError, match="init"):
        init_weights(linear, "kaiming")


# --- bad hyperparameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: MLP(impl="fast"), "impl"),
        (lambda: LeNet(optimizer="lbfgs"), "unknown optimizer 'lbfgs'; known: sgd"),
        (lambda: SoftmaxRegression(lr=-1), "lr"),
        (lambda: MLP(num_hiddens=[256, 256], dropouts=[0.5]), "one dropout per hidden layer"),
        (lambda: MLP(dropouts=[1.5]), "dropout"),
        (lambda: LeNet(num_classes=1), "num_classes"),
        (lambda: LinearRegression(optimizer="adam-scratch", momentum=0.9), "'adam-scratch' has no momentum"),
    ],
)
def test_bad_hyperparameters_raise_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# --- training ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: SoftmaxRegression(impl="scratch", lr=0.5),
        lambda: SoftmaxRegression(impl="concise", lr=0.5),
        lambda: MLP(impl="scratch", lr=0.5),
        lambda: MLP(impl="concise", lr=0.5),
        lambda: MLP(impl="scratch", num_hiddens=[64, 64], dropouts=[0.2, 0.5], lr=0.5),
        lambda: LeNet(optimizer="adam", lr=0.01),  # SGD sits on the sigmoid plateau for an epoch
    ],
    ids=["softmax-scratch", "softmax-concise", "mlp-scratch", "mlp-concise", "dropout-mlp-scratch", "lenet"],
)
def test_loss_falls_on_a_tiny_batch(build, image_batch):
    torch.manual_seed(0)
    assert_loss_falls(build(), *image_batch, steps=150, to=0.7)


def test_linear_regression_recovers_w_and_b_and_checkpoint_round_trips(tmp_path):
    data = SyntheticRegression(batch_size=10)
    model = LinearRegression(impl="scratch", optimizer="sgd-scratch", lr=0.03)
    trainer = quiet_trainer(tmp_path, max_epochs=3)
    trainer.fit(model, data)
    w, b = model.get_w_b()
    assert (w - torch.tensor([2.0, -3.4])).abs().max() < 0.01 and abs(b.item() - 4.2) < 0.01
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    restored = LinearRegression.load_from_checkpoint(path)
    assert restored.impl == "scratch" and restored.hparams.optimizer == "sgd-scratch"
    X = torch.randn(4, 2)
    torch.testing.assert_close(restored(X), model(X))
    saved = torch.load(path, weights_only=True)
    assert saved["zoo"] == {"model": "zoo.LinearRegression", "data": "datamodules.SyntheticRegression"}


def test_compile_callback_keeps_plain_checkpoint_keys(tmp_path):
    from zoo.core.callbacks import Compile

    data = SyntheticRegression(batch_size=10, num_train=50, num_val=20)
    model = LinearRegression()
    keys = set(model.state_dict())
    # the same wrapping as inductor, without code generation
    trainer = quiet_trainer(tmp_path, max_epochs=1, callbacks=[Compile(backend="eager")])
    trainer.fit(model, data)
    assert model._compiled_call_impl is not None
    trainer.save_checkpoint(tmp_path / "c.ckpt")
    assert set(torch.load(tmp_path / "c.ckpt", weights_only=True)["state_dict"]) == keys
    LinearRegression.load_from_checkpoint(tmp_path / "c.ckpt")
