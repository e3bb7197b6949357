"""Machine translation: the English-French data module (preprocessing, vocabularies, padding, splits, file
checks), the encoder-decoder base (masks, masked loss, BLEU, greedy decoding and beam search) and the
translation command line (predict and heatmaps from a checkpoint alone; bad input), on a tiny fra-eng.zip."""

from __future__ import annotations

import collections
import csv
import math

import lightning as L
import pytest
import torch
from conftest import config, fra_lines, quiet_trainer, write_fra_eng
from torch import nn
from torchmetrics.text import BLEUScore

import zoo
from cli import run
from datamodules import DataError, Translation, Vocab
from datamodules.text.translation import OOV, preprocess_nmt
from zoo.core.encoder_decoder import (
    Decoder,
    Encoder,
    EncoderDecoder,
    bleu,
    masked_cross_entropy,
    recipe_vocab,
    sequence_mask,
)


def book_preprocess_nmt(text: str) -> str:
    """The book's own ``preprocess_nmt`` (0.17), character by character."""

    def no_space(char, prev_char):
        return char in set(",.!?") and prev_char != " "

    text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
    return "".join(" " + c if i > 0 and no_space(c, text[i - 1]) else c for i, c in enumerate(text))


# --- the data ------------------------------------------------------------------------------------------


def test_preprocessing_is_the_books():
    for text in ["Go.\tVa !", "Hi!How are you?", "a ,b", "Wait\u202f!", "What?!", "\t.x", ".Start", "No\xa0way.\n"]:
        assert preprocess_nmt(text) == book_preprocess_nmt(text)
    assert preprocess_nmt("He's calm.\tIl est calme.") == "he's calm .\til est calme ."


def test_vocabularies_padding_and_valid_lengths_on_the_real_file_format(tiny_fra):
    data = Translation(num_steps=5, num_examples=50, num_test=10)
    data.prepare_data()  # extracts fra.txt from the zip, checking both hashes
    assert (tiny_fra / "fra-eng" / "fra.txt").is_file()
    data.setup("fit")
    lines = [book_preprocess_nmt(line).split("\t")[:2] for line in fra_lines()[:50]]
    for side, vocab in enumerate((data.src_vocab, data.tgt_vocab)):
        counts = collections.Counter(t for pair in lines for t in pair[side].split(" ") if t)
        assert len(vocab) == 4 + sum(freq >= 2 for freq in counts.values())
        assert vocab.idx_to_token[:4] == ["<unk>", "<pad>", "<bos>", "<eos>"]
    X, X_len, Y, Y_len = data.train_set.tensors
    assert X.shape == Y.shape == (50, 5) and X.dtype == torch.long
    src, tgt = data.src_vocab, data.tgt_vocab
    assert src.to_tokens(X[0].tolist()) == ["<unk>", ".", "<eos>", "<pad>", "<pad>"]  # "go" is seen once only
    assert X_len[0] == 3 and tgt.to_tokens(Y[0, :3].tolist()) == ["<unk>", "!", "<eos>"]
    positions = torch.arange(5)
    assert torch.equal(src["<pad>"] == X, positions >= X_len[:, None])  # padding exactly after the valid length
    assert torch.equal(tgt["<pad>"] == Y, positions >= Y_len[:, None])
    long = [i for i, line in enumerate(lines) if len(line[1].split()) >= 5]  # "je suis chez moi .", ...
    assert long and (Y_len[long] == 5).all() and not (Y[long] == tgt["<eos>"]).any()  # cut, <eos> cut too
    assert tgt.to_tokens(Y[long[0]].tolist()) == ["je", "suis", "chez", "moi", "."]
    R = data.test_set.tensors[4]  # references: whole sentences, words outside the vocabulary -1
    assert R.shape[0] == 10 and (R == OOV).any() and not (tgt.unk == R).any()


