"""Exporting a trained network for use without the zoo: TorchScript (``torch.jit``) or ONNX.

Lightning's own ``LightningModule.to_torchscript`` (traced) and ``to_onnx`` write the file; the export is then
loaded back (``torch.jit.load``; ONNX Runtime for ONNX, the ``export`` extra) and run on an input of the
network's recipe size, and must give the model's outputs (language models: logits and state).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

FORMATS = ("torchscript", "onnx")
TOLERANCE = 1e-4


def example_input(model: nn.Module, batch_size: int = 2) -> torch.Tensor:
    """An input of the network's recipe size (its registry entry's ``input_shape``); token indices for
    language models."""
    from .registry import model_entries

    entries = [e for e in model_entries() if isinstance(model, e.cls)]
    hparams = getattr(model, "hparams", {})
    entries = [e for e in entries if all(hparams.get(k) == v for k, v in e.kwargs.items())] or entries
    if not entries:
        raise ValueError(f"{type(model).__name__} is not a registered network: no input size to export it at")
    entry = max(entries, key=lambda e: len(e.kwargs))
    if entry.input_dtype == "long":
        vocab = len(getattr(model, "vocab", None) or [0, 1])
        return torch.randint(0, vocab, (batch_size, *entry.input_shape))
    return torch.rand(batch_size, *entry.input_shape)


def _flat(outputs) -> list[torch.Tensor]:
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for item in outputs for t in _flat(item)]


def export(model: nn.Module, path: str | Path, fmt: str = "torchscript") -> tuple[Path, float]:
    """Write `model` to `path` as `fmt`; return the path and the largest difference between the export's outputs
    and the model's on an example input (a ValueError if it exceeds 1e-4)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    x = example_input(model)
    with torch.no_grad():
        expected = _flat(model(x))
    with warnings.catch_warnings():  # tracing warns that Python-side shape checks become constants: expected
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")
        return _export(model, path, fmt, x, expected)


def _export(model: nn.Module, path: Path, fmt: str, x: torch.Tensor, expected: list) -> tuple[Path, float]:
    if fmt == "torchscript":
        model.to_torchscript(path, method="trace", example_inputs=x)
        with torch.no_grad():
            got = _flat(torch.jit.load(str(path))(x))
    else:
        try:
            import onnxruntime
        except ImportError:
            raise ValueError('ONNX export needs onnx and onnxruntime: pip install -e ".[export]"') from None
        model.to_onnx(path, x, dynamo=False, input_names=["input"], dynamic_axes={"input": {0: "batch"}})
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = [torch.from_numpy(a) for a in session.run(None, {"input": x.numpy()})]
    if len(got) != len(expected):
        raise ValueError(f"the export returns {len(got)} outputs, the model {len(expected)}")
    error = max(float((g - e).abs().max()) for g, e in zip(got, expected))
    if error > TOLERANCE:
        raise ValueError(f"the {fmt} export differs from the model by {error:.2e} (more than {TOLERANCE:g})")
    return path, error
