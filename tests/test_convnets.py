"""The modern CNN chapter: the book's shape tables, scratch batch norm == torch's, training, checkpoints."""

from __future__ import annotations

import inspect

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from conftest import assert_loss_falls, config, layer_shapes
from torch import nn

from cli import run as main
from datamodules import FashionMNIST
from zoo.convnets.alexnet import AlexNet
from zoo.convnets.batchnorm import BatchNorm, BatchNormLeNet, batch_norm
from zoo.convnets.densenet import DenseBlock, DenseNet, transition_block
from zoo.convnets.googlenet import GoogLeNet, Inception
from zoo.convnets.nin import NiN
from zoo.convnets.resnet import Residual, ResNet
from zoo.convnets.vgg import VGG, VGG11, vgg

QUARTER_VGG11 = [[1, 16], [1, 32], [2, 64], [2, 128], [2, 128]]


def shapes_only(net: nn.Sequential, x: torch.Tensor) -> list[tuple[int, ...]]:
    return [shape for _, shape in layer_shapes(net, x)]


# --- the book's shape tables ---------------------------------------------------------------------


def test_alexnet_layer_shapes_match_the_book():
    assert layer_shapes(AlexNet().net, torch.rand(1, 1, 224, 224)) == [
        ("Conv2d", (1, 96, 54, 54)),
        ("ReLU", (1, 96, 54, 54)),
        ("MaxPool2d", (1, 96, 26, 26)),
        ("Conv2d", (1, 256, 26, 26)),
        ("ReLU", (1, 256, 26, 26)),
        ("MaxPool2d", (1, 256, 12, 12)),
        ("Conv2d", (1, 384, 12, 12)),
        ("ReLU", (1, 384, 12, 12)),
        ("Conv2d", (1, 384, 12, 12)),
        ("ReLU", (1, 384, 12, 12)),
        ("Conv2d", (1, 256, 12, 12)),
        ("ReLU", (1, 256, 12, 12)),
        ("MaxPool2d", (1, 256, 5, 5)),
        ("Flatten", (1, 6400)),
        ("Linear", (1, 4096)),
        ("ReLU", (1, 4096)),
        ("Dropout", (1, 4096)),
        ("Linear", (1, 4096)),
        ("ReLU", (1, 4096)),
        ("Dropout", (1, 4096)),
        ("Linear", (1, 10)),
    ]


def test_vgg_block_shapes_match_the_book():
    assert VGG11 == [[1, 64], [1, 128], [2, 256], [2, 512], [2, 512]]
    assert inspect.signature(VGG).parameters["arch"].default == VGG11
    with torch.device("meta"):  # VGG-11 holds 129M parameters: shapes alone need no memory or arithmetic
        vgg11 = vgg(VGG11)
        x = torch.empty(1, 1, 224, 224)
    assert layer_shapes(vgg11, x) == [
        ("Sequential", (1, 64, 112, 112)),
        ("Sequential", (1, 128, 56, 56)),
        ("Sequential", (1, 256, 28, 28)),
        ("Sequential", (1, 512, 14, 14)),
        ("Sequential", (1, 512, 7, 7)),
        ("Flatten", (1, 25088)),
        ("Linear", (1, 4096)),
        ("ReLU", (1, 4096)),
        ("Dropout", (1, 4096)),
        ("Linear", (1, 4096)),
        ("ReLU", (1, 4096)),
        ("Dropout", (1, 4096)),
        ("Linear", (1, 10)),
    ]
    small = VGG(arch=QUARTER_VGG11)
    assert shapes_only(small.net, torch.rand(1, 1, 224, 224))[:6] == [
        (1, 16, 112, 112),
        (1, 32, 56, 56),
        (1, 64, 28, 28),
        (1, 128, 14, 14),
        (1, 128, 7, 7),
        (1, 6272),
    ]
    conv_counts = [sum(isinstance(m, nn.Conv2d) for m in block) for block in small.net[:5]]
    assert conv_counts == [1, 1, 2, 2, 2]  # 8 convolutions + 3 fully connected layers: VGG-11


