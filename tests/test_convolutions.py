"""Convolutions from scratch: each primitive against torch and the book's printed examples; the edge kernel."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import config, quiet_trainer
from torch import nn

from cli import run
from datamodules import EdgeImage
from datamodules.synthetic.edges import edge_image
from zoo import EdgeDetector
from zoo.convnets.convolutions import (
    Conv2D,
    comp_conv2d,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    corr2d_multi_in_out_1x1,
    pool2d,
)

X33 = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])  # the book's examples
K22 = torch.tensor([[0.0, 1.0], [2.0, 3.0]])


def torch_corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """torch's conv2d is a cross-correlation: the reference for the scratch functions."""
    return F.conv2d(X.reshape(1, 1, *X.shape), K.reshape(1, 1, *K.shape))[0, 0]


# --- convolutions for images ---------------------------------------------------------------------------


def test_corr2d_gives_the_books_values():
    torch.testing.assert_close(corr2d(X33, K22), torch.tensor([[19.0, 25.0], [37.0, 43.0]]))


@pytest.mark.parametrize("image, kernel", [((6, 8), (1, 2)), ((5, 5), (3, 3)), ((7, 4), (2, 4)), ((3, 3), (3, 3))])
def test_corr2d_equals_torch_on_random_inputs(image, kernel):
    torch.manual_seed(0)
    X, K = torch.randn(image), torch.randn(kernel)
    torch.testing.assert_close(corr2d(X, K), torch_corr2d(X, K))


def test_the_edge_kernel_finds_vertical_edges_only():
    X, K = edge_image(), torch.tensor([[1.0, -1.0]])
    Y = corr2d(X, K)
    assert Y.shape == (6, 7) and (Y[:, 1] == 1).all() and (Y[:, 5] == -1).all() and Y.abs().sum() == 12
    assert corr2d(X.t(), K).abs().sum() == 0  # on the transposed image the edges are horizontal: none found


def test_conv2d_layer_equals_torch_on_copied_weights():
    torch.manual_seed(0)
    scratch = Conv2D((2, 3))
    assert (scratch.weight >= 0).all() and (scratch.weight < 1).all() and scratch.bias.item() == 0  # the book's start
    with torch.no_grad():
        scratch.bias.fill_(0.5)
    layer = nn.Conv2d(1, 1, (2, 3))
    with torch.no_grad():
        layer.weight.copy_(scratch.weight.reshape(1, 1, 2, 3))
        layer.bias.copy_(scratch.bias)
    X = torch.randn(5, 6)
    torch.testing.assert_close(scratch(X), layer(X.reshape(1, 1, 5, 6))[0, 0])
    assert Conv2D((1, 2), bias=False).bias is None


# --- padding and stride --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer, shape",
    [
        (dict(kernel_size=3, padding=1), (8, 8)),
        (dict(kernel_size=(5, 3), padding=(2, 1)), (8, 8)),
        (dict(kernel_size=3, padding=1, stride=2), (4, 4)),
        (dict(kernel_size=(3, 5), padding=(0, 1), stride=(3, 4)), (2, 2)),
    ],
)
def test_padding_and_stride_give_the_books_shapes(layer, shape):
    assert comp_conv2d(nn.Conv2d(1, 1, **layer), torch.rand(8, 8)).shape == shape


# --- multiple input and output channels ----------------------------------------------------------------


def test_multi_channel_cross_correlation_gives_the_books_values():
    X = torch.stack((X33, X33 + 1))
    K = torch.stack((K22, K22 + 1))
    torch.testing.assert_close(corr2d_multi_in(X, K), torch.tensor([[56.0, 72.0], [104.0, 120.0]]))
    K = torch.stack((K, K + 1, K + 2), 0)
    assert K.shape == (3, 2, 2, 2)
    expected = torch.tensor(
        [[[56.0, 72.0], [104.0, 120.0]], [[76.0, 100.0], [148.0, 172.0]], [[96.0, 128.0], [192.0, 224.0]]]
    )
    torch.testing.assert_close(corr2d_multi_in_out(X, K), expected)


