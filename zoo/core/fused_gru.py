"""A faster ``nn.GRU`` for the CPU (a speed switch, not a book section), for the GRU language models and the
encoder-decoders.

On the CPU ``nn.GRU`` runs every timestep as separate ATen operations, records each in the autograd
graph and, in the backward pass, takes one small product per timestep for the hidden weights' gradient.
:class:`FusedGRU` keeps ``nn.GRU``'s parameters, state layout and results and runs each layer as one
autograd function instead: the forward writes the gates into buffers for the whole sequence, and the
hand-written backward walks the timesteps back with only the products that depend on the previous one,
then takes the weights' gradients as one product over all timesteps. On an AMD CPU its larger float32 products
go to oneDNN's linear where this PyTorch build has it: PyTorch sends them to MKL, whose GEMM measured 1.3-2x
slower than oneDNN's on an AMD EPYC (below ~2M multiply-adds MKL's lower fixed cost wins); on an Intel Xeon MKL's
was the faster one (the layer 18-24% faster), so there they stay in MKL. Under bf16 autocast
(``trainer.precision: bf16-mixed``) the matrix products run in bfloat16 while the gates and the state stay
in float32 (``nn.GRU`` ignores CPU autocast). Anywhere else (a GPU, where cuDNN runs the whole sequence,
bidirectional layers, packed or unbatched input) it is ``nn.GRU`` itself. Dropout between layers is drawn as
``nn.GRU`` draws it on the CPU, so one seed gives the same masks.
``torch.compile`` leaves it out of the compiled graph and runs it as it is, as it does with ``nn.GRU``.

nn.GRU's equations (gates in the order r, z, n of its weights):
    r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)       z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
    n = tanh(x W_in + b_in + r * (h W_hn + b_hn))    h' = (1 - z) * n + z * h = lerp(n, h, z)
tanh(a) is taken as 2 sigmoid(2a) - 1 on larger states, the same function in about a third of the time on the
AMD EPYC (not re-measured on the Intel Xeon).
"""

from __future__ import annotations

import functools
import platform
import threading
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

_aten = torch.ops.aten
_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_ONEDNN_DTYPES = (torch.float32, torch.bfloat16)
_ONEDNN_MIN_MACS = 2**21  # smaller float32 products are faster in MKL (~6 against ~14 µs for 64x32 by 32x96)


@functools.cache
def _onednn_works() -> bool:
    """Whether this build has oneDNN's linear (``torch.ops.mkldnn._linear_pointwise``, the op Inductor's CPU code
    calls) and it gives ``torch.mm``'s products, a transposed weight included; checked once."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        x, w = torch.arange(30.0).view(5, 6).sin(), torch.arange(42.0).view(7, 6).cos()  # no random draws
        want = x @ w.t()
        got = [_onednn_linear(x.to(d), w.to(d)).float() for d in _ONEDNN_DTYPES]
        got.append(_onednn_linear(x, w.t().contiguous().t()))
        return all(torch.allclose(g, want, rtol=0.05, atol=0.05) for g in got)
    except (AttributeError, NotImplementedError, RuntimeError):
        return False


@functools.cache
def _mkl_float32_is_slow() -> bool:
    """Whether this is an AMD CPU, where MKL's float32 GEMM measured slower than oneDNN's (not on an Intel Xeon)."""
    try:
        cpu = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpu = platform.processor()  # Windows: "... AuthenticAMD"
    return "AuthenticAMD" in cpu


def _onednn(dtype: torch.dtype, macs: int) -> bool:
    """Whether a product of `macs` multiply-adds goes to oneDNN's linear (none under
    ``torch.backends.mkldnn.flags(enabled=False)``; float32 ones only where MKL's are slow)."""
    return (
        dtype in _ONEDNN_DTYPES
        and macs >= _ONEDNN_MIN_MACS
        and (dtype != torch.float32 or _mkl_float32_is_slow())
        and torch.backends.mkldnn.enabled
        and _onednn_works()
    )


def _onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, onednn: bool) -> torch.Tensor:
    """``x @ weight.T + bias`` for 2-D `x` (`weight` may be a strided view)."""
    return _onednn_linear(x, weight, bias) if onednn else F.linear(x, weight, bias)


