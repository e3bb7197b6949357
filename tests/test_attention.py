"""Attention: the masked softmax, additive and dot-product attention (the book's printed values), multi-head
attention against nn.MultiheadAttention on copied weights, positional encoding, the Transformer's two
implementations and its cached decoding, and Nadaraya-Watson kernel regression."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import config, copy_into_concise, copy_transformer
from torch import nn

import zoo
from cli import run
from datamodules import KernelRegressionData
from datamodules.synthetic.kernel_regression import kernel_regression_target
from zoo.attention.multihead import ConciseMultiHeadAttention, MultiHeadAttention
from zoo.attention.positional import PositionalEncoding
from zoo.attention.scoring import AdditiveAttention, DotProductAttention, masked_softmax

# --- scoring functions -------------------------------------------------------------------------------------


def test_masked_softmax_ignores_padded_positions():
    torch.manual_seed(0)
    scores = torch.rand(2, 2, 4)
    weights = masked_softmax(scores, torch.tensor([2, 3]))
    assert (weights[0, :, 2:] == 0).all() and (weights[1, :, 3:] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2))
    changed = scores.clone()
    changed[0, :, 2:] = 1e3  # whatever the padded keys score
    torch.testing.assert_close(masked_softmax(changed, torch.tensor([2, 3])), weights)
    torch.testing.assert_close(weights[0, :, :2], torch.softmax(scores[0, :, :2], -1))
    per_query = masked_softmax(scores, torch.tensor([[1, 3], [2, 4]]))  # a valid length per query
    assert (
        per_query[0, 0].tolist() == [1.0, 0.0, 0.0, 0.0] and (per_query[0, 1, 3] == 0) and (per_query[1, 1] > 0).all()
    )
    torch.testing.assert_close(masked_softmax(scores, None), torch.softmax(scores, -1))


def test_additive_and_dot_product_attention_give_the_books_values():
    torch.manual_seed(0)
    keys = torch.ones(2, 10, 2)
    values = torch.arange(40, dtype=torch.float32).reshape(1, 10, 4).repeat(2, 1, 1)
    valid_lens = torch.tensor([2, 6])
    expected = torch.tensor([[[2.0, 3.0, 4.0, 5.0]], [[10.0, 11.0, 12.0, 13.0]]])  # equal keys: the mean value
    additive = AdditiveAttention(key_size=2, query_size=20, num_hiddens=8, dropout=0.1).eval()
    torch.testing.assert_close(additive(torch.normal(0, 1, (2, 1, 20)), keys, values, valid_lens), expected)
    dot = DotProductAttention(dropout=0.5).eval()
    torch.testing.assert_close(dot(torch.normal(0, 1, (2, 1, 2)), keys, values, valid_lens), expected)
    assert dot.attention_weights.shape == (2, 1, 10) and (dot.attention_weights[0, 0, 2:] == 0).all()
    queries, keys = torch.randn(3, 4, 5), torch.randn(3, 6, 5)
    dot(queries, keys, keys)
    torch.testing.assert_close(dot.attention_weights, torch.softmax(queries @ keys.transpose(1, 2) / math.sqrt(5), -1))


# --- multi-head attention: the book's against nn.MultiheadAttention ---------------------------------------


@pytest.mark.parametrize("key_size, value_size", [(16, 16), (10, 7)])
@pytest.mark.parametrize("valid", ["none", "per-sequence", "per-query"])
def test_scratch_multi_head_attention_equals_nn_multihead_attention(key_size, value_size, valid):
    torch.manual_seed(0)
    scratch = MultiHeadAttention(key_size, 16, value_size, 16, num_heads=4, dropout=0.3).eval()
    concise = ConciseMultiHeadAttention(key_size, 16, value_size, 16, num_heads=4, dropout=0.3).eval()
    copy_into_concise(scratch, concise)
    queries, keys, values = torch.randn(3, 5, 16), torch.randn(3, 7, key_size), torch.randn(3, 7, value_size)
    valid_lens = {"none": None, "per-sequence": torch.tensor([7, 3, 1]),
                  "per-query": torch.randint(1, 8, (3, 5))}[valid]  # fmt: skip
    torch.testing.assert_close(concise(queries, keys, values, valid_lens), scratch(queries, keys, values, valid_lens))
    assert scratch.attention_weights.shape == concise.attention_weights.shape == (3, 4, 5, 7)
    torch.testing.assert_close(concise.attention_weights, scratch.attention_weights)


def test_both_multi_head_attentions_start_xavier_uniform_per_projection():
    torch.manual_seed(0)
    concise = ConciseMultiHeadAttention(64, 64, 64, 64, num_heads=4)
    bound = math.sqrt(6 / (64 + 64))
    for block in concise.attention.in_proj_weight.chunk(3):
        assert block.abs().max() <= bound and block.abs().max() > 0.9 * bound


# --- positional encoding -------------------------------------------------------------------------------------


def test_positional_encoding_values_at_known_positions():
    encoding = PositionalEncoding(32, dropout=0.0).eval()
    P = encoding.P[0]
    assert P.shape == (1000, 32)
    assert P[0, 0::2].abs().max() == 0 and (P[0, 1::2] == 1).all()  # position 0: sin 0, cos 0
    assert P[1, 0] == pytest.approx(math.sin(1)) and P[1, 1] == pytest.approx(math.cos(1))
    assert P[7, 6] == pytest.approx(math.sin(7 / 10000 ** (6 / 32)), abs=1e-6)
    assert P[59, 9] == pytest.approx(math.cos(59 / 10000 ** (8 / 32)), abs=1e-6)
    X = torch.zeros(1, 5, 32)
    torch.testing.assert_close(encoding(X, offset=3), P[3:8].unsqueeze(0))  # a decoder's later tokens
    assert "P" not in encoding.state_dict()  # computed, not saved


# --- the Transformer -------------------------------------------------------------------------------------------


def test_the_transformers_two_implementations_compute_the_same_function():
    torch.manual_seed(0)
    scratch = zoo.get_model("transformer", impl="scratch").eval()
    concise = zoo.get_model("transformer", impl="concise").eval()
    copy_transformer(scratch, concise)
    X, dec_X = torch.randint(4, 184, (3, 10)), torch.randint(4, 201, (3, 10))
    valid = torch.tensor([10, 4, 1])
    torch.testing.assert_close(concise(X, dec_X, valid)[0], scratch(X, dec_X, valid)[0], rtol=1e-4, atol=1e-5)
    assert scratch.greedy_decode(X, valid)[0] == concise.greedy_decode(X, valid)[0]


@pytest.mark.parametrize("name", ["seq2seq", "bahdanau", "transformer"])
def test_decoding_one_token_at_a_time_equals_the_teacher_forced_pass(name):
    """What the decoder computes for a whole sequence at once is what it computes step by step (its state, or the
    Transformer's cache, with a causal mask and the right positions), so greedy decoding sees what training saw."""
    torch.manual_seed(0)
    model = zoo.get_model(name).eval()
    X, valid = torch.randint(4, 184, (2, 10)), torch.tensor([10, 6])
    dec_X = torch.randint(4, 201, (2, 7))
    whole, _ = model(X, dec_X, valid)
    state = model.decoder.init_state(model.encoder(X, valid), valid)
    steps = []
    for t in range(dec_X.shape[1]):
        logits, state = model.decoder(dec_X[:, t : t + 1], state)
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), whole, rtol=1e-4, atol=1e-5)


