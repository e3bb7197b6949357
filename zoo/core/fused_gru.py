"""A faster ``nn.GRU`` for the CPU (a speed switch, not a book section), for the GRU language models and the
encoder-decoders.

On the CPU ``nn.GRU`` runs every timestep as separate ATen operations, records each in the autograd graph and, in
the backward pass, takes one small product per timestep for the hidden weights' gradient. :class:`FusedGRU` keeps
``nn.GRU``'s parameters, state layout and results and runs each layer as one autograd function instead: one product
fills a gate buffer with every timestep's input part and biases, each step's hidden product accumulates into it in
place and its gates are taken in place (one product and four elementwise operations a step; one-hot inputs, the
language models' characters, pick their rows instead of the product, and token indices stand for their one-hot
codes without the codes being made), and the hand-written backward takes the
factors of the gates' gradients for all steps at once, walks the timesteps back with only what depends on the
previous one (two elementwise operations and a product a step), then takes the weights' and biases' gradients over
all timesteps. Its larger float32 products go to oneDNN's linear, where this PyTorch build has it, only where a
first timing on the machine finds oneDNN's clearly faster than MKL's GEMM, which PyTorch calls: on one AMD EPYC with
AVX-512 MKL's took 1.3-2x oneDNN's time (below ~2M multiply-adds MKL's lower fixed cost wins); on an Intel Xeon, an
AVX2-only AMD EPYC and another AMD EPYC with AVX-512 MKL's was as fast or faster, and on the last oneDNN took 3.6 s
for a weight gradient (its operands transposed) that MKL computes in 3.7 ms. Under bf16 autocast
(``trainer.precision: bf16-mixed``) the matrix products run in bfloat16 while the gates and the state stay in
float32, on CPUs that compute bfloat16 at speed (AVX-512; an AVX2-only CPU keeps float32 products, as ``nn.GRU``,
which ignores CPU autocast, does everywhere). Anywhere else (a GPU, where cuDNN runs the whole sequence,
bidirectional layers, packed or unbatched input) it is ``nn.GRU`` itself. Dropout between layers is drawn as
``nn.GRU`` draws it on the CPU, so one seed gives the same masks. ``torch.compile`` leaves it out of the compiled
graph and runs it as it is, as it does with ``nn.GRU``.

nn.GRU's equations (gates in the order r, z, n of its weights):
    r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)       z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
    n = tanh(x W_in + b_in + r * (h W_hn + b_hn))    h' = (1 - z) * n + z * h = lerp(n, h, z)
On an AMD CPU tanh(a) is taken as -1 + 2 sigmoid(2a) on larger states, the same function in about a third of the
time on the AMD EPYC with AVX-512 and, with the addcmul before it, in two thirds (35 steps: 1.3 against 1.9 ms) on
the one with AVX2 (on the Intel Xeon tanh was the faster).
"""

from __future__ import annotations

import functools
import math
import platform
import threading
import time
from collections.abc import Callable
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
def _onednn_works(dtype: torch.dtype) -> bool:
    """Whether this build has oneDNN's linear (``torch.ops.mkldnn._linear_pointwise``, the op Inductor's CPU code
    calls) for `dtype` and it gives ``torch.mm``'s products, a transposed weight included; checked once a dtype
    (an AVX2-only CPU has it for float32, not for bfloat16)."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        x, w = torch.arange(30.0).view(5, 6).sin(), torch.arange(42.0).view(7, 6).cos()  # no random draws
        want = x @ w.t()
        x, w = x.to(dtype), w.to(dtype)
        got = [_onednn_linear(x, w), _onednn_linear(x, w.t().contiguous().t())]
        return all(torch.allclose(g.float(), want, rtol=0.05, atol=0.05) for g in got)
    except (AttributeError, NotImplementedError, RuntimeError):
        return False


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 products at speed (AVX-512, as PyTorch's oneDNN path asks): an AVX2-only
    CPU emulates them, many times slower than float32 (an AMD EPYC with AVX2: 32 x 256 by 256 x 768 in 1.2 ms
    against 0.18 ms)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def _amd_cpu() -> bool:
    try:
        cpu = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpu = platform.processor()  # Windows: "... AuthenticAMD"
    return "AuthenticAMD" in cpu


def _fastest(*runs: Callable[[], object], repeats: int = 5, calls: int = 4) -> list[float]:
    """Each run's best time per call (seconds) over `repeats` rounds of `calls` calls, the runs taking turns in each
    round so that a busy machine slows them alike (one call each first, to warm up)."""
    best = [math.inf] * len(runs)
    for run in runs:
        run()
    for _ in range(repeats):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            for _ in range(calls):
                run()
            best[i] = min(best[i], (time.perf_counter() - start) / calls)
    return best


@functools.cache
def _onednn_float32_is_faster(transposed: bool, threads: int) -> bool:
    """Whether oneDNN's float32 linear takes at most 80% of MKL's time here (measured once per thread count, no
    random draws) on a GRU step's products: a step's hidden product (32 x 256 by 256 x 768, accumulated into the
    gate buffer) or, `transposed`, a weight gradient's (operands transposed, rows of the gate buffer's stride),
    measured only where oneDNN also wins the step's."""
    if transposed and not _onednn_float32_is_faster(False, threads):
        return False
    del threads  # the cache's key: the products' speed depends on it
    gates = torch.ones(32, 1024)[:, :768]  # a step's view of the gate buffer
    h, W = torch.arange(8192.0).view(32, 256).sin(), torch.arange(196608.0).view(768, 256).cos()
    if transposed:  # the weight gradient dW_hh = gates^T h, as _t_mm computes it
        mkl, onednn = _fastest(lambda: gates.t() @ h, lambda: _onednn_linear(h.t(), gates.t()).t(), repeats=2, calls=1)
    else:
        W_t = W.t().contiguous()
        mkl, onednn = _fastest(lambda: gates.addmm_(h, W_t), lambda: gates.add_(_onednn_linear(h, W)))
    return onednn <= 0.8 * mkl