def _by_step(*tensors: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
    """Each (steps, ...) tensor as its steps' views."""
    return [tensor.unbind(0) for tensor in tensors]


def _t_mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a.T @ b``, a weight's gradient over all timesteps (bfloat16: ATen's own call to oneDNN, faster here)."""
    onednn = a.dtype == torch.float32 and _onednn(a.dtype, a.numel() * b.shape[1])
    return _onednn_linear(b.t(), a.t()).t() if onednn else a.t() @ b


class _Buffers(threading.local):
    """Buffers kept from one call to the next, per thread: fresh multi-megabyte tensors each step cost more
    than the work on them on a small CPU. A set is taken for a call and given back once nothing can read it:
    the backward's own at its end, the forward's when autograd frees the graph that saved them (at once
    without autograd), so a backward with ``retain_graph`` may run again."""

    def __init__(self) -> None:
        self.free: dict[tuple, list[tuple[torch.Tensor, ...]]] = {}

    def take(self, key: tuple, *shapes: tuple[tuple[int, ...], torch.dtype]) -> tuple[torch.Tensor, ...]:
        free = self.free.get(key)
        return free.pop() if free else tuple(torch.empty(shape, dtype=dtype, device="cpu") for shape, dtype in shapes)

    def give(self, key: tuple, buffers: tuple[torch.Tensor, ...]) -> None:
        if key not in self.free and len(self.free) >= 16:  # many sequence lengths: forget the oldest
            del self.free[next(iter(self.free))]
        free = self.free.setdefault(key, [])
        if len(free) < 4:  # a few layers' worth
            free.append(buffers)


_BUFFERS = _Buffers()


class _Lease:
    """Gives a forward's buffers back when the autograd node holding it is freed."""

    def __init__(self, key: tuple, buffers: tuple[torch.Tensor, ...]) -> None:
        self.key, self.buffers, self.pool = key, buffers, _BUFFERS

    def __del__(self) -> None:
        self.pool.give(self.key, self.buffers)


class _GRULayer(torch.autograd.Function):
    """One unidirectional GRU layer over a whole (steps, batch, inputs) sequence."""

    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, mm_dtype, record):
        T, B, _ = x.shape
        H, f = W_hh.shape[1], x.dtype
        low = mm_dtype != f  # bfloat16 products: they take h_{t-1} as a bfloat16 copy
        key = ("forward", T, B, x.shape[2], H, f, mm_dtype)
        rz, n, h_in = _BUFFERS.take(key, ((T, B, 2 * H), f), ((T, B, H), f), ((T, B, H) if low else (0,), mm_dtype))
        x2 = x.reshape(T * B, -1)
        gi = _linear(x2, W_ih, b_ih, _onednn(f, x2.numel() * 3 * H)).view(T, B, 3 * H)  # one product for all steps
        doubled = B * H >= 4096  # tanh(a) as 2 sigmoid(2a) - 1: faster from ~4k elements a step on
        if doubled:
            gi[..., 2 * H :] *= 2
        out, gh = x.new_empty(T, B, H), []  # gh: h_{t-1} W_hh^T + b_hh per step
        W, b = W_hh.to(mm_dtype), b_hh.to(mm_dtype)
        gi_rz, gi_n, h_in_t = _by_step(gi[..., : 2 * H], gi[..., 2 * H :], h_in)
        rz_t, r_t, z_t, n_t, out_t = _by_step(rz, rz[..., :H], rz[..., H:], n, out)
        h, onednn = h0, _onednn(mm_dtype, B * H * 3 * H)
        for t in range(T):
            gh.append(_linear(h_in_t[t].copy_(h) if low else h, W, b, onednn))
            torch.add(gi_rz[t], gh[t][:, : 2 * H], out=rz_t[t]).sigmoid_()
            if doubled:
                torch.addcmul(gi_n[t], r_t[t], gh[t][:, 2 * H :], value=2, out=n_t[t]).sigmoid_().mul_(2).sub_(1)
            else:
                torch.addcmul(gi_n[t], r_t[t], gh[t][:, 2 * H :], out=n_t[t]).tanh_()
            h = torch.lerp(n_t[t], h, z_t[t], out=out_t[t])
        saved = (rz, n, h_in)
        if record:  # autograd records this call: the backward reads the buffers
            ctx.save_for_backward(x, h0, W_ih, W_hh, out, *saved)
            ctx.mm_dtype, ctx.gh, ctx.lease = mm_dtype, gh, _Lease(key, saved)
        else:
            _BUFFERS.give(key, saved)
        return out, h

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_h):
        x, h0, W_ih, W_hh, out, rz, n, h_in = ctx.saved_tensors
        T, B, H = out.shape
        f, mm_dtype = out.dtype, ctx.mm_dtype
        low, onednn = mm_dtype != f, _onednn(mm_dtype, B * H * 3 * H)
        W = W_hh.to(mm_dtype).t()  # h W_hh^T's input gradient is g W_hh = linear(g, W_hh^T)
        key = ("backward", T, B, x.shape[2], H, f, mm_dtype)
        # dgh: d loss / d (h W_hh^T + b_hh) per step; dgi: d loss / d (x W_ih^T + b_ih), whose r, z part is dgh's
        gates = (T, B, 3 * H)
        dgh, dgh_in, dgi, drz = _BUFFERS.take(
            key, (gates, f), (gates if low else (0,), mm_dtype), (gates, f), ((B, 2 * H), f)
        )
        if not low:  # float32 products read dgh itself, and h_{t-1} from the outputs
            dgh_in, h_in = dgh, torch.cat((h0.unsqueeze(0), out[:-1]))
        dr, dz = drz[:, :H], drz[:, H:]
        rz_t, r_t, z_t, n_t, out_t = _by_step(rz, rz[..., :H], rz[..., H:], n, out)
        dgh_t, dgh_rz, dgh_n, dgh_in_t, dgi_n_t = _by_step(
            dgh, dgh[..., : 2 * H], dgh[..., 2 * H :], dgh_in, dgi[..., 2 * H :]
        )
        grad_out_t = grad_out.unbind(0) if grad_out is not None else [None] * T
        dh = grad_h if grad_h is not None else torch.zeros_like(h0)
        if grad_out is not None:
            dh = dh + grad_out_t[T - 1]
        for t in range(T - 1, -1, -1):
            z = z_t[t]
            da_n = _aten.tanh_backward.grad_input(torch.addcmul(dh, dh, z, value=-1), n_t[t], grad_input=dgi_n_t[t])
            torch.mul(da_n, ctx.gh[t][:, 2 * H :], out=dr)
            torch.mul(dh, (out_t[t - 1] if t else h0) - n_t[t], out=dz)
            _aten.sigmoid_backward.grad_input(drz, rz_t[t], grad_input=dgh_rz[t])
            torch.mul(da_n, r_t[t], out=dgh_n[t])
            # h_{t-1} gets dh * z straight through h_t = lerp(n, h_{t-1}, z), the product's share, and its output's
            dh_z = dh * z if t == 0 or grad_out_t[t - 1] is None else torch.addcmul(grad_out_t[t - 1], dh, z)
            if low:
                dh = dh_z.add_(_linear(dgh_in_t[t].copy_(dgh_t[t]), W, None, onednn))  # back to float32
            elif onednn:
                dh = _onednn_linear(dgh_t[t], W).add_(dh_z)
            else:
                dh = torch.addmm(dh_z, dgh_t[t], W_hh)
        dW_hh = _t_mm(dgh_in.view(T * B, 3 * H), h_in.view(T * B, H)).to(W_hh.dtype)
        dgi[..., : 2 * H] = dgh[..., : 2 * H]
        dgi2 = dgi.view(T * B, 3 * H)
        x2 = x.reshape(T * B, -1)
        dx = _linear(dgi2, W_ih.t(), None, _onednn(f, dgi2.numel() * x2.shape[1])) if ctx.needs_input_grad[0] else None
        grads = dx.view_as(x) if dx is not None else None, dh, _t_mm(dgi2, x2), dW_hh
        grads += dgi2.sum(0), dgh.view(T * B, 3 * H).sum(0)
        _BUFFERS.give(key, (dgh, dgh_in, dgi, drz))
        return *grads, None, None


