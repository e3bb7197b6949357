"""Sequence models: vocabulary, minibatch schemes, scratch RNN cells, perplexity, generation, sine."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from conftest import config, quiet_trainer
from torch import nn
from torchmetrics.text import Perplexity

from cli import run as main
from datamodules import RemoteFile, SineSequence, TimeMachine, Vocab, tokenize
from datamodules.text import timemachine as tm
from datamodules.text.timemachine import LanguageModelBatches, bundled_time_machine, preprocess
from zoo import RNNLM, SineMLP
from zoo.core import fused_gru
from zoo.core.fused_gru import FusedGRU
from zoo.core.language_model import LossPerplexity
from zoo.rnn.deep import ScratchStack
from zoo.rnn.gru import GRUScratch

TINY_TEXT = "The Time Traveller (for so it will be convenient to speak of him)\nwas expounding a matter.\n" * 30


@pytest.fixture
def tiny_text(tmp_path, monkeypatch):
    """A short text served as the 'hub' copy of The Time Machine, hash-checked like the real one."""
    folder = tmp_path / "data" / "timemachine"
    folder.mkdir(parents=True)
    path = folder / "timemachine.txt"
    path.write_text(TINY_TEXT)
    sha1 = hashlib.sha1(path.read_bytes()).hexdigest()
    monkeypatch.setattr(tm, "TIME_MACHINE", RemoteFile("timemachine.txt", "https://example.invalid/t", f"sha1:{sha1}"))
    monkeypatch.setenv("D2L_ZOO_DATA", str(tmp_path / "data"))
    return path


# --- text and vocabulary -------------------------------------------------------------------------


def test_bundled_text_is_the_published_time_machine():
    text = bundled_time_machine().read_text()
    assert text.startswith("The Time Machine, by H. G. Wells") and len(text) == 178979


def test_preprocess_and_tokenize():
    assert preprocess("The Time-Machine, 1895!\nBy H. G.") == "the time machine by h g "
    assert tokenize("ab c", "char") == ["a", "b", " ", "c"]
    assert tokenize("ab  c", "word") == ["ab", "c"]
    with pytest.raises(ValueError, match="token"):
        tokenize("x", "byte")


def test_vocab_orders_by_frequency_and_round_trips():
    tokens = list("abbcccdddd")
    vocab = Vocab(tokens, reserved_tokens=["<pad>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "d", "c", "b", "a"]
    assert vocab.to_tokens(vocab[tokens]) == tokens
    assert vocab["z"] == vocab.unk == 0 and vocab.to_tokens(0) == "<unk>"
    assert Vocab(tokens, min_freq=3).idx_to_token == ["<unk>", "d", "c"]
    assert Vocab.from_tokens(vocab.idx_to_token) == vocab
    with pytest.raises(ValueError, match="unk"):
        Vocab.from_tokens(["a", "b"])


def test_time_machine_char_vocab_has_the_books_28_tokens():
    data = TimeMachine()
    data.setup("fit")
    assert len(data.vocab) == 28 and data.vocab.idx_to_token[:4] == ["<unk>", " ", "e", "t"]
    assert len(data.corpus) > 170000


# --- minibatch schemes ---------------------------------------------------------------------------


def test_random_sampling_yields_each_subsequence_once_per_epoch():
    T, B = 5, 4
    batches = LanguageModelBatches(torch.arange(103), B, T, "random")
    offsets = set()
    for _ in range(6):
        X_all, count = [], 0
        for X, Y in batches:
            assert X.shape == (B, T) and torch.equal(Y, X + 1)
            X_all.append(X)
            count += 1
        assert count == len(batches)
        starts = torch.cat(X_all)[:, 0]
        assert len(set(starts.tolist())) == len(starts)  # no subsequence twice
        offset = int(starts.min()) % T
        assert all((s - offset) % T == 0 for s in starts.tolist())  # non-overlapping
        offsets.add(offset)
    assert len(offsets) > 1  # a fresh offset per epoch


def test_sequential_partitioning_continues_rows_across_batches():
    T, B = 5, 3
    batches = LanguageModelBatches(torch.arange(100), B, T, "sequential")
    for _ in range(4):
        previous = None
        n = 0
        for X, Y in batches:
            assert X.shape == (B, T) and torch.equal(Y, X + 1)
            assert torch.equal(X[:, 1:], X[:, :-1] + 1)
            if previous is not None:
                assert torch.equal(X[:, 0], previous[:, -1] + 1)  # row b continues row b
            previous, n = X, n + 1
        assert n == len(batches)


def test_sampling_is_reproducible_under_a_seed():
    def first_batch():
        torch.manual_seed(7)
        return next(iter(LanguageModelBatches(torch.arange(500), 4, 5, "random")))[0]

    assert torch.equal(first_batch(), first_batch())


def test_windows_sampling_and_validation_split(tiny_text):
    data = TimeMachine(source="hub", sampling="windows", num_steps=8, num_train=100, num_val=40, batch_size=16)
    data.prepare_data()
    data.setup("fit")
    X, Y = data.train_set.tensors
    assert X.shape == (100, 8) and torch.equal(X[1:, :-1], X[:-1, 1:]) and torch.equal(Y[:, :-1], X[:, 1:])
    assert len(data.val_set) == 40 and not data.carries_state
    held_out = TimeMachine(source="hub", val_fraction=0.2, batch_size=2, num_steps=5)
    held_out.setup("fit")
    assert len(held_out.train_set.corpus) + len(held_out.val_set.corpus) == len(held_out.corpus)


def test_bad_text_settings_raise_clear_errors(tiny_text):
    for kwargs, message in [
        ({"token": "byte"}, "token"),
        ({"sampling": "shuffled"}, "sampling"),
        ({"source": "web"}, "source"),
        ({"val_fraction": 1.0}, "val_fraction"),
    ]:
        with pytest.raises(ValueError, match=message):
            TimeMachine(**kwargs)
    data = TimeMachine(source="hub", batch_size=64, num_steps=100)
    with pytest.raises(ValueError, match="too short"):
        data.setup("fit")


# --- scratch layers == torch.nn ------------------------------------------------------------------

_GATES = {"rnn": [("W_xh", "W_hh", "b_h")], "lstm": [], "gru": []}
_TORCH_ORDER = {
    "rnn": [("xh", "hh", "h")],
    "gru": [("xr", "hr", "r"), ("xz", "hz", "z"), ("xh", "hh", "h")],  # nn.GRU: reset, update, new
    "lstm": [("xi", "hi", "i"), ("xf", "hf", "f"), ("xc", "hc", "c"), ("xo", "ho", "o")],  # nn.LSTM: i, f, g, o
}


def copy_torch_to_scratch(torch_rnn: nn.RNNBase, scratch: ScratchStack, cell: str) -> None:
    """Copy nn.RNN/GRU/LSTM weights into a ScratchStack (torch sums two biases the book has as one)."""
    D = scratch.num_directions
    with torch.no_grad():
        for index, layer in enumerate(scratch.layers):
            suffix = f"l{index // D}" + ("_reverse" if index % D else "")
            W_ih, W_hh = getattr(torch_rnn, f"weight_ih_{suffix}"), getattr(torch_rnn, f"weight_hh_{suffix}")
            b_ih, b_hh = getattr(torch_rnn, f"bias_ih_{suffix}"), getattr(torch_rnn, f"bias_hh_{suffix}")
            H = layer.num_hiddens
            for g, (x, h, b) in enumerate(_TORCH_ORDER[cell]):
                rows = slice(g * H, (g + 1) * H)
                getattr(layer, f"W_{x}").copy_(W_ih[rows].T)
                getattr(layer, f"W_{h}").copy_(W_hh[rows].T)
                if cell == "gru" and b == "h":  # the candidate's hidden bias sits inside the reset gate
                    getattr(layer, f"b_{b}").copy_(b_ih[rows])
                    layer.b_hh.copy_(b_hh[rows])
                else:
                    getattr(layer, f"b_{b}").copy_(b_ih[rows] + b_hh[rows])


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (2, True)])
def test_scratch_cells_equal_torch_on_copied_weights(cell, num_layers, bidirectional):
    torch.manual_seed(0)
    concise = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](6, 8, num_layers, bidirectional=bidirectional)
    extra = {"reset_after": True} if cell == "gru" else {}
    scratch = ScratchStack(cell, 6, 8, num_layers, bidirectional, **extra)
    copy_torch_to_scratch(concise, scratch, cell)
    X = torch.randn(7, 3, 6)
    D = 2 if bidirectional else 1
    h0 = torch.randn(num_layers * D, 3, 8)
    state = (h0, torch.randn_like(h0)) if cell == "lstm" else h0
    for s in (None, state):
        Y_scratch, state_scratch = scratch(X, s)
        Y_torch, state_torch = concise(X, s)
        torch.testing.assert_close(Y_scratch, Y_torch)
        if cell == "lstm":
            torch.testing.assert_close(state_scratch[0], state_torch[0])
            torch.testing.assert_close(state_scratch[1], state_torch[1])
        else:
            torch.testing.assert_close(state_scratch, state_torch)


def test_book_gru_applies_the_reset_gate_before_the_hidden_product():
    torch.manual_seed(0)
    gru = GRUScratch(3, 4, sigma=0.5)
    X, H = torch.randn(1, 2, 3), torch.randn(2, 4)
    R = torch.sigmoid(X[0] @ gru.W_xr + H @ gru.W_hr + gru.b_r)
    Z = torch.sigmoid(X[0] @ gru.W_xz + H @ gru.W_hz + gru.b_z)
    H_tilde = torch.tanh(X[0] @ gru.W_xh + (R * H) @ gru.W_hh + gru.b_h)
    torch.testing.assert_close(gru(X, H)[1], Z * H + (1 - Z) * H_tilde)


# --- the fused CPU GRU (a speed switch) ------------------------------------------------------------


onednn_linear = fused_gru._onednn_linear
one_hot_tokens = fused_gru._one_hot_tokens


def run_and_differentiate(gru: nn.GRU, X: torch.Tensor, h0: torch.Tensor | None) -> list[torch.Tensor]:
    """Outputs, final state and every gradient (inputs, initial state, parameters) of a non-linear loss."""
    for t in (X, h0, *gru.parameters()):
        if t is not None:
            t.grad = None
    torch.manual_seed(1)  # the same dropout masks
    Y, state = gru(X, h0)
    (Y.sin().sum() + state.cos().sum()).backward()
    grads = [X.grad] + ([h0.grad] if h0 is not None else []) + [p.grad for p in gru.parameters()]
    return [Y, state, *grads]


@pytest.mark.parametrize(
    "num_layers, batch_first, dropout, batch, hidden, amd, steps",
    [(1, False, 0.0, 3, 7, False, 6), (2, True, 0.0, 3, 7, False, 6), (3, False, 0.5, 3, 7, False, 6)]
    + [(2, False, 0.0, 3, 7, False, 1)]  # one step: no earlier outputs in the weight gradient
    + [(1, False, 0.0, 64, 64, amd, 6) for amd in (False, True)],  # 64 x 64 on an AMD CPU: tanh as 2 sigmoid(2a) - 1
)
def test_fused_gru_equals_nn_gru_forward_and_backward_in_float64(
    num_layers, batch_first, dropout, batch, hidden, amd, steps, monkeypatch
):
    monkeypatch.setattr(fused_gru, "_tanh_is_slow", lambda: amd)
    torch.manual_seed(0)
    reference = nn.GRU(5, hidden, num_layers, batch_first=batch_first, dropout=dropout).double()
    fused = FusedGRU(5, hidden, num_layers, batch_first=batch_first, dropout=dropout).double()
    fused.load_state_dict(reference.state_dict())  # the same parameter names: checkpoints load either way
    shape = (batch, steps, 5) if batch_first else (steps, batch, 5)
    X = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    for h0 in (None, torch.randn(num_layers, batch, hidden, dtype=torch.float64, requires_grad=True)):
        assert fused.fused(X)
        for got, want in zip(run_and_differentiate(fused, X, h0), run_and_differentiate(reference, X, h0)):
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("num_layers, amd", [(1, False), (2, True)])
def test_fused_gru_picks_one_hot_inputs_rows_with_nn_grus_results(num_layers, amd, monkeypatch):
    monkeypatch.setattr(fused_gru, "_tanh_is_slow", lambda: amd)
    torch.manual_seed(0)
    reference = nn.GRU(5, 64, num_layers).double()
    fused = FusedGRU(5, 64, num_layers).double()
    fused.load_state_dict(reference.state_dict())
    tokens = torch.randint(0, 5, (6, 64))
    X = F.one_hot(tokens, 5).double()  # the language models' inputs: no gradient of their own
    picked = []
    monkeypatch.setattr(fused_gru, "_one_hot_tokens", lambda x: picked.append(one_hot_tokens(x)) or picked[-1])
    h0 = torch.randn(num_layers, 64, 64, dtype=torch.float64, requires_grad=True)
    got, want = run_and_differentiate(fused, X, h0), run_and_differentiate(reference, X, h0)
    assert len(picked) == 1 and torch.equal(picked[0], tokens.view(-1))  # the first layer's inputs only
    assert got[2] is None and want[2] is None
    for a, b in zip(got[:2] + got[3:], want[:2] + want[3:]):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch_first, num_layers", [(False, 1), (True, 2)])
def test_fused_gru_takes_token_indices_for_their_one_hot_codes(batch_first, num_layers, monkeypatch):
    torch.manual_seed(0)
    reference = nn.GRU(5, 64, num_layers, batch_first=batch_first)
    fused = FusedGRU(5, 64, num_layers, batch_first=batch_first)
    fused.load_state_dict(reference.state_dict())
    tokens = torch.randint(0, 5, (32, 6) if batch_first else (6, 32))
    codes = F.one_hot(tokens, 5).float()
    monkeypatch.setattr(fused_gru, "_one_hot_tokens", lambda x: pytest.fail("no codes to inspect"))
    h0 = torch.randn(num_layers, 32, 64, requires_grad=True)
    got, want = run_and_differentiate(fused, tokens, h0), run_and_differentiate(reference, codes, h0)
    assert fused.fused(tokens) and got[2] is None
    for a, b in zip(got[:2] + got[3:], want[:2] + want[3:]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    with pytest.raises(IndexError):  # a token outside the vocabulary
        fused(tokens + 5)
    off = FusedGRU(5, 64, num_layers, batch_first=batch_first, bidirectional=True)  # not fused: nn.GRU gets codes
    plain = nn.GRU(5, 64, num_layers, batch_first=batch_first, bidirectional=True)
    plain.load_state_dict(off.state_dict())
    assert not off.fused(tokens)
    torch.testing.assert_close(off(tokens), plain(codes))


def test_fused_gru_takes_only_exactly_one_hot_inputs_as_tokens():
    X = F.one_hot(torch.tensor([[0, 2], [1, 1]]), 3).float()
    assert torch.equal(one_hot_tokens(X), torch.tensor([0, 2, 1, 1]))
    for bad in (X * 0.5, X + X.roll(1, -1), torch.zeros_like(X), X.clone().requires_grad_(), X[:1]):
        assert one_hot_tokens(bad) is None  # halves, two ones, none, an embedding's output (needs a gradient), one step


@pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN")  # torch.backends.mkldnn.flags() sets it
def test_fused_gru_in_float32_takes_onednn_products_with_nn_grus_results(monkeypatch):
    fused_gru._onednn_works.cache_clear()
    rng = torch.get_rng_state()
    calls, available = [], fused_gru._onednn_works(torch.float32)  # the wheels' x86 and ARM builds have it
    assert torch.equal(torch.get_rng_state(), rng)  # checked without drawing: a seed's stream stays the same
    monkeypatch.setattr(fused_gru, "_ONEDNN_MIN_MACS", 0)  # these small products too
    monkeypatch.setattr(fused_gru, "_onednn_float32_is_faster", lambda transposed, threads: True)  # measured so
    monkeypatch.setattr(fused_gru, "_onednn_linear", lambda *args: calls.append(1) or onednn_linear(*args))
    torch.manual_seed(0)
    reference, fused = nn.GRU(6, 16, 2), FusedGRU(6, 16, 2)  # two layers: the second's input gradient too
    fused.load_state_dict(reference.state_dict())
    X, h0 = torch.randn(7, 3, 6, requires_grad=True), torch.randn(2, 3, 16, requires_grad=True)
    want = run_and_differentiate(reference, X, h0)
    onednn = run_and_differentiate(fused, X, h0)
    assert available == torch.backends.mkldnn.is_available()
    assert len(calls) == (2 * (7 + 7 + 3) if available else 0)  # a layer: 7 steps each way; W_hh's, W_ih's, x's grads
    with torch.backends.mkldnn.flags(enabled=False):  # switched off, they are ATen's
        calls.clear()
        aten = run_and_differentiate(fused, X, h0)
        assert not calls
    for got in (onednn, aten):
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_fused_gru_keeps_float32_products_in_mkl_unless_onednn_measured_faster(monkeypatch):
    monkeypatch.setattr(fused_gru, "_onednn_works", lambda dtype: True)
    for faster in (False, True):
        monkeypatch.setattr(fused_gru, "_onednn_float32_is_faster", lambda transposed, threads, f=faster: f)
        assert fused_gru._onednn(torch.float32, 2**22) is faster
        assert fused_gru._onednn(torch.float32, 2**22, transposed=True) is faster
        assert fused_gru._onednn(torch.bfloat16, 2**22)  # bfloat16 products go to oneDNN either way
        assert not fused_gru._onednn(torch.float32, 2**10)  # small ones stay in MKL either way


def test_fused_gru_passes_gradcheck_and_reuses_its_buffers_safely():
    torch.manual_seed(0)
    gru = FusedGRU(3, 4).double()
    X = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, 2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, h: gru(x, h), (X, h0))
    first = [t.clone() for t in run_and_differentiate(gru, X, h0)]
    with torch.no_grad():
        gru(torch.randn_like(X), h0)  # another call between: must not disturb a later backward
    Y, state = gru(X, h0)
    gru(torch.randn_like(X), h0)[0].sum().backward()  # a second graph, run first: its buffers go back
    gru(torch.randn_like(X), h0)  # and are taken again
    loss = Y.sin().sum() + state.cos().sum()
    once = torch.autograd.grad(loss, [X, h0, *gru.parameters()], retain_graph=True)
    twice = torch.autograd.grad(loss, [X, h0, *gru.parameters()])
    torch.testing.assert_close(once, tuple(first[2:]))
    torch.testing.assert_close(twice, once)


@pytest.mark.parametrize(
    "step, weight_gradient, want",
    [
        ((1.0, 0.5), (1.0, 0.5), (True, True)),  # oneDNN twice as fast (an AMD EPYC with AVX-512)
        ((1.0, 0.9), None, (False, False)),  # not clearly faster: MKL, and the weight gradient is not timed
        ((1.0, 0.5), (0.0037, 3.6), (True, False)),  # oneDNN's transposed operands at 1000x MKL's time
    ],
)
def test_fused_gru_sends_float32_products_to_onednn_only_where_measured_faster(
    step, weight_gradient, want, monkeypatch
):
    timings = [step] + ([weight_gradient] if weight_gradient else [])
    monkeypatch.setattr(fused_gru, "_fastest", lambda *runs, **kwargs: list(timings.pop(0)))
    fused_gru._onednn_float32_is_faster.cache_clear()
    try:
        assert (fused_gru._onednn_float32_is_faster(False, 2), fused_gru._onednn_float32_is_faster(True, 2)) == want
        assert not timings  # each timed once, the weight gradient's only where the step's went to oneDNN
        assert fused_gru._onednn_float32_is_faster(True, 2) is want[1]  # cached: not timed again
    finally:
        fused_gru._onednn_float32_is_faster.cache_clear()


def test_fused_gru_measures_the_products_without_random_draws():
    fused_gru._onednn_float32_is_faster.cache_clear()
    rng = torch.get_rng_state()
    seconds = fused_gru._fastest(lambda: torch.ones(64, 64) @ torch.ones(64, 64), lambda: None, repeats=2, calls=2)
    assert len(seconds) == 2 and seconds[0] > seconds[1] >= 0
    assert isinstance(fused_gru._onednn_float32_is_faster(True, torch.get_num_threads()), bool)
    assert torch.equal(torch.get_rng_state(), rng)  # a seed's stream stays the same


def test_fused_gru_keeps_float32_products_under_autocast_on_a_cpu_that_emulates_bfloat16(monkeypatch):
    monkeypatch.setattr(fused_gru, "cpu_has_bf16", lambda: False)  # AVX2 only: bfloat16 products many times slower
    torch.manual_seed(0)
    gru = FusedGRU(16, 32, 2)
    X, h0 = torch.randn(10, 4, 16, requires_grad=True), torch.randn(2, 4, 32, requires_grad=True)
    want = run_and_differentiate(gru, X, h0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = run_and_differentiate(gru, X, h0)
    for a, b in zip(got, want):  # float32 products, as nn.GRU keeps under CPU autocast
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_fused_gru_runs_its_products_in_bfloat16_under_cpu_autocast(monkeypatch):
    monkeypatch.setattr(fused_gru, "cpu_has_bf16", lambda: True)  # as with AVX-512 (emulated here, if need be)
    torch.manual_seed(0)
    reference, fused = nn.GRU(16, 32, 2), FusedGRU(16, 32, 2)
    fused.load_state_dict(reference.state_dict())
    X, h0 = torch.randn(10, 4, 16, requires_grad=True), torch.randn(2, 4, 32, requires_grad=True)
    want = run_and_differentiate(reference, X, h0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        Y, state = fused(X)
        got = run_and_differentiate(fused, X, h0)
    assert Y.dtype == state.dtype == torch.float32  # the gates and the state stay float32
    assert not torch.equal(Y, want[0])  # the products were rounded to bfloat16 ...
    for a, b in zip(got, want):  # ... and no more: outputs, state and every gradient
        torch.testing.assert_close(a, b, rtol=0, atol=0.03 * b.abs().max().item())


def test_fused_gru_is_nn_gru_where_it_does_not_apply():
    torch.manual_seed(0)
    reference = nn.GRU(4, 6, 2, bidirectional=True)
    fused = FusedGRU(4, 6, 2, bidirectional=True)
    fused.load_state_dict(reference.state_dict())
    X = torch.randn(5, 3, 4)
    assert not fused.fused(X) and not FusedGRU(4, 6).fused(X[0])  # bidirectional; unbatched input
    torch.testing.assert_close(fused(X), reference(X))
    with pytest.raises(RuntimeError):  # nn.GRU's own words for a wrong state
        FusedGRU(4, 6)(X, torch.zeros(2, 3, 6))
    single, plain = FusedGRU(4, 6), nn.GRU(4, 6)
    plain.load_state_dict(single.state_dict())
    torch._dynamo.reset()
    compiled = torch.compile(single, backend="eager")  # left out of the graph and run as it is, like nn.GRU
    torch.testing.assert_close(compiled(X), plain(X))


def test_fused_language_model_learns_and_its_checkpoint_loads_without_the_switch(tiny_text, tmp_path):
    torch.manual_seed(0)
    data = TimeMachine(source="hub", batch_size=8, num_steps=10)
    model = RNNLM(num_hiddens=32, lr=2.0, fused=True)
    run = quiet_trainer(tmp_path, max_epochs=12, gradient_clip_val=1.0)
    run.fit(model, data)
    assert isinstance(model.rnn, FusedGRU)
    assert run.callback_metrics["train/ppl"] < 0.6 * torch.exp(torch.tensor(3.2))
    path = tmp_path / "fused.ckpt"
    run.save_checkpoint(path)
    plain = RNNLM.load_from_checkpoint(path, fused=False)
    assert type(plain.rnn) is nn.GRU
    X = torch.randint(0, len(data.vocab), (2, 10))
    torch.testing.assert_close(plain(X)[0], model(X)[0], rtol=1e-5, atol=1e-6)
    vocab = data.vocab.idx_to_token
    assert type(RNNLM(vocab=vocab, cell="lstm", fused=True).rnn) is nn.LSTM  # other layers ignore the switch
    assert isinstance(RNNLM(vocab=vocab, impl="scratch", fused=True).rnn, ScratchStack)


# --- language models -----------------------------------------------------------------------------


def test_perplexity_from_the_loss_is_torchmetrics_perplexity_of_the_logits():
    torch.manual_seed(0)
    ours, theirs = LossPerplexity(), Perplexity()
    for batch, steps in ((4, 7), (2, 7), (4, 3)):  # batches of different token counts weigh by their tokens
        logits, Y = torch.randn(batch, steps, 11) * 3, torch.randint(0, 11, (batch, steps))
        ours.update(F.cross_entropy(logits.reshape(-1, 11), Y.reshape(-1)), Y.numel())
        theirs.update(logits, Y)
    torch.testing.assert_close(ours.compute(), theirs.compute())
    assert ours.compute() > 1.5


def test_uniform_model_has_perplexity_equal_to_vocab_size(tiny_text, tmp_path):
    data = TimeMachine(source="hub", batch_size=4, num_steps=10, val_fraction=0.5)
    model = RNNLM(num_hiddens=8)
    quiet_trainer(tmp_path).validate(model, data)  # builds the model for the data's vocabulary
    with torch.no_grad():
        model.linear.weight.zero_()
        model.linear.bias.zero_()
    metrics = quiet_trainer(tmp_path).validate(model, data)[0]
    assert metrics["val/ppl"] == pytest.approx(len(data.vocab), rel=1e-4)


@pytest.mark.parametrize(
    "cell, impl, layers, bidirectional",
    [("rnn", "scratch", 1, False), ("gru", "scratch", 1, False), ("lstm", "scratch", 1, False),
     ("gru", "concise", 2, False), ("lstm", "concise", 1, True)],
)  # fmt: skip
def test_language_models_learn_a_tiny_text(tiny_text, tmp_path, cell, impl, layers, bidirectional):
    torch.manual_seed(0)
    data = TimeMachine(source="hub", batch_size=8, num_steps=10)
    model = RNNLM(cell=cell, impl=impl, num_hiddens=32, num_layers=layers, bidirectional=bidirectional, lr=2.0)
    run = quiet_trainer(tmp_path, max_epochs=12, gradient_clip_val=1.0)
    run.fit(model, data)
    first = torch.exp(torch.tensor(3.2))  # above log(28): where an untrained model starts
    assert run.callback_metrics["train/ppl"] < 0.6 * first


def test_generation_is_deterministic_and_checkpoints_carry_the_vocab(tiny_text, tmp_path):
    torch.manual_seed(0)
    data = TimeMachine(source="hub", batch_size=8, num_steps=10)
    model = RNNLM(num_hiddens=32, lr=2.0, num_preds=20)
    run = quiet_trainer(tmp_path, max_epochs=15, gradient_clip_val=1.0)
    run.fit(model, data)
    greedy = model.generate("the time ")
    assert greedy.startswith("the time ") and len(greedy) == len("the time ") + 20
    assert model.generate("the time ") == greedy
    torch.manual_seed(3)
    sampled = model.generate("the", temperature=1.0)
    torch.manual_seed(3)
    assert model.generate("the", temperature=1.0) == sampled
    path = tmp_path / "lm.ckpt"
    run.save_checkpoint(path)
    restored = RNNLM.load_from_checkpoint(path)  # no data module: the vocabulary is in the checkpoint
    assert restored.vocab == data.vocab and restored.generate("the time ") == greedy


def test_untrained_model_without_vocab_gives_a_clear_error():
    with pytest.raises(ValueError, match="vocabulary"):
        RNNLM().generate("time")
    with pytest.raises(ValueError, match="cell"):
        RNNLM(cell="transformer")


def test_cli_fit_then_predict_generates_from_the_checkpoint(tiny_text, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = config("gru_time_machine")
    flags = ["--data.source", "hub", "--data.max_tokens", "-1", "--trainer.max_epochs", "2"]
    main(["fit", "--config", path, *flags, "--model.num_hiddens", "16", "--trainer.enable_model_summary", "false"])
    ckpt = sorted(tmp_path.glob("lightning_logs/version_*/checkpoints/last.ckpt"))[-1]
    capsys.readouterr()
    main(["predict", "--ckpt_path", str(ckpt), "--model.prefix", "time traveller", "--model.num_preds", "12"])
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("time traveller"))
    assert len(line) == len("time traveller") + 12
    assert (ckpt.parents[1] / "predict" / "generated.txt").read_text().rstrip("\n") == line  # in the run folder


# --- the 0.17 edition's text pipeline ---------------------------------------------------------------


def book_seq_data_iter_sequential(corpus: list[int], batch_size: int, num_steps: int, offset: int):
    """d2l 0.17's ``seq_data_iter_sequential`` with its random offset given (transcribed for this test)."""
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = torch.tensor(corpus[offset : offset + num_tokens])
    Ys = torch.tensor(corpus[offset + 1 : offset + 1 + num_tokens])
    Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield Xs[:, i : i + num_steps], Ys[:, i : i + num_steps]