def test_transformer_attention_maps_cover_every_block_and_head():
    torch.manual_seed(0)
    model = zoo.get_model("transformer", impl="concise")
    result = model.translate("i'm home .", with_attention=True)
    n_out = len(result["translation"].split()) + 1 if result["translation"] else 1
    encoder, queries, keys = result["attention"]["encoder self-attention"]
    assert encoder.shape == (2, 4, 4, 4) and keys == ["<unk>", "<unk>", "<unk>", "<eos>"]  # placeholder vocabulary
    decoder, queries, keys = result["attention"]["decoder self-attention"]
    assert decoder.shape[:2] == (2, 4) and keys[0] == "<bos>" and len(queries) == min(n_out, 10)
    torch.testing.assert_close(decoder.sum(-1), torch.ones(decoder.shape[:-1]))
    assert torch.triu(decoder[..., :, :], diagonal=1).abs().max() == 0  # nothing from later tokens


# --- Nadaraya-Watson kernel regression ----------------------------------------------------------------------


def test_kernel_regression_data_is_the_books():
    data = KernelRegressionData()
    queries, keys, values, y = data.train_set.tensors
    assert queries.shape == (50,) and keys.shape == values.shape == (50, 49)
    assert torch.equal(queries, queries.sort().values) and queries.min() >= 0 and queries.max() < 5
    for i in (0, 17, 49):  # each training input attends over the other 49
        assert queries[i] not in keys[i] and set(keys[i].tolist()) | {queries[i].item()} == set(queries.tolist())
    test_queries, test_keys, _, truth = data.val_set.tensors
    torch.testing.assert_close(test_queries, torch.arange(0, 5, 0.1))
    torch.testing.assert_close(truth, 2 * torch.sin(test_queries) + test_queries**0.8)
    assert (test_keys == queries).all() and kernel_regression_target(torch.tensor([0.0])) == 0