def test_nin_layer_shapes_match_the_book():
    assert layer_shapes(NiN().net, torch.rand(1, 1, 224, 224)) == [
        ("Sequential", (1, 96, 54, 54)),
        ("MaxPool2d", (1, 96, 26, 26)),
        ("Sequential", (1, 256, 26, 26)),
        ("MaxPool2d", (1, 256, 12, 12)),
        ("Sequential", (1, 384, 12, 12)),
        ("MaxPool2d", (1, 384, 5, 5)),
        ("Dropout", (1, 384, 5, 5)),
        ("Sequential", (1, 10, 5, 5)),
        ("AdaptiveAvgPool2d", (1, 10, 1, 1)),
        ("Flatten", (1, 10)),
    ]


def test_googlenet_stage_shapes_match_the_book():
    assert shapes_only(GoogLeNet().net, torch.rand(1, 1, 96, 96)) == [
        (1, 64, 24, 24),  # b1
        (1, 192, 12, 12),  # b2
        (1, 480, 6, 6),  # b3
        (1, 832, 3, 3),  # b4
        (1, 1024),  # b5
        (1, 10),
    ]
    inception = Inception(192, 64, (96, 128), (16, 32), 32)
    assert inception(torch.rand(2, 192, 12, 12)).shape == (2, 64 + 128 + 32 + 32, 12, 12)


@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_batchnorm_lenet_layer_shapes(impl):
    norm = "BatchNorm" if impl == "scratch" else "BatchNorm{}d"
    assert layer_shapes(BatchNormLeNet(impl=impl).net, torch.rand(2, 1, 28, 28)) == [
        ("Conv2d", (2, 6, 24, 24)),
        (norm.format(2), (2, 6, 24, 24)),
        ("Sigmoid", (2, 6, 24, 24)),
        ("AvgPool2d", (2, 6, 12, 12)),
        ("Conv2d", (2, 16, 8, 8)),
        (norm.format(2), (2, 16, 8, 8)),
        ("Sigmoid", (2, 16, 8, 8)),
        ("AvgPool2d", (2, 16, 4, 4)),
        ("Flatten", (2, 256)),
        ("Linear", (2, 120)),
        (norm.format(1), (2, 120)),
        ("Sigmoid", (2, 120)),
        ("Linear", (2, 84)),
        (norm.format(1), (2, 84)),
        ("Sigmoid", (2, 84)),
        ("Linear", (2, 10)),
    ]


def test_residual_block_shapes_match_the_book():
    X = torch.rand(4, 3, 6, 6)
    assert Residual(3, 3)(X).shape == (4, 3, 6, 6)
    assert Residual(3, 6, use_1x1conv=True, strides=2)(X).shape == (4, 6, 3, 3)


@pytest.mark.parametrize(
    "stem, side, sides",
    [
        ("book", 224, [56, 56, 28, 14, 7]),  # the book's table
        ("book", 96, [24, 24, 12, 6, 3]),  # the size it trains at
        ("small", 28, [28, 28, 14, 7, 4]),  # the multi-GPU chapter's variant on 28x28
    ],
)
def test_resnet18_stage_shapes(stem, side, sides):
    model = ResNet(stem=stem)
    channels = [64, 64, 128, 256, 512]
    assert layer_shapes(model.net, torch.rand(1, 1, side, side)) == [
        *(("Sequential", (1, c, s, s)) for c, s in zip(channels, sides)),
        ("AdaptiveAvgPool2d", (1, 512, 1, 1)),
        ("Flatten", (1, 512)),
        ("Linear", (1, 10)),
    ]
    convs = [m for m in model.net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)]
    assert len(convs) + 1 == 18  # 17 convolutions (1x1 shortcuts aside) + the fully connected layer
    assert model.net[0][0].kernel_size == ((7, 7) if stem == "book" else (3, 3))
    assert any(isinstance(m, nn.MaxPool2d) for m in model.net[0]) == (stem == "book")


