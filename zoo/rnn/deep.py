"""Deep and bidirectional recurrent networks from scratch (book sections "Deep Recurrent Neural
Networks" and "Bidirectional Recurrent Neural Networks").

:class:`ScratchStack` stacks scratch layers, optionally running a second layer over the reversed
sequence and concatenating both directions. It takes and returns state in ``nn.RNN``'s layout,
(num_layers * num_directions, batch, hiddens) (a pair of those for LSTMs), so it is a drop-in for
``nn.RNN``/``nn.GRU``/``nn.LSTM`` with the same arguments.
"""

from __future__ import annotations

import torch
from torch import nn

from .gru import GRUScratch
from .lstm import LSTMScratch
from .rnn import RNNScratch

SCRATCH_CELLS = {"rnn": RNNScratch, "gru": GRUScratch, "lstm": LSTMScratch}


class ScratchStack(nn.Module):
    """Scratch: `num_layers` layers of `cell`, each with one or two (bidirectional) directions."""

    def __init__(
        self, cell: str, num_inputs: int, num_hiddens: int, num_layers: int = 1, bidirectional: bool = False, **kw
    ) -> None:
        super().__init__()
        self.is_lstm = cell == "lstm"
        self.num_directions = 2 if bidirectional else 1
        self.layers = nn.ModuleList()
        for layer in range(num_layers):
            size = num_inputs if layer == 0 else num_hiddens * self.num_directions
            for _ in range(self.num_directions):
                self.layers.append(SCRATCH_CELLS[cell](size, num_hiddens, **kw))

    def forward(self, inputs: torch.Tensor, state=None):
        D = self.num_directions
        new_states = []
        for i in range(0, len(self.layers), D):
            outputs = []
            for d in range(D):
                layer_state = None
                if state is not None:
                    layer_state = (state[0][i + d], state[1][i + d]) if self.is_lstm else state[i + d]
                X = inputs if d == 0 else inputs.flip(0)
                Y, s = self.layers[i + d](X, layer_state)
                outputs.append(Y if d == 0 else Y.flip(0))
                new_states.append(s)
            inputs = torch.cat(outputs, dim=-1) if D > 1 else outputs[0]
        if self.is_lstm:
            return inputs, (torch.stack([h for h, _ in new_states]), torch.stack([c for _, c in new_states]))
        return inputs, torch.stack(new_states)
