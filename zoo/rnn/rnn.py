"""Recurrent neural networks from scratch (book section "Recurrent Neural Network Implementation
from Scratch"): H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h).

Scratch layers in this package share ``nn.RNN``'s calling convention for one layer and direction:
inputs (steps, batch, features), state (batch, hiddens) or None -> (outputs, final state).
"""

from __future__ import annotations

import torch
from torch import nn


def scratch_parameter(*shape: int, sigma: float = 0.01) -> nn.Parameter:
    """Weights drawn from N(0, sigma^2), as the book initialises its scratch RNNs."""
    return nn.Parameter(torch.randn(*shape) * sigma)


class RNNScratch(nn.Module):
    """Scratch: one tanh RNN layer, looping over time steps in Python."""

    def __init__(self, num_inputs: int, num_hiddens: int, sigma: float = 0.01) -> None:
        super().__init__()
        self.num_hiddens = num_hiddens
        self.W_xh = scratch_parameter(num_inputs, num_hiddens, sigma=sigma)
        self.W_hh = scratch_parameter(num_hiddens, num_hiddens, sigma=sigma)
        self.b_h = nn.Parameter(torch.zeros(num_hiddens))

    def forward(self, inputs: torch.Tensor, state: torch.Tensor | None = None):
        H = inputs.new_zeros(inputs.shape[1], self.num_hiddens) if state is None else state
        outputs = []
        for X in inputs:
            H = torch.tanh(X @ self.W_xh + H @ self.W_hh + self.b_h)
            outputs.append(H)
        return torch.stack(outputs), H