def test_densenet_shapes_match_the_book():
    assert DenseBlock(2, 3, 10)(torch.rand(4, 3, 8, 8)).shape == (4, 23, 8, 8)
    assert transition_block(23, 10)(torch.rand(4, 23, 8, 8)).shape == (4, 10, 4, 4)
    assert layer_shapes(DenseNet().net, torch.rand(1, 1, 96, 96)) == [
        ("Sequential", (1, 64, 24, 24)),
        ("DenseBlock", (1, 192, 24, 24)),
        ("Sequential", (1, 96, 12, 12)),
        ("DenseBlock", (1, 224, 12, 12)),
        ("Sequential", (1, 112, 6, 6)),
        ("DenseBlock", (1, 240, 6, 6)),
        ("Sequential", (1, 120, 3, 3)),
        ("DenseBlock", (1, 248, 3, 3)),
        ("BatchNorm2d", (1, 248, 3, 3)),
        ("ReLU", (1, 248, 3, 3)),
        ("AdaptiveAvgPool2d", (1, 248, 1, 1)),
        ("Flatten", (1, 248)),
        ("Linear", (1, 10)),
    ]


def test_xavier_and_normal_initialisation():
    for model in (GoogLeNet(), DenseNet(), NiN(), BatchNormLeNet(), ResNet(arch=[[1, 8], [1, 16]])):
        for layer in model.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(layer.weight)
                bound = (6 / (fan_in + fan_out)) ** 0.5
                assert layer.weight.abs().max() <= bound + 1e-6, (type(model).__name__, layer)
    normal = ResNet(init="normal", arch=[[1, 64]])
    assert abs(normal.net[1][0].conv1.weight.std().item() - 0.01) < 0.001


# --- scratch batch norm == torch's, on copied state ----------------------------------------------


def copy_into_scratch(scratch: BatchNorm, torch_bn: nn.modules.batchnorm._BatchNorm) -> None:
    with torch.no_grad():
        for mine, theirs in (
            (scratch.gamma, torch_bn.weight),
            (scratch.beta, torch_bn.bias),
            (scratch.moving_mean, torch_bn.running_mean),
            (scratch.moving_var, torch_bn.running_var),
        ):
            mine.copy_(theirs.reshape(mine.shape))


