"""Long short-term memory from scratch (book section "Long Short-Term Memory (LSTM)").

I_t = sigmoid(X_t W_xi + H_{t-1} W_hi + b_i)    input gate
F_t = sigmoid(X_t W_xf + H_{t-1} W_hf + b_f)    forget gate
O_t = sigmoid(X_t W_xo + H_{t-1} W_ho + b_o)    output gate
C~_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)      input node
C_t = F_t * C_{t-1} + I_t * C~_t                memory cell
H_t = O_t * tanh(C_t)
"""

from __future__ import annotations

import torch
from torch import nn

from .rnn import scratch_parameter


class LSTMScratch(nn.Module):
    """Scratch: one LSTM layer, looping over time steps in Python; state is (H, C)."""

    def __init__(self, num_inputs: int, num_hiddens: int, sigma: float = 0.01) -> None:
        super().__init__()
        self.num_hiddens = num_hiddens

        def triple():
            return (
                scratch_parameter(num_inputs, num_hiddens, sigma=sigma),
                scratch_parameter(num_hiddens, num_hiddens, sigma=sigma),
                nn.Parameter(torch.zeros(num_hiddens)),
            )

        self.W_xi, self.W_hi, self.b_i = triple()  # input gate
        self.W_xf, self.W_hf, self.b_f = triple()  # forget gate
        self.W_xo, self.W_ho, self.b_o = triple()  # output gate
        self.W_xc, self.W_hc, self.b_c = triple()  # input node

    def forward(self, inputs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        if state is None:
            H = C = inputs.new_zeros(inputs.shape[1], self.num_hiddens)
        else:
            H, C = state
        outputs = []
        for X in inputs:
            I = torch.sigmoid(X @ self.W_xi + H @ self.W_hi + self.b_i)  # noqa: E741  (the book's name)
            F = torch.sigmoid(X @ self.W_xf + H @ self.W_hf + self.b_f)
            O = torch.sigmoid(X @ self.W_xo + H @ self.W_ho + self.b_o)  # noqa: E741
            C_tilde = torch.tanh(X @ self.W_xc + H @ self.W_hc + self.b_c)
            C = F * C + I * C_tilde
            H = O * torch.tanh(C)
            outputs.append(H)
        return torch.stack(outputs), (H, C)