class FusedGRU(nn.GRU):
    """``nn.GRU`` (same arguments, parameters and checkpoints) with its CPU path as one autograd function a
    layer; elsewhere it is ``nn.GRU`` itself (see the module docstring)."""

    def fused(self, input) -> bool:
        """Whether this call takes the fused path."""
        return (
            isinstance(input, torch.Tensor)
            and input.dim() == 3
            and input.device.type == "cpu"
            and input.dtype in (torch.float32, torch.float64)
            and not self.bidirectional
            and self.bias
        )

    @torch.compiler.disable  # Dynamo does not trace RNNs; traced, the buffers would become graph constants
    def forward(self, input, hx=None):
        if not self.fused(input):
            return super().forward(input, hx)
        mm_dtype = input.dtype
        if torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16:
            mm_dtype = torch.bfloat16
        x = input.transpose(0, 1) if self.batch_first else input
        if hx is None:
            hx = x.new_zeros(self.num_layers, x.shape[1], self.hidden_size)
        elif hx.dim() != 3 or hx.shape != (self.num_layers, x.shape[1], self.hidden_size):
            return super().forward(input, hx)  # let nn.GRU word the error
        states = []
        record = torch.is_grad_enabled() and (
            x.requires_grad or hx.requires_grad or any(p.requires_grad for p in self.parameters())
        )
        with torch.autocast("cpu", enabled=False):
            for layer in range(self.num_layers):
                weights = [getattr(self, f"{name}_l{layer}") for name in _PARAMETERS]
                x, h = _GRULayer.apply(x, hx[layer].to(x.dtype), *weights, mm_dtype, record)
                states.append(h)
                if self.dropout and self.training and layer < self.num_layers - 1:
                    x = F.dropout(x, self.dropout)  # where nn.GRU's CPU path draws it, so the same masks
        return (x.transpose(0, 1) if self.batch_first else x), torch.stack(states)


def make_gru(*args, fused: bool = False, **kwargs) -> nn.GRU:
    """``nn.GRU(*args, **kwargs)``, or a :class:`FusedGRU` with the same arguments where `fused` asks for one."""
    return (FusedGRU if fused else nn.GRU)(*args, **kwargs)
