"""Batch normalisation (book section "Batch Normalization"), from scratch and concise, in the book's
LeNet with a batch-norm layer after every convolution and fully connected layer.

Two details differ from the book's scratch code, so that ``impl="scratch"`` computes exactly what
``nn.BatchNorm2d``/``nn.BatchNorm1d`` compute (a test checks it on copied state):

* ``momentum`` is the weight of the new minibatch in the moving averages (PyTorch's convention,
  0.1). The book passes ``momentum=0.9`` as the weight of the old value: the same average.
* The moving variance averages the unbiased minibatch variance (times m/(m-1), m values per
  channel), as PyTorch does; the book averages the biased one. Normalisation uses the biased one
  in both. Training or prediction mode comes from ``module.training``, not ``torch.is_grad_enabled()``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.base import Classifier
from ..core.checks import check_impl
from ..core.init import init_weights
from ..core.registry import Book, register_model

# --- scratch batch normalisation -----------------------------------------------------------------


def batch_norm(
    X: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    moving_mean: torch.Tensor,
    moving_var: torch.Tensor,
    eps: float,
    momentum: float,
    training: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scratch: normalise X per channel; return (Y, updated moving_mean, updated moving_var).

    In training mode the minibatch statistics are used (over the batch for fully connected inputs
    (N, C), over batch, height and width for convolutional inputs (N, C, H, W)) and the moving
    averages are updated; in prediction mode the moving averages are used and returned unchanged.
    """
    if X.dim() not in (2, 4):
        raise ValueError(f"batch_norm takes (N, C) or (N, C, H, W) inputs, got shape {tuple(X.shape)}")
    if not training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        return gamma * X_hat + beta, moving_mean, moving_var
    dims = (0,) if X.dim() == 2 else (0, 2, 3)
    m = X.numel() // X.shape[1]  # values per channel
    if m < 2:
        raise ValueError(f"batch_norm in training mode needs more than one value per channel, got {tuple(X.shape)}")
    mean = X.mean(dim=dims, keepdim=True)
    var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
    X_hat = (X - mean) / torch.sqrt(var + eps)  # training: the minibatch's own mean and variance
    with torch.no_grad():
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var * m / (m - 1)
    return gamma * X_hat + beta, moving_mean, moving_var


class BatchNorm(nn.Module):
    """Scratch batch-norm layer: learnable scale ``gamma`` and shift ``beta``, moving mean and variance.

    Args:
        num_features: channels (outputs of the layer before).
        num_dims: 2 after a fully connected layer, 4 after a convolution.
        eps: added to the variance for numerical stability.
        momentum: weight of the current minibatch in the moving averages.
    """

    def __init__(self, num_features: int, num_dims: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        if num_dims not in (2, 4):
            raise ValueError(f"num_dims must be 2 (fully connected) or 4 (convolutional), got {num_dims}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.eps, self.momentum = eps, momentum
        self.gamma = nn.Parameter(torch.ones(shape))  # scale, starts at 1
        self.beta = nn.Parameter(torch.zeros(shape))  # shift, starts at 0
        # Buffers, not parameters: saved in checkpoints and moved with the model, but not trained
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y, moving_mean, moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean, self.moving_var, self.eps, self.momentum, self.training
        )
        if self.training:
            self.moving_mean.copy_(moving_mean)
            self.moving_var.copy_(moving_var)
        return Y


# --- LeNet with batch normalisation --------------------------------------------------------------


def batch_norm_layer(num_features: int, num_dims: int, impl: str) -> nn.Module:
    """The scratch :class:`BatchNorm` or ``nn.BatchNorm2d``/``nn.BatchNorm1d`` (momentum 0.1, eps 1e-5)."""
    if check_impl(impl) == "scratch":
        return BatchNorm(num_features, num_dims)
    return nn.BatchNorm2d(num_features) if num_dims == 4 else nn.BatchNorm1d(num_features)


def batchnorm_lenet(num_classes: int = 10, impl: str = "scratch", in_channels: int = 1) -> nn.Sequential:
    """LeNet (no padding on the first convolution) with batch norm before every sigmoid."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5), batch_norm_layer(6, 4, impl), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), batch_norm_layer(16, 4, impl), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), batch_norm_layer(120, 2, impl), nn.Sigmoid(),
        nn.Linear(120, 84), batch_norm_layer(84, 2, impl), nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )  # fmt: skip


class BatchNormLeNet(Classifier):
    """LeNet with batch normalisation on 28x28 images; the book's recipe is SGD lr 1.0, batch 256.

    Args:
        num_classes: output classes.
        impl: ``scratch`` (the hand-written :class:`BatchNorm`) or ``concise`` (``nn.BatchNorm2d/1d``).
        in_channels: input channels (on the command line: the data module's; 1 for Fashion-MNIST).
        init: weight initialisation (:mod:`zoo.core.init`); the book's is ``xavier``.
        lr: learning rate.
    """

    def __init__(
        self,
        num_classes: int = 10,
        impl: str = "scratch",
        in_channels: int = 1,
        init: str = "xavier",
        lr: float = 1.0,
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.impl = check_impl(impl)
        self.net = init_weights(batchnorm_lenet(num_classes, impl, in_channels), init)


register_model(
    "batchnorm_lenet",
    BatchNormLeNet,
    network="LeNet with batch normalisation",
    book=Book(v1="8.5 Batch Normalization", v017="7.5 Batch Normalization"),
    configs=["convnets/batchnorm_lenet.yaml"],
    data="FashionMNIST",
    input_shape=(1, 28, 28),
    variants={"impl": ("scratch", "concise")},
)