def test_the_017_corpus_is_read_line_by_line_as_the_book_does():
    book = TimeMachine(preprocessing="lines")
    book.setup()
    assert len(book.corpus) == 170_580 and len(book.vocab) == 28  # 0.17's load_corpus_time_machine()
    whole = TimeMachine()
    whole.setup()
    assert len(whole.corpus) == 173_428  # 1.0's cleaning of the whole text keeps a space per line break
    text = "".join(book.vocab.to_tokens(book.corpus[:40]))
    assert text == "the time machine by h g wellsithe time t"  # lines joined with nothing between them


def test_rows_partition_is_the_books_seq_data_iter_sequential():
    corpus = torch.arange(1000)  # distinct tokens: each value is its own position
    for shuffle in (False, True):
        batches = LanguageModelBatches(corpus, 4, 7, "sequential", shuffle=shuffle, partition="rows")
        for _ in range(4):  # a fresh offset per pass
            ours = list(batches)
            offset = int(ours[0][0][0, 0])
            book = list(book_seq_data_iter_sequential(corpus.tolist(), 4, 7, offset))
            assert len(ours) == len(batches) and len(book) - len(ours) in (0, 1)  # the book's count varies by offset
            for (X, Y), (bX, bY) in zip(ours, book):
                assert torch.equal(X, bX) and torch.equal(Y, bY)