def test_splits_are_reproducible_held_out_and_the_test_pairs_follow_the_training_ones(tiny_fra):
    data = Translation(num_steps=8, num_examples=40, num_test=15, val_split=0.25)
    data.setup("fit")
    splits = data.split_indices
    assert len(splits["train"]) == 30 and len(splits["val"]) == 10
    assert sorted(splits["train"].tolist() + splits["val"].tolist()) == list(range(40))
    assert splits["test"].tolist() == list(range(40, 55))
    again = Translation(num_steps=8, num_examples=40, num_test=15, val_split=0.25)
    again.setup("fit")
    assert torch.equal(again.val_set.tensors[0], data.val_set.tensors[0])
    every = Translation(num_examples=-1, num_test=20)  # every pair: the test pairs a seeded sample
    every.setup("fit")
    train, test = set(every.split_indices["train"].tolist()), set(every.split_indices["test"].tolist())
    assert len(test) == 20 and not train & test and len(train | test) == len(fra_lines())
    assert every.val_set is every.test_set  # val_split 0: validation runs on the test split
    with pytest.raises(DataError, match="too few"):
        Translation(num_examples=70, num_test=10).setup("fit")


def test_the_vocabulary_from_counts_is_the_counted_one():
    tokens = list("abbcccdddd") + ["<pad>"]
    counted = Vocab(tokens, min_freq=2, reserved_tokens=["<pad>", "<bos>"])
    assert Vocab.from_counts(collections.Counter(tokens), 2, ["<pad>", "<bos>"]) == counted