@pytest.mark.parametrize(
    "num_dims, torch_cls, shape",
    [(4, nn.BatchNorm2d, (8, 5, 6, 7)), (2, nn.BatchNorm1d, (16, 5))],
    ids=["2d", "1d"],
)
def test_scratch_batch_norm_equals_torch(num_dims, torch_cls, shape):
    torch.manual_seed(0)
    concise = torch_cls(5)
    with torch.no_grad():  # state that is not the initial one, so copying it matters
        concise.weight.uniform_(0.5, 2)
        concise.bias.normal_()
        concise.running_mean.normal_()
        concise.running_var.uniform_(0.5, 2)
    scratch = BatchNorm(5, num_dims)
    copy_into_scratch(scratch, concise)
    for _ in range(3):  # training mode: minibatch statistics, and the moving averages follow
        X = torch.randn(shape) * 3 + 2
        X1, X2 = X.clone().requires_grad_(), X.clone().requires_grad_()
        Y1, Y2 = scratch(X1), concise(X2)
        torch.testing.assert_close(Y1, Y2)
        torch.testing.assert_close(scratch.moving_mean.flatten(), concise.running_mean)
        torch.testing.assert_close(scratch.moving_var.flatten(), concise.running_var)
        upstream = torch.randn(shape)  # same gradients flow back through both
        (Y1 * upstream).sum().backward()
        (Y2 * upstream).sum().backward()
        torch.testing.assert_close(X1.grad, X2.grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(scratch.gamma.grad.flatten(), concise.weight.grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(scratch.beta.grad.flatten(), concise.bias.grad, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(concise.running_mean, torch.zeros(5))
    scratch.eval(), concise.eval()  # prediction mode: the moving averages, which stay put
    X = torch.randn(shape)
    torch.testing.assert_close(scratch(X), concise(X))
    torch.testing.assert_close(scratch.moving_mean.flatten(), concise.running_mean)


def test_batch_norm_function_checks_its_input():
    gamma, beta = torch.ones(1, 3), torch.zeros(1, 3)
    mean, var = torch.zeros(1, 3), torch.ones(1, 3)
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, H, W\)"):
        batch_norm(torch.rand(2, 3, 4), gamma, beta, mean, var, 1e-5, 0.1, training=True)
    with pytest.raises(ValueError, match="more than one value per channel"):
        batch_norm(torch.rand(1, 3), gamma, beta, mean, var, 1e-5, 0.1, training=True)
    Y, new_mean, new_var = batch_norm(torch.rand(1, 3), gamma, beta, mean, var, 1e-5, 0.1, training=False)
    assert Y.shape == (1, 3) and new_mean is mean and new_var is var


def test_batchnorm_lenet_scratch_equals_concise():
    torch.manual_seed(0)
    scratch, concise = BatchNormLeNet(impl="scratch"), BatchNormLeNet(impl="concise")
    for mine, theirs in zip(scratch.net, concise.net):
        if isinstance(mine, BatchNorm):
            copy_into_scratch(mine, theirs)
        else:
            mine.load_state_dict(theirs.state_dict())
    X = torch.rand(32, 1, 28, 28)
    torch.testing.assert_close(scratch(X), concise(X))  # training mode (moving averages updated)
    scratch.eval(), concise.eval()
    torch.testing.assert_close(scratch(X), concise(X))  # prediction mode (moving averages used)


# --- bad hyperparameters and inputs --------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: VGG(arch=[]), "arch"),
        (lambda: VGG(arch=[[1]]), "arch"),
        (lambda: VGG(arch=[[0, 64]]), "arch"),
        (lambda: AlexNet(dropout=1.0), "dropout"),
        (lambda: NiN(dropout=-0.1), "dropout"),
        (lambda: BatchNormLeNet(impl="fast"), "impl"),
        (lambda: BatchNorm(6, num_dims=3), "num_dims"),
        (lambda: BatchNorm(6, num_dims=4, momentum=1.5), "momentum"),
        (lambda: ResNet(stem="tiny"), "stem"),
        (lambda: ResNet(arch=[[2, 64], [2]]), "arch"),
        (lambda: ResNet(init="kaiming"), "init"),
        (lambda: DenseNet(growth_rate=0), "growth_rate"),
        (lambda: DenseNet(num_convs_in_dense_blocks=[]), "num_convs_in_dense_blocks"),
        (lambda: GoogLeNet(num_classes=1), "num_classes"),
        (lambda: GoogLeNet(lr=0), "lr"),
    ],
)
def test_bad_hyperparameters_raise_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_networks_with_fixed_input_size_say_which_size():
    with pytest.raises(ValueError, match=r"224x224 inputs \(set --data.resize 224\)"):
        AlexNet()(torch.rand(1, 1, 96, 96))
    with pytest.raises(ValueError, match=r"VGG with 2 blocks expects 28x28"):
        VGG(arch=[[1, 4], [1, 8]])(torch.rand(1, 1, 32, 32))


# --- training ------------------------------------------------------------------------------------

# (build, input side, batch size, steps): tiny widths and sides where the architecture allows.
TRAINING_CASES = {
    "alexnet": (lambda: AlexNet(lr=0.05, dropout=0.0), 224, 2, 4),  # fixed at 224: the smallest batch
    "vgg-tiny": (lambda: VGG(arch=[[1, 8], [1, 16]], lr=0.05, dropout=0.0), 28, 16, 8),
    "nin": (lambda: NiN(optimizer="adam", lr=1e-3, dropout=0.0), 67, 8, 15),
    "googlenet": (lambda: GoogLeNet(optimizer="adam", lr=3e-4), 32, 8, 12),
    "batchnorm-lenet-scratch": (lambda: BatchNormLeNet(impl="scratch"), 28, 64, 10),
    "batchnorm-lenet-concise": (lambda: BatchNormLeNet(impl="concise"), 28, 64, 10),
    "resnet-tiny": (lambda: ResNet(arch=[[1, 16], [1, 32]]), 32, 32, 10),
    "resnet-tiny-small-stem": (
        lambda: ResNet(arch=[[1, 16], [1, 32]], stem="small", optimizer="adam", lr=1e-2),
        28,
        16,
        10,
    ),
    "densenet-tiny": (lambda: DenseNet(num_channels=16, growth_rate=8, num_convs_in_dense_blocks=[2, 2]), 32, 32, 10),
}