def test_the_017_configs_use_the_017_pipeline():
    for name in ("rnn", "gru", "lstm", "deep_lstm", "bilstm"):
        data = yaml.safe_load(Path(config(f"{name}_time_machine")).read_text())["data"]["init_args"]
        assert (data["preprocessing"], data["partition"], data["max_tokens"]) == ("lines", "rows", 10000), name


# --- sine-wave autoregression --------------------------------------------------------------------


def test_sine_data_lags_and_splits():
    data = SineSequence(T=100, tau=4, n_train=60, noise=0.0)
    X, y = data.train_set.tensors
    assert X.shape == (60, 4) and y.shape == (60, 1) and len(data.val_set) == 36
    torch.testing.assert_close(X[5], data.x[5:9])
    torch.testing.assert_close(y[5, 0], data.x[9])
    with pytest.raises(ValueError, match="tau"):
        SineSequence(T=100, tau=4, n_train=99)


def test_sine_mlp_learns_and_predict_draws_the_k_step_figure(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cli = main(["fit", "--config", config("sine"), "--trainer.enable_model_summary", "false"])
    assert cli.trainer.callback_metrics["val/loss"] < 0.1  # the noise variance is 0.04
    ckpt = sorted(tmp_path.glob("lightning_logs/version_*/checkpoints/last.ckpt"))[-1]
    main(["predict", "--ckpt_path", str(ckpt)])
    out = capsys.readouterr().out
    assert "k=64" in out
    png = Path(next(line for line in out.splitlines() if line.endswith("sine_predictions.png")).split("wrote ")[1])
    assert png.stat().st_size > 10000
    model = SineMLP()
    assert model.k_step(torch.randn(200)).shape == (200 - 4 - 64 + 1, 4 + 64)
    resumed = main(["fit", "--ckpt_path", str(ckpt), "--trainer.max_epochs", "7"])  # resume from the checkpoint alone
    assert resumed.trainer.current_epoch == 7 and type(resumed.model).__name__ == "SineMLP"
    assert "epoch 6/7" in capsys.readouterr().out


def test_word_level_model_generates_words(tiny_text, tmp_path):
    torch.manual_seed(0)
    data = TimeMachine(source="hub", token="word", batch_size=4, num_steps=5)
    model = RNNLM(num_hiddens=16, lr=2.0, num_preds=4, prefix="the time")
    quiet_trainer(tmp_path, max_epochs=3, gradient_clip_val=1.0).fit(model, data)
    assert model.hparams.token_type == "word" and len(model.vocab) == len(data.vocab) < 30
    words = model.generate().split()
    assert words[:2] == ["the", "time"] and len(words) == 6 and all(w in data.vocab.token_to_idx for w in words)
