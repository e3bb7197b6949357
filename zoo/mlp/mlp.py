"""Multilayer perceptrons, with dropout (book sections "Implementation of Multilayer Perceptrons"
and "Dropout"), from scratch and concise.

``MLP(num_hiddens=[256])`` is the book's 784-256-10 network; ``num_hiddens=[256, 256]`` with
``dropouts=[0.2, 0.5]`` is its dropout network. Weights start at N(0, 0.01), as in the book
(``init="normal"``); the companion PyTorch course's five-layer net keeps PyTorch's default
(``init="default"``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.base import Classifier
from ..core.checks import check_impl
from ..core.init import init_weights
from ..core.registry import Book, register_model

# --- scratch pieces ------------------------------------------------------------------------------


def relu(X: torch.Tensor) -> torch.Tensor:
    """Scratch: max(X, 0)."""
    return torch.max(X, torch.zeros_like(X))


def dropout_layer(X: torch.Tensor, p: float) -> torch.Tensor:
    """Scratch: zero each element with probability p and scale the survivors by 1 / (1 - p)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if p == 1.0:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape, device=X.device) > p).to(X.dtype)
    return mask * X / (1.0 - p)


# --- the network ---------------------------------------------------------------------------------


class MLP(Classifier):
    """Fully connected layers with ReLU (and dropout after each hidden layer, if asked for).

    Args:
        num_inputs: input features, 784 = 28 x 28 pixels flattened (on the command line: the data module's).
        num_hiddens: width of each hidden layer.
        num_classes: output classes (the book's ``num_outputs``).
        dropouts: dropout probability after each hidden layer (empty: no dropout).
        impl: ``scratch`` (hand-written parameters, ReLU and dropout) or ``concise`` (``torch.nn``).
        lr: learning rate.
        init: weight initialisation (:mod:`zoo.core.init`): ``normal`` N(0, 0.01) as the book, ``default``
            (PyTorch's) or ``xavier``.
    """

    def __init__(
        self,
        num_inputs: int = 784,
        num_hiddens: list[int] = [256],  # noqa: B006
        num_classes: int = 10,
        dropouts: list[float] = [],  # noqa: B006
        impl: str = "concise",
        lr: float = 0.1,
        init: str = "normal",
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, **kwargs)
        self.impl = check_impl(impl)
        if dropouts and len(dropouts) != len(num_hiddens):
            raise ValueError(f"give one dropout per hidden layer: {len(num_hiddens)} layers, dropouts={dropouts}")
        if any(not 0.0 <= p <= 1.0 for p in dropouts):
            raise ValueError(f"dropout probabilities must be in [0, 1], got {dropouts}")
        self.dropouts = list(dropouts) or [0.0] * len(num_hiddens)
        widths = [num_inputs, *num_hiddens, num_classes]
        if impl == "scratch" and init == "normal":  # the book's scratch parameters: W = 0.01 * randn, b = 0
            self.Ws = nn.ParameterList(nn.Parameter(torch.randn(i, o) * 0.01) for i, o in zip(widths, widths[1:]))
            self.bs = nn.ParameterList(nn.Parameter(torch.zeros(o)) for o in widths[1:])
        elif impl == "scratch":  # another scheme: take the parameters of equally initialised nn.Linear layers
            linears = [init_weights(nn.Linear(i, o), init) for i, o in zip(widths, widths[1:])]
            self.Ws = nn.ParameterList(nn.Parameter(linear.weight.detach().T.clone()) for linear in linears)
            self.bs = nn.ParameterList(nn.Parameter(linear.bias.detach().clone()) for linear in linears)
        else:
            layers: list[nn.Module] = [nn.Flatten()]
            for (i, o), p in zip(zip(widths, widths[1:]), self.dropouts):
                layers += [nn.Linear(i, o), nn.ReLU()] + ([nn.Dropout(p)] if p > 0 else [])
            layers.append(nn.Linear(widths[-2], widths[-1]))
            self.net = init_weights(nn.Sequential(*layers), init)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.impl == "concise":
            return self.net(X)
        H = X.reshape(len(X), -1)
        for W, b, p in zip(self.Ws[:-1], self.bs[:-1], self.dropouts):
            H = relu(H @ W + b)
            if self.training and p > 0:
                H = dropout_layer(H, p)
        return H @ self.Ws[-1] + self.bs[-1]


register_model(
    "mlp",
    MLP,
    network="MLP (784-256-10)",
    book=Book(
        v1="5.2 Implementation of Multilayer Perceptrons",
        v017=(
            "4.2 Implementation of Multilayer Perceptrons from Scratch",
            "4.3 Concise Implementation of Multilayer Perceptrons",
        ),
    ),
    configs=["mlp/mlp.yaml"],
    data="FashionMNIST",
    input_shape=(1, 28, 28),
    variants={"impl": ("scratch", "concise")},
)
register_model(
    "dropout_mlp",
    MLP,
    network="Dropout MLP (784-256-256-10, p 0.2 / 0.5)",
    book=Book(v1="5.6 Dropout", v017="4.6 Dropout"),
    configs=["mlp/dropout_mlp.yaml"],
    data="FashionMNIST",
    input_shape=(1, 28, 28),
    kwargs={"num_hiddens": [256, 256], "dropouts": [0.2, 0.5], "lr": 0.5},
    variants={"impl": ("scratch", "concise")},
)