def test_a_missing_or_corrupt_file_is_one_clear_error(tiny_fra, tmp_path, monkeypatch, capsys):
    folder = tiny_fra / "fra-eng"
    data = Translation(num_examples=20, num_test=5, download=False)
    data.prepare_data()
    (folder / "fra.txt").write_text("Go.\tVa !\n")  # the extracted file, truncated
    with pytest.raises(DataError, match="fra.txt is corrupt or truncated: its hash is sha256:"):
        Translation(num_examples=20, num_test=5, download=False).prepare_data()
    (folder / "fra.txt").unlink()
    (folder / "fra-eng.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="fra-eng.zip") as err:
        Translation(num_examples=20, num_test=5, download=False).prepare_data()
    assert "corrupt or truncated" in str(err.value) and "The extracted fra.txt" in str(err.value)
    (folder / "fra-eng.zip").unlink()
    with pytest.raises(DataError, match="missing and downloading is switched off"):
        Translation(num_examples=20, num_test=5, download=False).prepare_data()
    assert not hasattr(Translation(download=False), "src_vocab")  # the link skips it; setup will say why
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run(["fit", "--config", config("seq2seq"), "--data.download", "false", "--trainer.max_epochs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and err[0].startswith("error: Translation: 1 file(s) missing or corrupt")
    assert sum(line.startswith("error:") for line in err) == 1


def test_a_mirror_folder_serves_the_zip(tiny_fra, tmp_path):
    mirror = tmp_path / "mirror"
    write_fra_eng(mirror)
    (tiny_fra / "fra-eng" / "fra-eng.zip").unlink()
    data = Translation(num_examples=20, num_test=5, mirror=str(mirror))
    data.prepare_data()
    data.setup("fit")
    assert len(data.train_set) == 20 and (tiny_fra / "fra-eng" / "fra.txt").is_file()


# --- masks, loss and BLEU ----------------------------------------------------------------------------------


def test_sequence_mask_and_the_masked_loss_ignore_padding():
    X = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert sequence_mask(X, torch.tensor([1, 2])).tolist() == [[1, 0, 0], [4, 5, 0]]  # the book's example
    assert sequence_mask(torch.ones(2, 3, 4), torch.tensor([1, 2]), value=-1)[1, 2].tolist() == [-1] * 4
    per_position = masked_cross_entropy(torch.ones(3, 4, 10), torch.ones(3, 4, dtype=torch.long),
                                        torch.tensor([4, 2, 0]), reduction="none")  # fmt: skip
    torch.testing.assert_close(per_position.mean(dim=1), torch.tensor([2.3026, 1.1513, 0.0]), atol=1e-4, rtol=0)
    torch.manual_seed(0)
    logits, labels, valid = torch.randn(2, 5, 7), torch.randint(0, 7, (2, 5)), torch.tensor([3, 5])
    loss = masked_cross_entropy(logits, labels, valid)
    changed = logits.clone()
    changed[0, 3:] = 100 * torch.randn(2, 7)  # anything at the padded positions
    assert masked_cross_entropy(changed, labels, valid) == loss
    by_hand = torch.cat([nn.functional.cross_entropy(logits[0, :3], labels[0, :3], reduction="none"),
                         nn.functional.cross_entropy(logits[1], labels[1], reduction="none")]).mean()  # fmt: skip
    torch.testing.assert_close(loss, by_hand)


def test_bleu_equals_hand_computed_values():
    assert bleu("va !", "va !", k=2) == 1.0
    # the book's printed values: p1 = 2/5, p2 = 1/4 -> sqrt(0.4) * 0.25^(1/4)
    assert bleu("il est bon question !", "il est calme .", k=2) == pytest.approx(math.sqrt(0.4) * 0.25**0.25)
    assert f"{bleu('il est bon question !', 'il est calme .', k=2):.3f}" == "0.447"
    assert bleu("il est <unk> .", "il est calme .", k=2) == pytest.approx(0.75**0.5 * (1 / 3) ** 0.25)  # 0.658
    assert bleu("va", "va !", k=2) == pytest.approx(math.exp(1 - 2 / 1))  # brevity; no bigram in one word
    assert bleu("je vais bien .", "j'ai perdu .", k=2) == 0.0 and bleu("", "va !", k=2) == 0.0
    assert bleu("a a a a", "a a b", k=1) == pytest.approx((2 / 4) ** 0.5)  # matches clipped at the reference count


def test_corpus_bleu_reads_references_and_never_matches_words_outside_the_vocabulary():
    model = zoo.get_model("seq2seq")
    vocab = model.tgt_vocab
    R = torch.tensor([[vocab["token4"], OOV, vocab["<pad>"]]])
    assert model.references(R) == ["token4 <oov>"]

    def corpus_bleu(predictions: list[str], references: list[str]) -> float:
        metric = BLEUScore(n_gram=2)
        metric.update(predictions, [[r] for r in references])
        return float(metric.compute())

    assert corpus_bleu(["token4 <unk>"], model.references(R)) == 0.0  # a predicted <unk> matches no real word
    assert corpus_bleu(["token4 <unk>"], ["token4 <unk>"]) == 1.0  # as it would against an <unk> reference
    assert corpus_bleu(["je suis chez moi .", "va !"], ["je suis chez moi .", "va !"]) == pytest.approx(1.0)
    # counted over the corpus: unigrams 6 of 7 match, bigrams 3 of 5; equal lengths, so no brevity penalty
    predictions, references = ["je suis la moi .", "va !"], ["je suis chez moi .", "va !"]
    assert corpus_bleu(predictions, references) == pytest.approx(math.sqrt((6 / 7) * (3 / 5)))


# --- decoding: greedy and beam search -------------------------------------------------------------------------


class NoEncoder(Encoder):
    def forward(self, X, valid_len=None):
        return None


class TableDecoder(Decoder):
    """A hand-built decoder: the next token's probabilities depend on the previous token only."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("log_table", table.log())

    def init_state(self, enc_outputs, enc_valid_len=None):
        return None

    def forward(self, X, state):
        return self.log_table[X], state

    def reorder_state(self, state, index):
        return state


class TableModel(EncoderDecoder):
    def __init__(self, table: list[list[float]], **kwargs) -> None:
        super().__init__(**kwargs)
        self.build_if_ready()

    def build_network(self, src_vocab_size, tgt_vocab_size):
        return NoEncoder(), TableDecoder(torch.tensor(self.hparams.table))


def table_model() -> TableModel:
    """Tokens <unk> <pad> <bos> <eos> A B C. Greedy takes A (0.55), then C (0.34), then <eos>: log P = -1.68 over
    3 tokens. The better answer starts with the less likely B: B <eos> has P = 0.45 * 0.9 (log P = -0.90)."""
    tiny = 1e-4
    rows = {
        "<bos>": {"A": 0.55, "B": 0.45},
        "A": {"<eos>": 0.33, "A": 0.33, "C": 0.34},
        "B": {"<eos>": 0.9, "A": 0.05, "C": 0.05},
        "C": {"<eos>": 1.0},
    }
    tokens = ["<unk>", "<pad>", "<bos>", "<eos>", "A", "B", "C"]
    table = [[rows.get(prev, {}).get(t, tiny) for t in tokens] for prev in tokens]
    table = [[p / sum(row) for p in row] for row in table]
    return TableModel(table=table, src_vocab=tokens, tgt_vocab=tokens, num_steps=6, init="default").eval()


def test_beam_one_is_greedy_and_a_wider_beam_never_scores_lower():
    model = table_model()
    X, X_len = torch.zeros(1, 6, dtype=torch.long), torch.tensor([1])
    greedy, greedy_score = model.greedy_decode(X, X_len)
    assert model.texts(greedy) == ["A C"]
    assert greedy_score[0] == pytest.approx((math.log(0.55) + math.log(0.34) + math.log(1.0)) / 3**0.75, abs=1e-3)
    assert model.beam_search(X, X_len, beam_size=1) == (greedy[0], pytest.approx(greedy_score[0]))
    scores = []
    for beam_size in (2, 3, 5):
        tokens, score = model.beam_search(X, X_len, beam_size)
        scores.append(score)
        assert score >= greedy_score[0] - 1e-9
    assert model.texts([model.beam_search(X, X_len, 2)[0]]) == ["B"]  # B <eos>: the better translation
    assert scores[0] > greedy_score[0]


@pytest.mark.parametrize("name", ["seq2seq", "bahdanau", "transformer"])
def test_beam_one_equals_greedy_for_each_network(name):
    torch.manual_seed(0)
    model = zoo.get_model(name, num_steps=8).eval()
    X = torch.randint(4, 184, (3, 8))
    X_len = torch.tensor([8, 5, 2])
    outputs, scores = model.greedy_decode(X, X_len)
    for i in range(3):
        tokens, score = model.beam_search(X[i : i + 1], X_len[i : i + 1], beam_size=1)
        assert tokens == outputs[i] and score == pytest.approx(scores[i], abs=1e-5)
        tokens, score = model.beam_search(X[i : i + 1], X_len[i : i + 1], beam_size=4)  # reorders the states
        assert len(tokens) <= 8 and math.isfinite(score)


def test_words_outside_the_vocabulary_translate_through_unk():
    model = zoo.get_model("seq2seq")
    X, X_len = model.encode_source("Zebrafish quantum,")
    assert model.src_vocab.to_tokens(X[0, :4].tolist()) == ["<unk>", "<unk>", "<unk>", "<eos>"] and X_len == 4
    result = model.translate("Zebrafish quantum,", beam_size=3)
    assert isinstance(result["translation"], str) and math.isfinite(result["score"])


# --- the recipes learn, and translate from a checkpoint alone ------------------------------------------------

SMALL = {
    "seq2seq": ["--model.embed_size", "16", "--model.num_hiddens", "16"],
    "bahdanau": ["--model.embed_size", "16", "--model.num_hiddens", "16"],
    "transformer": ["--model.num_hiddens", "16", "--model.ffn_num_hiddens", "32"],
}


def fit_tiny(tmp_path, name: str, epochs: int):
    """``cli.py fit`` with the recipe `name` at a small size on the tiny corpus; the CLI object."""
    data = ["--data.num_examples", "60", "--data.num_test", "11", "--data.batch_size", "16", "--data.num_steps", "8"]
    quick = ["--trainer.max_epochs", str(epochs), "--trainer.check_val_every_n_epoch", "1", "--seed_everything", "0"]
    root = ["--trainer.default_root_dir", str(tmp_path)]
    return run(["fit", "--config", config(name), *data, *quick, *root, *SMALL[name]])


class EpochLosses(L.Callback):
    """The training loss of every epoch."""

    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.losses.append(float(trainer.callback_metrics["train/loss"]))


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (zoo.Seq2Seq, {}),
        (zoo.Seq2Seq, {"fused": True}),
        (zoo.Bahdanau, {}),
        (zoo.Bahdanau, {"fused": True}),
        (zoo.Transformer, {"impl": "scratch"}),
        (zoo.Transformer, {"impl": "concise"}),
    ],
    ids=["seq2seq", "seq2seq-fused", "bahdanau", "bahdanau-fused", "transformer-scratch", "transformer-concise"],
)
def test_each_network_learns_a_tiny_corpus(tiny_fra, tmp_path, cls, kwargs):
    torch.manual_seed(0)
    data = Translation(num_examples=60, num_test=11, num_steps=8, batch_size=16)
    size = {"num_hiddens": 32} if cls is zoo.Transformer else {"embed_size": 32, "num_hiddens": 32}
    model = cls(**size, **kwargs, dropout=0.0, lr=0.01)
    losses = EpochLosses()
    trainer = quiet_trainer(tmp_path, max_epochs=25, gradient_clip_val=1.0, enable_checkpointing=False,
                            callbacks=[losses], limit_val_batches=0)  # fmt: skip
    trainer.fit(model, data)
    assert model.hparams.src_vocab == data.src_vocab.idx_to_token  # the vocabularies came from the data
    assert losses.losses[-1] < 0.25 * losses.losses[0], [round(v, 3) for v in losses.losses[::4]]
    if kwargs.get("fused"):
        assert all(type(gru) is zoo.core.FusedGRU for gru in (model.encoder.rnn, model.decoder.rnn))


@pytest.mark.parametrize("name", ["transformer", "bahdanau"])
def test_translation_and_heatmaps_from_a_checkpoint_alone(tiny_fra, tmp_path, monkeypatch, capsys, name):
    cli = fit_tiny(tmp_path, name, 2)
    assert 0.0 <= float(cli.trainer.callback_metrics["val/bleu"]) <= 1.0
    ckpt = cli.trainer.checkpoint_callback.last_model_path
    monkeypatch.setenv("D2L_ZOO_DATA", str(tmp_path / "nothing-here"))  # no data: the checkpoint is enough
    capsys.readouterr()
    run(["predict", "--ckpt_path", ckpt, "--data.sentences", "go .", "He is calm.", "xyzzy plugh ."])
    printed = capsys.readouterr().out
    assert "go . => " in printed and ", bleu " in printed  # the book's reference for "go ."
    out = tmp_path / "lightning_logs" / "version_0" / "predict"
    with open(out / "translations.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["source"] for r in rows] == ["go .", "He is calm.", "xyzzy plugh ."]
    assert rows[0]["reference"] == "va !" and rows[0]["bleu"] and not rows[2]["bleu"]
    kinds = 3 if name == "transformer" else 1
    assert len(list(out.glob("attention_*.png"))) == 3 * kinds
    assert (out / "attention_1_decoder_encoder_attention.png").stat().st_size > 1000


def test_an_empty_sentence_list_is_one_clear_error(tiny_fra, tmp_path, capsys):
    cli = fit_tiny(tmp_path, "seq2seq", 1)
    ckpt = cli.trainer.checkpoint_callback.last_model_path
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run(["predict", "--ckpt_path", ckpt, "--data.sentences"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error:") and "sentences must hold at least one sentence" in err
    with pytest.raises(ValueError, match="references"):
        Translation(sentences=["go ."], references=["va !", "cours !"])


def test_placeholder_vocabularies_give_the_recipes_sizes():
    assert len(recipe_vocab(184)) == 184 and recipe_vocab(6)[:4] == ["<unk>", "<pad>", "<bos>", "<eos>"]
    model = zoo.get_model("seq2seq")
    assert model.encoder.embedding.num_embeddings == 184 and model.decoder.dense.out_features == 201
    with pytest.raises(ValueError, match="must start with"):
        zoo.Seq2Seq(src_vocab=["<unk>", "a"], tgt_vocab=recipe_vocab(10), num_steps=5)


def test_a_checkpoint_with_the_whole_files_vocabularies_starts_in_seconds(tmp_path, capsys):
    """Large vocabularies (the whole file's: about 10,000 and 17,000 tokens) are hyperparameters: reading them back
    from a checkpoint must stay linear (jsonargparse checks a ``list[str]`` element by element, copying the whole
    list each time: a minute for these 6,000-token lists, half an hour for the whole file's)."""
    import time

    model = zoo.Seq2Seq(src_vocab=recipe_vocab(6000), tgt_vocab=recipe_vocab(6000), num_steps=6,
                        embed_size=4, num_hiddens=4, num_layers=1, dropout=0.0)  # fmt: skip
    trainer = quiet_trainer(tmp_path, enable_checkpointing=False)
    trainer.strategy.connect(model)
    path = tmp_path / "big.ckpt"
    trainer.save_checkpoint(path)
    start = time.perf_counter()
    run(["predict", "--ckpt_path", str(path), "--data", "Translation", "--trainer.default_root_dir", str(tmp_path)])
    assert time.perf_counter() - start < 20  # a few seconds (most of it Lightning writing them out as YAML)
    assert "go . => " in capsys.readouterr().out
