"""Gated recurrent units from scratch (book section "Gated Recurrent Units (GRU)").

    R_t = sigmoid(X_t W_xr + H_{t-1} W_hr + b_r)        reset gate
    Z_t = sigmoid(X_t W_xz + H_{t-1} W_hz + b_z)        update gate
    H~_t = tanh(X_t W_xh + (R_t * H_{t-1}) W_hh + b_h)  candidate state
    H_t = Z_t * H_{t-1} + (1 - Z_t) * H~_t

``reset_after=True`` applies the reset gate after the hidden matrix product instead,
tanh(X_t W_xh + b_h + R_t * (H_{t-1} W_hh + b_hh)), which is what cuDNN and ``nn.GRU`` compute (the
variant Keras calls ``reset_after``); the book's equations above are the default.
"""

from __future__ import annotations

import torch
from torch import nn

from .rnn import scratch_parameter


class GRUScratch(nn.Module):
    """Scratch: one GRU layer, looping over time steps in Python."""

    def __init__(self, num_inputs: int, num_hiddens: int, sigma: float = 0.01, reset_after: bool = False) -> None:
        super().__init__()
        self.num_hiddens, self.reset_after = num_hiddens, reset_after

        def triple():
            return (
                scratch_parameter(num_inputs, num_hiddens, sigma=sigma),
                scratch_parameter(num_hiddens, num_hiddens, sigma=sigma),
                nn.Parameter(torch.zeros(num_hiddens)),
            )

        self.W_xr, self.W_hr, self.b_r = triple()  # reset gate
        self.W_xz, self.W_hz, self.b_z = triple()  # update gate
        self.W_xh, self.W_hh, self.b_h = triple()  # candidate hidden state
        if reset_after:
            self.b_hh = nn.Parameter(torch.zeros(num_hiddens))

    def forward(self, inputs: torch.Tensor, state: torch.Tensor | None = None):
        H = inputs.new_zeros(inputs.shape[1], self.num_hiddens) if state is None else state
        outputs = []
        for X in inputs:
            R = torch.sigmoid(X @ self.W_xr + H @ self.W_hr + self.b_r)
            Z = torch.sigmoid(X @ self.W_xz + H @ self.W_hz + self.b_z)
            if self.reset_after:
                H_tilde = torch.tanh(X @ self.W_xh + self.b_h + R * (H @ self.W_hh + self.b_hh))
            else:
                H_tilde = torch.tanh(X @ self.W_xh + (R * H) @ self.W_hh + self.b_h)
            H = Z * H + (1 - Z) * H_tilde
            outputs.append(H)
        return torch.stack(outputs), H