def _tanh_is_slow() -> bool:
    """Whether tanh is slower than 2 sigmoid(2a) - 1: about three times on an AMD EPYC; on an Intel Xeon tanh
    was the faster (32 x 256: 4.8 against 13.3 µs)."""
    return _amd_cpu()


def _onednn(dtype: torch.dtype, macs: int, transposed: bool = False) -> bool:
    """Whether a product of `macs` multiply-adds (`transposed`: a weight gradient's) goes to oneDNN's linear (none
    under ``torch.backends.mkldnn.flags(enabled=False)``; float32 ones only where measured faster than MKL's)."""
    return (
        dtype in _ONEDNN_DTYPES
        and macs >= _ONEDNN_MIN_MACS
        and torch.backends.mkldnn.enabled
        and _onednn_works(dtype)
        and (dtype != torch.float32 or _onednn_float32_is_faster(transposed, torch.get_num_threads()))
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
    onednn = a.dtype == torch.float32 and _onednn(a.dtype, a.numel() * b.shape[1], transposed=True)
    return _onednn_linear(b.t(), a.t()).t() if onednn else a.t() @ b


class _BufferSet:
    """A call's buffers and the views of them it takes (each step's: ~1 µs a view, hundreds a call), made once."""

    def __init__(self, shapes: tuple[tuple[tuple[int, ...], torch.dtype], ...]) -> None:
        self.tensors = tuple(torch.empty(shape, dtype=dtype, device="cpu") for shape, dtype in shapes)
        self.views: dict[str, object] = {}

    def view(self, name: str, make: Callable[[], object]):
        """The views `make` returns, made at their first use and kept with the buffers."""
        if name not in self.views:
            self.views[name] = make()
        return self.views[name]


class _Buffers(threading.local):
    """Buffers kept from one call to the next, per thread: fresh multi-megabyte tensors each step cost more
    than the work on them on a small CPU. A set is taken for a call and given back once nothing can read it:
    the backward's own at its end, the forward's when autograd frees the graph that saved them (at once
    without autograd), so a backward with ``retain_graph`` may run again."""

    def __init__(self) -> None:
        self.free: dict[tuple, list[_BufferSet]] = {}

    def take(self, key: tuple, *shapes: tuple[tuple[int, ...], torch.dtype]) -> _BufferSet:
        free = self.free.get(key)
        return free.pop() if free else _BufferSet(shapes)

    def give(self, key: tuple, buffers: _BufferSet) -> None:
        if key not in self.free and len(self.free) >= 16:  # many sequence lengths: forget the oldest
            del self.free[next(iter(self.free))]
        free = self.free.setdefault(key, [])
        if len(free) < 4:  # a few layers' worth
            free.append(buffers)


_BUFFERS = _Buffers()


class _Lease:
    """Gives a forward's buffers back when the autograd node holding it is freed."""

    def __init__(self, key: tuple, buffers: _BufferSet) -> None:
        self.key, self.buffers, self.pool = key, buffers, _BUFFERS

    def __del__(self) -> None:
        self.pool.give(self.key, self.buffers)


class _GRULayer(torch.autograd.Function):
    """One unidirectional GRU layer over a whole (steps, batch, inputs) sequence.

    Its gate buffer P (steps, batch, 4H) holds, per step, [r | z | h W_hn^T + b_hn | n]: one product of the
    inputs (with a column of ones, for the biases) by ``_input_weights`` fills it with every step's input part
    and biases, the step's hidden product accumulates into its first 3H columns in place, and the gates are
    taken in place, so a step costs one product and four elementwise operations. Given `tokens`, the inputs are
    one-hot and each step's input part is its token's row. The backward's buffer D has the same layout for the
    gradients of the pre-activations [a_r | a_z | h W_hn^T + b_hn | x W_in^T + b_in].
    """

    @staticmethod
    def forward(ctx, x, tokens, h0, W_ih, W_hh, b_ih, b_hh, mm_dtype, record):
        T, B, K = x.shape
        H, f = W_hh.shape[1], x.dtype
        low = mm_dtype != f  # bfloat16 products: they take h_{t-1} as a bfloat16 copy
        onednn = _onednn(mm_dtype, B * H * 3 * H)
        in_place = not (low or onednn)  # the product accumulates into P itself (ATen's BLAS)
        key = ("forward", T, B, K, H, f, mm_dtype, tokens is None, in_place)
        buffers = _BUFFERS.take(
            key,
            ((T, B, 4 * H), f),
            ((T * B, K + 1) if tokens is None else (0,), f),
            ((T, B, H) if low else (0,), mm_dtype),
            ((H, 3 * H) if in_place else (0,), f),
        )
        P, x1, h_in, W_t = buffers.tensors
        Wx = _input_weights(W_ih, b_ih, b_hh)
        doubled = _tanh_is_slow() and B * H >= 4096  # tanh(a) as 2 sigmoid(2a) - 1
        if doubled:
            Wx[:, 3 * H :] *= 2
            minus_one = buffers.view("minus one", lambda: x.new_full((B, H), -1.0))
        if tokens is None:  # every step's input part and biases in one product
            x1[:, :K], x1[:, K] = x.reshape(T * B, K), 1
            torch.mm(x1, Wx, out=P.view(T * B, 4 * H))
        else:  # one-hot inputs: the product picks a row per token, here picked directly (the same sums)
            torch.index_select(Wx[:K] + Wx[K], 0, tokens, out=P.view(T * B, 4 * H))
        W = W_t.copy_(W_hh.t()) if in_place else W_hh.to(mm_dtype)  # h W_hh^T: (H, 3H) is BLAS's faster layout
        gates, rz, r, z, gh_n, n, h_in_t = buffers.view(
            "steps", lambda: _by_step(P[..., : 3 * H], *_gate_views(P, H), h_in)
        )
        out = x.new_empty(T, B, H)
        out_t = out.unbind(0)
        h = h0
        for t in range(T):
            if in_place:
                gates[t].addmm_(h, W)
            else:
                gates[t].add_(_linear(h_in_t[t].copy_(h) if low else h, W, None, onednn))
            rz[t].sigmoid_()
            if doubled:  # -1 + 2 sigmoid(2a) in one operation (35 steps of 32 x 256, AVX2 EPYC: 1.3 against 2.0 ms)
                torch.add(minus_one, n[t].addcmul_(r[t], gh_n[t], value=2).sigmoid_(), alpha=2, out=n[t])
            else:
                n[t].addcmul_(r[t], gh_n[t]).tanh_()
            h = torch.lerp(n[t], h, z[t], out=out_t[t])
        if record:  # autograd records this call: the backward reads the buffers
            ctx.save_for_backward(x1 if tokens is None else tokens, h0, W_ih, W_hh, b_ih, b_hh, out, P, h_in)
            ctx.mm_dtype, ctx.one_hot, ctx.lease = mm_dtype, tokens is not None, _Lease(key, buffers)
        else:
            _BUFFERS.give(key, buffers)
        return out, h

    @staticmethod
    @once_differentiable
    @torch.autocast("cpu", enabled=False)  # its products' dtypes are its own, also when called under autocast
    def backward(ctx, grad_out, grad_h):
        x1, h0, W_ih, W_hh, b_ih, b_hh, out, P, h_in = ctx.saved_tensors  # x1: the tokens where the inputs are one-hot
        T, B, H = out.shape
        K, f, mm_dtype = W_ih.shape[1], out.dtype, ctx.mm_dtype
        low, onednn = mm_dtype != f, _onednn(mm_dtype, B * H * 3 * H)
        in_place = not (low or onednn)
        key = ("backward", T, B, K, H, f, mm_dtype)
        buffers = _BUFFERS.take(key, ((T, B, 4 * H), f), ((T, B, 3 * H) if low else (0,), mm_dtype))
        D, D_low = buffers.tensors
        W = W_hh if in_place else W_hh.to(mm_dtype).t()  # the input gradient of h W_hh^T is g W_hh
        # A step's pre-activation gradients [a_r | a_z | h W_hn^T + b_hn | a_n] are dh_t times factors that do not
        # depend on it, taken into D for all steps at once: c_n = (1 - z)(1 - n^2), c_r = c_n gh_n r(1 - r),
        # c_z = (h_{t-1} - n) z(1 - z), c_g = c_n r; then a step costs two elementwise operations and a product.
        rz, r, z, gh_n, n = _gate_views(P, H)
        c_rz, c_r, c_z, c_g, c_n = _gate_views(D, H)
        _aten.tanh_backward.grad_input(torch.sub(z.new_ones(()), z, out=c_n), n, grad_input=c_n)  # no temporary
        torch.mul(c_n, r, out=c_g)
        torch.mul(c_n, gh_n, out=c_r)
        torch.sub(out[:-1], n[1:], out=c_z[1:])
        torch.sub(h0, n[0], out=c_z[0])
        _aten.sigmoid_backward.grad_input(c_rz, rz, grad_input=c_rz)
        D4, dgates, D_low_t = buffers.view("steps", lambda: _by_step(D.view(T, B, 4, H), D[..., : 3 * H], D_low))
        z = ctx.lease.buffers.views["steps"][3]  # the forward's steps of z
        grad_out_t = grad_out.unbind(0) if grad_out is not None else [None] * T
        dh = grad_h if grad_h is not None else torch.zeros_like(h0)
        if grad_out is not None:
            dh = dh + grad_out_t[T - 1]
        for t in range(T - 1, -1, -1):
            D4[t].mul_(dh.unsqueeze(1))
            # h_{t-1} gets dh * z straight through h_t = lerp(n, h_{t-1}, z), the product's share, and its output's
            dh_z = dh * z[t] if t == 0 or grad_out_t[t - 1] is None else torch.addcmul(grad_out_t[t - 1], dh, z[t])
            if in_place:
                dh = dh_z.addmm_(dgates[t], W)
            else:
                dh = dh_z.add_(_linear(D_low_t[t].copy_(dgates[t]) if low else dgates[t], W, None, onednn))
        D2, dgates2 = D.view(T * B, 4 * H), D[..., : 3 * H].reshape(T * B, 3 * H)  # a view: rows of stride 4H
        if low:
            dW_hh = _t_mm(D_low.view(T * B, 3 * H), h_in.view(T * B, H)).to(W_hh.dtype)
        else:  # h_{t-1} is h0, then the outputs
            dW_hh = _t_mm(dgates2[B:], out[:-1].reshape(-1, H)).addmm_(dgates2[:B].t(), h0)
        if ctx.one_hot:  # each token's row gets its steps' gradients; each step has one token: their sum is the biases'
            dWx = D2.new_zeros(K, 4 * H).scatter_add_(0, x1.unsqueeze(1).expand(-1, 4 * H), D2)  # index_add_'s sums
            dWx = torch.cat((dWx, dWx.sum(0, keepdim=True)))
        else:
            dWx = _t_mm(x1, D2)  # (inputs + 1, 4H): the input weights' gradient and, from the ones, every bias's
        dx = None
        if ctx.needs_input_grad[0]:
            Wx = _input_weights(W_ih, b_ih, b_hh)[:K]
            dx = _linear(D2, Wx, None, _onednn(f, D2.numel() * K)).view(T, B, K)
        dW_ih = torch.cat((dWx[:K, : 2 * H], dWx[:K, 3 * H :]), 1).t()
        db_ih, db_hh = torch.cat((dWx[K, : 2 * H], dWx[K, 3 * H :])), dWx[K, : 3 * H]
        _BUFFERS.give(key, buffers)
        return dx, None, dh, dW_ih, dW_hh, db_ih, db_hh, None, None


def _one_hot_tokens(x: torch.Tensor) -> torch.Tensor | None:
    """The (steps * batch) indices of one-hot inputs (the language models' characters), else None. Not checked: inputs
    that need a gradient (an embedding's) and single steps (decoding, generation), whose input product is small."""
    if x.requires_grad or x.shape[0] == 1:
        return None
    tokens = x.argmax(-1)
    one_hot = torch.zeros_like(x).scatter_(-1, tokens.unsqueeze(-1), 1.0)
    return tokens.view(-1) if torch.equal(x, one_hot) else None


def _input_weights(W_ih: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """(inputs + 1, 4H): by [x, 1] it gives a step's [x W_irz^T + b_irz + b_hrz | b_hn | x W_in^T + b_in]."""
    H = W_ih.shape[0] // 3
    Wx = W_ih.new_zeros(W_ih.shape[1] + 1, 4 * H)
    Wx[:-1, : 2 * H], Wx[:-1, 3 * H :] = W_ih[: 2 * H].t(), W_ih[2 * H :].t()
    torch.add(b_ih[: 2 * H], b_hh[: 2 * H], out=Wx[-1, : 2 * H])
    Wx[-1, 2 * H : 3 * H], Wx[-1, 3 * H :] = b_hh[2 * H :], b_ih[2 * H :]
    return Wx


def _gate_views(P: torch.Tensor, H: int) -> tuple[torch.Tensor, ...]:
    """P's [r | z | h W_hn^T + b_hn | n] columns: (r and z, r, z, the hidden part of n, n)."""
    return P[..., : 2 * H], P[..., :H], P[..., H : 2 * H], P[..., 2 * H : 3 * H], P[..., 3 * H :]


class FusedGRU(nn.GRU):
    """``nn.GRU`` (same arguments, parameters and checkpoints) with its CPU path as one autograd function a
    layer; elsewhere it is ``nn.GRU`` itself (see the module docstring).

    Its input may also be token indices, (steps, batch) or with ``batch_first`` (batch, steps), standing for their
    one-hot codes ``F.one_hot(input, input_size).float()`` (a language model's characters): the fused path takes each
    token's row of the input weights without making the codes, and elsewhere ``nn.GRU`` gets the codes.
    """

    def fused(self, input) -> bool:
        """Whether this call takes the fused path."""
        if not isinstance(input, torch.Tensor) or input.device.type != "cpu" or self.bidirectional or not self.bias:
            return False
        if _is_tokens(input):
            return input.dim() == 2
        return input.dim() == 3 and input.dtype in (torch.float32, torch.float64)

    @torch.compiler.disable  # Dynamo does not trace RNNs; traced, the buffers would become graph constants
    def forward(self, input, hx=None):
        tokens = None
        if _is_tokens(input):
            if not self.fused(input):
                return super().forward(F.one_hot(input.long(), self.input_size).float(), hx)
            tokens = (input.t() if self.batch_first else input).reshape(-1)  # step by step
            input = torch.zeros(()).expand(*input.shape, self.input_size)  # the codes' shape and dtype, no values
        elif not self.fused(input):
            return super().forward(input, hx)
        mm_dtype = input.dtype
        if torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16 and cpu_has_bf16():
            mm_dtype = torch.bfloat16  # elsewhere float32 products, as nn.GRU keeps under CPU autocast
        x = input.transpose(0, 1) if self.batch_first else input
        if hx is None:
            hx = x.new_zeros(self.num_layers, x.shape[1], self.hidden_size)
        elif hx.dim() != 3 or hx.shape != (self.num_layers, x.shape[1], self.hidden_size):
            return super().forward(input, hx)  # let nn.GRU word the error
        if tokens is None:
            tokens = _one_hot_tokens(x)
        states = []
        record = torch.is_grad_enabled() and (
            x.requires_grad or hx.requires_grad or any(p.requires_grad for p in self.parameters())
        )
        with torch.autocast("cpu", enabled=False):
            for layer in range(self.num_layers):
                weights = [getattr(self, f"{name}_l{layer}") for name in _PARAMETERS]
                first = tokens if layer == 0 else None  # the first layer's inputs as tokens, where they are
                x, h = _GRULayer.apply(x, first, hx[layer].to(x.dtype), *weights, mm_dtype, record)
                states.append(h)
                if self.dropout and self.training and layer < self.num_layers - 1:
                    x = F.dropout(x, self.dropout)  # where nn.GRU's CPU path draws it, so the same masks
        return (x.transpose(0, 1) if self.batch_first else x), torch.stack(states)


def _is_tokens(input) -> bool:
    """Whether `input` holds token indices (integers) rather than features."""
    if not isinstance(input, torch.Tensor):
        return False
    return not (input.is_floating_point() or input.is_complex() or input.dtype == torch.bool)


def make_gru(*args, fused: bool = False, **kwargs) -> nn.GRU:
    """``nn.GRU(*args, **kwargs)``, or a :class:`FusedGRU` with the same arguments where `fused` asks for one."""
    return (FusedGRU if fused else nn.GRU)(*args, **kwargs)