@pytest.mark.parametrize("c_i, c_o, side, kernel", [(2, 3, 5, 2), (3, 1, 4, 3), (1, 4, 6, 1)])
def test_multi_channel_cross_correlation_equals_torch(c_i, c_o, side, kernel):
    torch.manual_seed(0)
    X, K = torch.randn(c_i, side, side), torch.randn(c_o, c_i, kernel, kernel)
    torch.testing.assert_close(corr2d_multi_in(X, K[0]), F.conv2d(X[None], K[:1])[0, 0])
    torch.testing.assert_close(corr2d_multi_in_out(X, K), F.conv2d(X[None], K)[0])


def test_a_1x1_convolution_is_a_matrix_product_over_the_pixels():
    torch.manual_seed(0)
    X, K = torch.normal(0, 1, (3, 3, 3)), torch.normal(0, 1, (2, 3, 1, 1))  # the book's shapes
    torch.testing.assert_close(corr2d_multi_in_out_1x1(X, K), corr2d_multi_in_out(X, K))
    torch.testing.assert_close(corr2d_multi_in_out_1x1(X, K), F.conv2d(X[None], K)[0])


# --- pooling ---------------------------------------------------------------------------------------------


def test_pool2d_gives_the_books_values():
    torch.testing.assert_close(pool2d(X33, (2, 2)), torch.tensor([[4.0, 5.0], [7.0, 8.0]]))
    torch.testing.assert_close(pool2d(X33, (2, 2), "avg"), torch.tensor([[2.0, 3.0], [5.0, 6.0]]))
    with pytest.raises(ValueError, match="mode must be one of"):
        pool2d(X33, (2, 2), "median")


@pytest.mark.parametrize("size", [(2, 2), (3, 2), (1, 4)])
def test_pool2d_equals_torch_at_stride_one(size):
    torch.manual_seed(0)
    X = torch.randn(6, 7)
    torch.testing.assert_close(pool2d(X, size), F.max_pool2d(X[None, None], size, stride=1)[0, 0])
    torch.testing.assert_close(pool2d(X, size, "avg"), F.avg_pool2d(X[None, None], size, stride=1)[0, 0])


def test_torch_pooling_with_padding_and_stride_gives_the_books_values():
    X = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
    assert nn.MaxPool2d(3)(X).tolist() == [[[[10.0]]]]
    assert nn.MaxPool2d(3, padding=1, stride=2)(X).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    assert nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(X).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    two = nn.MaxPool2d(3, padding=1, stride=2)(torch.cat((X, X + 1), 1))
    assert two.tolist() == [[[[5.0, 7.0], [13.0, 15.0]], [[6.0, 8.0], [14.0, 16.0]]]]


# --- learning the edge kernel ----------------------------------------------------------------------------


def test_the_edge_data_is_the_books():
    data = EdgeImage()
    X, Y = data.train_set.tensors
    assert X.shape == (1, 1, 6, 8) and Y.shape == (1, 1, 6, 7)
    torch.testing.assert_close(Y[0, 0], corr2d(X[0, 0], torch.tensor([[1.0, -1.0]])))


@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_the_book_recipe_recovers_the_edge_kernel(impl, tmp_path):
    torch.manual_seed(0)
    model = EdgeDetector(impl=impl, optimizer="sgd-scratch")
    quiet_trainer(tmp_path, max_epochs=10, enable_checkpointing=False).fit(model, EdgeImage())
    torch.testing.assert_close(model.kernel, torch.tensor([[1.0, -1.0]]), atol=0.05, rtol=0)


def test_scratch_and_concise_start_and_train_the_same(tmp_path):
    kernels = []
    for impl in ("scratch", "concise"):
        torch.manual_seed(3)
        model = EdgeDetector(impl=impl)
        kernels.append(model.kernel.clone())
        quiet_trainer(tmp_path, max_epochs=4, enable_checkpointing=False).fit(model, EdgeImage())
        kernels.append(model.kernel.clone())
    torch.testing.assert_close(kernels[0], kernels[2])  # the same start
    torch.testing.assert_close(kernels[1], kernels[3])  # the same four steps


def test_the_cli_prints_the_learned_kernel_and_its_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run(["fit", "--config", config("edge_detector"), "--trainer.enable_model_summary", "false"])
    out = capsys.readouterr().out
    assert "learned kernel: [[" in out
    assert float(out.split("largest error of the learned one: ")[1].split()[0]) < 0.05


def test_bad_kernel_settings_are_clear_errors():
    with pytest.raises(ValueError, match="kernel_size"):
        EdgeDetector(kernel_size=[2])
    with pytest.raises(ValueError, match="kernel must hold"):
        EdgeImage(kernel=[])
