"""The companion PyTorch course's networks on MNIST: shapes, blocks, training, init, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_loss_falls, layer_shapes, quiet_trainer
from torch import nn

from datamodules import MNIST
from zoo import MLP
from zoo.course.cnn import BasicCNN, InceptionA, InceptionANet, ResidualBlock, ResidualBlockNet

# --- shapes --------------------------------------------------------------------------------------


def test_basic_cnn_layer_shapes():
    assert layer_shapes(BasicCNN().net, torch.rand(2, 1, 28, 28)) == [
        ("Conv2d", (2, 10, 24, 24)),
        ("MaxPool2d", (2, 10, 12, 12)),
        ("ReLU", (2, 10, 12, 12)),
        ("Conv2d", (2, 20, 8, 8)),
        ("MaxPool2d", (2, 20, 4, 4)),
        ("ReLU", (2, 20, 4, 4)),
        ("Flatten", (2, 320)),
        ("Linear", (2, 10)),
    ]


def test_inception_net_layer_shapes():
    assert layer_shapes(InceptionANet().net, torch.rand(2, 1, 28, 28)) == [
        ("Conv2d", (2, 10, 24, 24)),
        ("MaxPool2d", (2, 10, 12, 12)),
        ("ReLU", (2, 10, 12, 12)),
        ("InceptionA", (2, 88, 12, 12)),
        ("Conv2d", (2, 20, 8, 8)),
        ("MaxPool2d", (2, 20, 4, 4)),
        ("ReLU", (2, 20, 4, 4)),
        ("InceptionA", (2, 88, 4, 4)),
        ("Flatten", (2, 1408)),
        ("Linear", (2, 10)),
    ]


def test_residual_net_layer_shapes():
    assert layer_shapes(ResidualBlockNet().net, torch.rand(2, 1, 28, 28)) == [
        ("Conv2d", (2, 16, 24, 24)),
        ("MaxPool2d", (2, 16, 12, 12)),
        ("ReLU", (2, 16, 12, 12)),
        ("ResidualBlock", (2, 16, 12, 12)),
        ("Conv2d", (2, 32, 8, 8)),
        ("MaxPool2d", (2, 32, 4, 4)),
        ("ReLU", (2, 32, 4, 4)),
        ("ResidualBlock", (2, 32, 4, 4)),
        ("Flatten", (2, 512)),
        ("Linear", (2, 10)),
    ]


def test_fc_net_is_the_mlp_with_four_hidden_layers():
    net = MLP(num_hiddens=[512, 256, 128, 64], init="default").net
    shapes = layer_shapes(net, torch.rand(2, 1, 28, 28))
    assert [s for name, s in shapes if name == "Linear"] == [(2, 512), (2, 256), (2, 128), (2, 64), (2, 10)]
    assert [name for name, _ in shapes].count("ReLU") == 4


# --- blocks --------------------------------------------------------------------------------------


def test_inception_block_concatenates_16_24_24_24_channels():
    block = InceptionA(in_channels=7)
    x = torch.rand(3, 7, 9, 11)
    assert block(x).shape == (3, 88, 9, 11) and InceptionA.out_channels == 88
    branches = [block.branch1x1(x), block.branch5x5(x), block.branch3x3(x), block.branch_pool(x)]
    assert [b.shape[1] for b in branches] == [16, 24, 24, 24]
    torch.testing.assert_close(block(x), torch.cat(branches, dim=1))
    pooled = nn.functional.avg_pool2d(x, kernel_size=3, stride=1, padding=1)  # the course's functional pooling
    torch.testing.assert_close(block.branch_pool(x), block.branch_pool[1](pooled))


def test_residual_block_preserves_shape_and_adds_the_input():
    block = ResidualBlock(channels=5)
    x = torch.randn(2, 5, 6, 6)
    assert block(x).shape == x.shape
    with torch.no_grad():
        for conv in (block.conv1, block.conv2):
            conv.weight.zero_()
            conv.bias.zero_()
    torch.testing.assert_close(block(x), torch.relu(x))  # zero residual branch: relu(x + 0)


# --- initialisation ------------------------------------------------------------------------------


def test_course_nets_keep_pytorchs_default_init_and_mlp_keeps_the_books():
    torch.manual_seed(0)
    default, xavier = BasicCNN().net[0].weight, BasicCNN(init="xavier").net[0].weight
    bound = 1 / math.sqrt(1 * 5 * 5)  # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) = U(-0.2, 0.2)
    xavier_bound = math.sqrt(6 / (1 * 25 + 10 * 25))  # 0.148
    assert xavier_bound < default.abs().max() <= bound and default.std() > 0.5 * bound / math.sqrt(3)
    assert xavier.abs().max() <= xavier_bound
    for impl in ("scratch", "concise"):
        default = MLP(impl=impl, num_hiddens=[512, 256], init="default")
        book = MLP(impl=impl, num_hiddens=[512, 256])
        first = {"scratch": lambda m: m.Ws[0].T, "concise": lambda m: m.net[1].weight}[impl]
        assert first(default).shape == (512, 784)
        assert first(default).abs().max() <= 1 / math.sqrt(784) and first(default).std() > 0.015
        assert abs(first(book).std().item() - 0.01) < 0.001
    with pytest.raises(ValueError, match="init"):
        MLP(init="kaiming")
    with pytest.raises(ValueError, match="init"):
        BasicCNN(init="kaiming")


# --- training ------------------------------------------------------------------------------------


def test_course_nets_default_to_the_courses_optimiser():
    for model in (BasicCNN(), InceptionANet(), ResidualBlockNet()):
        optimizer = model.configure_optimizers()
        assert type(optimizer) is torch.optim.SGD
        assert optimizer.defaults["lr"] == 0.01 and optimizer.defaults["momentum"] == 0.5


@pytest.mark.parametrize(
    "build",
    [
        lambda lr: MLP(num_hiddens=[512, 256, 128, 64], init="default", lr=lr, momentum=0.5),
        lambda lr: BasicCNN(lr=lr),
        lambda lr: InceptionANet(lr=lr),
        lambda lr: ResidualBlockNet(lr=lr),
    ],
    ids=["fc", "cnn", "inception", "residual"],
)
def test_loss_falls_on_a_tiny_batch(build, image_batch):
    torch.manual_seed(0)
    model = build(lr=0.1)  # the course's lr 0.01 needs more than a few steps on 32 images
    x, y = image_batch
    assert_loss_falls(model, (x[:32] - MNIST.mean) / MNIST.std, y[:32], steps=30, to=0.7)


def test_checkpoint_round_trip_on_mnist_files(tiny_mnist, tmp_path):
    data = MNIST(batch_size=32, normalize=True)
    model = ResidualBlockNet(init="xavier")
    trainer = quiet_trainer(tmp_path, max_epochs=1)
    trainer.fit(model, data)
    assert "val/acc" in trainer.callback_metrics
    path = tmp_path / "residual.ckpt"
    trainer.save_checkpoint(path)
    restored = ResidualBlockNet.load_from_checkpoint(path)
    assert restored.hparams.init == "xavier" and restored.hparams.momentum == 0.5 and restored.hparams.lr == 0.01
    x = torch.randn(4, 1, 28, 28)
    model.eval()
    torch.testing.assert_close(restored(x), model(x))
    saved = torch.load(path, weights_only=True)
    assert saved["zoo"] == {"model": "zoo.ResidualBlockNet", "data": "datamodules.MNIST"}
