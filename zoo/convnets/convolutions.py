"""Convolutions from scratch (book sections "Convolutions for Images", "Padding and Stride", "Multiple Input
and Multiple Output Channels" and "Pooling"): every primitive the chapter builds by hand before LeNet uses
``torch.nn``, and the chapter's learning task, a convolution that learns the edge-detecting kernel [1, -1].

The scratch functions loop in Python as the book's do; tests prove each equals ``torch.nn.functional``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.base import Regressor
from ..core.checks import check_choice, check_impl
from ..core.init import init_weights
from ..core.registry import Book, register_model

# --- convolutions for images (scratch) --------------------------------------------------------------


def corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Scratch: the 2-D cross-correlation of X (h, w) with kernel K (kh, kw); shape (h - kh + 1, w - kw + 1)."""
    h, w = K.shape
    Y = X.new_zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


class Conv2D(nn.Module):
    """Scratch: a 2-D convolutional layer on one (h, w) image, ``corr2d(x, weight) + bias``.

    The weight starts uniform in [0, 1) and the bias at 0, as the book's; ``bias=False`` drops the bias, as the
    kernel-learning example does.
    """

    def __init__(self, kernel_size: tuple[int, int], bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = corr2d(x, self.weight)
        return y if self.bias is None else y + self.bias


# --- padding and stride -----------------------------------------------------------------------------


def comp_conv2d(conv2d: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The book's helper: apply `conv2d` to one single-channel image X (h, w); the output image (h', w')."""
    Y = conv2d(X.reshape((1, 1) + X.shape))
    return Y.reshape(Y.shape[2:])


# --- multiple input and multiple output channels (scratch) ---------------------------------------------


def corr2d_multi_in(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Scratch: X (c_i, h, w), K (c_i, kh, kw): the sum over input channels of their cross-correlations."""
    return sum(corr2d(x, k) for x, k in zip(X, K))


def corr2d_multi_in_out(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Scratch: X (c_i, h, w), K (c_o, c_i, kh, kw): one output channel per kernel, stacked."""
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0)


def corr2d_multi_in_out_1x1(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Scratch: a 1x1 convolution, X (c_i, h, w) and K (c_o, c_i, 1, 1), as a matrix product over the pixels."""
    c_i, h, w = X.shape
    c_o = K.shape[0]
    Y = K.reshape((c_o, c_i)) @ X.reshape((c_i, h * w))  # a fully connected layer applied at every pixel
    return Y.reshape((c_o, h, w))


# --- pooling (scratch) ---------------------------------------------------------------------------------

POOL_MODES = ("max", "avg")


def pool2d(X: torch.Tensor, pool_size: tuple[int, int], mode: str = "max") -> torch.Tensor:
    """Scratch: max or average pooling of X (h, w) over (ph, pw) windows at stride 1, no padding."""
    check_choice("mode", mode, POOL_MODES)
    p_h, p_w = pool_size
    Y = X.new_zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i : i + p_h, j : j + p_w]
            Y[i, j] = window.max() if mode == "max" else window.mean()
    return Y


# --- learning a kernel ---------------------------------------------------------------------------------


class EdgeDetector(Regressor):
    """One convolution without bias, trained to map an image to its vertical edges (the book's "Learning a
    Kernel": the target is the image cross-correlated with [1, -1]); prints the kernel it learned.

    Args:
        kernel_size: the kernel's (height, width); (1, 2) as the book.
        impl: ``scratch`` (:class:`Conv2D`, looping over pixels) or ``concise`` (``nn.Conv2d``).
        lr: learning rate (the book: 3e-2, plain SGD).
        init: weight initialisation (:mod:`zoo.core.init`); ``default`` (PyTorch's) as the book's ``nn.Conv2d``.
            The scratch layer takes the weights of an equally initialised ``nn.Conv2d``, so both impls start
            (and train) the same.

    The loss is the sum of squared errors over the image, as the book's ``l.sum().backward()``.
    """

    def __init__(
        self,
        kernel_size: list[int] = [1, 2],  # noqa: B006
        impl: str = "concise",
        lr: float = 0.03,
        init: str = "default",
        **kwargs,
    ) -> None:
        super().__init__(lr=lr, **kwargs)
        if len(kernel_size) != 2 or min(kernel_size) < 1:
            raise ValueError(f"kernel_size must be [height, width] of positive ints, got {kernel_size}")
        self.impl = check_impl(impl)
        conv = init_weights(nn.Conv2d(1, 1, kernel_size=tuple(kernel_size), bias=False), init)
        if impl == "scratch":
            self.conv = Conv2D(tuple(kernel_size), bias=False)
            with torch.no_grad():
                self.conv.weight.copy_(conv.weight.reshape(kernel_size))
        else:
            self.conv = conv

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """(N, 1, h, w) images -> (N, 1, h', w') edge maps."""
        if self.impl == "scratch":
            return torch.stack([self.conv(x[0]) for x in X]).unsqueeze(1)
        return self.conv(X)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((y_hat - y) ** 2).sum()

    @property
    def kernel(self) -> torch.Tensor:
        """The learned kernel, (kh, kw)."""
        return self.conv.weight.detach().reshape(self.hparams.kernel_size)

    def on_fit_end(self) -> None:
        self.print(f"learned kernel: {[[round(v, 4) for v in row] for row in self.kernel.cpu().tolist()]}")


register_model(
    "edge_detector",
    EdgeDetector,
    network="Learning the edge kernel [1, -1] (a 1x2 convolution on a 6x8 image)",
    book=Book(v1="7.2 Convolutions for Images", v017="6.2 Convolutions for Images"),
    configs=["convnets/edge_detector.yaml"],
    data="EdgeImage",
    input_shape=(1, 6, 8),
    variants={"impl": ("scratch", "concise")},
)
