"""Weight initialisation as the book does it, in one place.

``xavier``: Xavier-uniform weights on every Linear/Conv/recurrent layer (the CNN chapters, ``train_ch6``).
``normal``: N(0, 0.01) weights and zero biases (the linear and MLP chapters, the scratch RNNs).
``default``: PyTorch's own initialisation.

Every network takes the scheme as its ``init`` argument; its default is the book's for that network.
"""

from __future__ import annotations

from torch import nn

INIT_SCHEMES = ("xavier", "normal", "default")
_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)


def init_weights(module: nn.Module, scheme: str) -> nn.Module:
    """Initialise the Linear/Conv layers of `module` in place with the book's `scheme`; return `module`."""
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"init must be one of {INIT_SCHEMES}, got {scheme!r}")
    if scheme == "default":
        return module
    for layer in module.modules():
        if isinstance(layer, _LAYERS):
            weights, biases = [layer.weight], [layer.bias] if layer.bias is not None else []
        elif isinstance(layer, nn.RNNBase):
            weights = [p for name, p in layer.named_parameters() if name.startswith("weight")]
            biases = [p for name, p in layer.named_parameters() if name.startswith("bias")]
        else:
            continue
        for weight in weights:
            if scheme == "xavier":
                nn.init.xavier_uniform_(weight)
            else:
                nn.init.normal_(weight, std=0.01)
        if scheme == "normal":
            for bias in biases:
                nn.init.zeros_(bias)
    return module