@pytest.mark.parametrize("case", TRAINING_CASES)
def test_loss_falls_on_a_tiny_batch(case, image_batch):
    build, side, batch_size, steps = TRAINING_CASES[case]
    torch.manual_seed(0)
    model = build()
    x, y = image_batch
    x, y = x[:batch_size], y[:batch_size]
    if side != 28:
        x = F.interpolate(x, size=(side, side), mode="bilinear")
    assert_loss_falls(model, x, y, steps, to=0.9)


def fit_one_epoch(model: L.LightningModule, data: L.LightningDataModule, root) -> L.Trainer:
    trainer = L.Trainer(
        max_epochs=1, default_root_dir=root, enable_progress_bar=False, logger=False, enable_model_summary=False
    )
    trainer.fit(model, data)
    return trainer


def test_batchnorm_lenet_checkpoint_keeps_the_moving_statistics(tiny_mnist, tmp_path):
    model = BatchNormLeNet(impl="scratch")
    trainer = fit_one_epoch(model, FashionMNIST(batch_size=32), tmp_path)
    bn = model.net[1]
    assert not torch.allclose(bn.moving_mean, torch.zeros_like(bn.moving_mean))  # training moved them
    path = tmp_path / "bn.ckpt"
    trainer.save_checkpoint(path)
    restored = BatchNormLeNet.load_from_checkpoint(path)
    assert restored.impl == "scratch" and restored.hparams.lr == 1.0
    torch.testing.assert_close(restored.net[1].moving_var, bn.moving_var)
    model.eval(), restored.eval()
    X = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(restored(X), model(X))


def test_resnet_checkpoint_round_trip_with_resized_data(tiny_mnist, tmp_path):
    model = ResNet(arch=[[1, 8], [1, 16]], stem="book")
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = fit_one_epoch(model, FashionMNIST(batch_size=32, resize=32), tmp_path)
    trained = model.state_dict()
    assert not torch.equal(trained["net.0.0.weight"], initial["net.0.0.weight"])  # one epoch moved the stem
    assert not torch.equal(trained["net.0.1.running_mean"], initial["net.0.1.running_mean"])  # and its BN statistics
    path = tmp_path / "resnet.ckpt"
    trainer.save_checkpoint(path)
    restored = ResNet.load_from_checkpoint(path)
    assert restored.arch == [[1, 8], [1, 16]] and restored.stem == "book"
    model.eval(), restored.eval()
    X = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(restored(X), model(X))
    saved = torch.load(path, weights_only=True)
    assert saved["zoo"] == {"model": "zoo.ResNet", "data": "datamodules.FashionMNIST"}


def test_cli_fits_the_resnet_28px_config_and_tests_from_the_checkpoint(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = config("resnet18_28px")
    fast = ["--trainer.max_epochs", "1", "--trainer.enable_model_summary", "false", "--data.batch_size", "32"]
    cli = main(["fit", "--config", path, "--model.arch", "[[1, 8], [1, 16]]", *fast])
    assert cli.model.stem == "small" and cli.model.hparams.init == "normal" and cli.model.hparams.lr == 0.1
    assert "examples/s" in capsys.readouterr().out
    ckpt = sorted(tmp_path.glob("lightning_logs/version_*/checkpoints/last.ckpt"))[-1]
    cli = main(["test", "--ckpt_path", str(ckpt)])
    assert type(cli.model).__name__ == "ResNet" and cli.model.arch == [[1, 8], [1, 16]]
    assert "test/acc" in cli.trainer.callback_metrics