def test_nadaraya_watson_pools_by_a_gaussian_kernel_and_learns_its_width(tmp_path, monkeypatch, capsys):
    model = zoo.NadarayaWatson(w_init=1.0)
    queries, keys, values = (
        torch.tensor([0.0, 2.0]),
        torch.tensor([[0.0, 1.0, 3.0]] * 2),
        torch.tensor([[1.0, 2.0, 4.0]] * 2),
    )
    kernel = torch.exp(-((queries[:, None] - keys) ** 2) / 2)
    expected = (kernel / kernel.sum(1, keepdim=True) * values).sum(1)
    torch.testing.assert_close(model(queries, keys, values), expected)
    torch.testing.assert_close(model.net.attention_weights.sum(1), torch.ones(2))
    monkeypatch.chdir(tmp_path)
    cli = run(["fit", "--config", config("nadaraya_watson"), "--trainer.enable_checkpointing", "true"])
    queries, keys, values, y = cli.datamodule.train_set.tensors
    with torch.no_grad():
        first = float(cli.model.loss(zoo.NadarayaWatson(w_init=1.0)(queries, keys, values), y))
    trained = float(cli.trainer.callback_metrics["train/loss"])
    assert cli.model.net.w.item() > 1.5 and trained < first  # a narrower kernel fits the training pairs better
    ckpt = cli.trainer.checkpoint_callback.last_model_path
    run(["predict", "--ckpt_path", ckpt])
    out = tmp_path / "lightning_logs" / "version_0" / "predict"
    assert (out / "kernel_regression.png").is_file() and (out / "attention_weights.png").is_file()
    assert "mean squared error against the noise-free truth" in capsys.readouterr().out


def test_attention_networks_reject_bad_settings():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        zoo.Transformer(num_hiddens=30, num_heads=4)
    with pytest.raises(ValueError, match="impl"):
        zoo.Transformer(impl="fast")
    with pytest.raises(ValueError, match="dropout"):
        zoo.Bahdanau(dropout=1.0)
    with pytest.raises(ValueError, match="beam_size"):
        zoo.Seq2Seq(beam_size=0)
    with pytest.raises(ValueError, match="query_size"):
        ConciseMultiHeadAttention(8, 6, 8, 8, 2)
    assert isinstance(nn.MultiheadAttention(8, 2), nn.Module)
