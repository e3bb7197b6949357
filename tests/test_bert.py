"""BERT: the WikiText-2 data module (the book's reading, next-sentence pairs, masking statistics, the input layout,
long pairs, the files), the network (the book's shapes, scratch = concise, the MLM loss's weights), pretraining on
a tiny corpus, and predict from a checkpoint alone, on tiny token files in WikiText's format."""

from __future__ import annotations

import zipfile

import pytest
import torch
from conftest import config, copy_transformer, wiki_text, write_wikitext
from torch.nn import functional as F

import zoo
from cli import run
from datamodules import DataError, RemoteFile, WikiText2
from datamodules.text.wikitext import (
    CLS,
    MASK,
    PAD,
    SEP,
    candidate_mask,
    max_predictions,
    read_wiki,
    truncated_lengths,
    unmask,
)
from zoo.nlp_pretraining.bert import BOOK_CRANES, BERTModel, MaskLM, NextSentencePred, get_tokens_and_segments, mlm_loss

SMALL = dict(num_hiddens=32, ffn_num_hiddens=64, num_heads=2, num_blocks=2, dropout=0.0)


def small_bert(data: WikiText2, **kwargs) -> zoo.BERT:
    torch.manual_seed(0)
    return zoo.BERT(vocab=list(data.vocab.idx_to_token), max_len=data.max_len, **{**SMALL, **kwargs})


def batch_of(data: WikiText2, n: int = 64) -> tuple[torch.Tensor, ...]:
    return data.train_set[torch.arange(n)]


# --- the data ------------------------------------------------------------------------------------------


def test_read_wiki_is_the_books_reading():
    text = " \n = Title = \n \n First one . Second , two @-@ way . Third <unk> . \n Just one line \n A . B \n"
    assert read_wiki(text) == [["first one", "second , two @-@ way", "third <unk> ."], ["a", "b"]]
    book = [line.strip().lower().split(" . ") for line in (text + "\n").splitlines(True) if len(line.split(" . ")) >= 2]
    assert read_wiki(text) == book  # the book's _read_wiki on the lines readlines() gives


def test_vocabulary_is_the_training_files_words_seen_five_times(tiny_wikitext):
    data = WikiText2()
    vocab = data.vocab  # known at construction: the file is at hand
    assert vocab.idx_to_token[:5] == ["<unk>", PAD, MASK, CLS, SEP]
    words = [
        w for p in read_wiki((tiny_wikitext / "wikitext-2/wiki.train.tokens").read_text()) for s in p for w in s.split()
    ]
    frequent = {w for w in set(words) if words.count(w) >= 5 and w != "<unk>"}
    assert set(vocab.idx_to_token[5:]) == frequent and "the" in frequent and "Valkyria" not in vocab.token_to_idx


def test_pairs_are_cls_a_sep_b_sep_with_segments_and_padding(tiny_wikitext):
    data = WikiText2(max_len=64)
    data.setup("fit")
    tokens, segments, valid_lens, positions, weights, labels, nsp = data.train_set.tensors
    vocab = data.vocab
    original = unmask(tokens, positions, weights, labels)
    assert tokens.shape == segments.shape == (len(nsp), 64) and positions.shape == (len(nsp), max_predictions(64))
    assert max_predictions(64) == 10 and int(valid_lens.max()) <= 64
    # each pair is <cls> A <sep> B <sep>; when is_next, B follows A in a paragraph of the file
    paragraphs = read_wiki((tiny_wikitext / "wikitext-2/wiki.train.tokens").read_text())
    known = lambda sentence: tuple(w if w in vocab.token_to_idx else "<unk>" for w in sentence.split())  # noqa: E731
    followers = {}
    for paragraph in paragraphs:
        for a, b in zip(paragraph, paragraph[1:]):
            followers.setdefault(known(a), set()).add(known(b))
    for row, seg, n, is_next in zip(original, segments, valid_lens.tolist(), nsp.tolist()):
        words = vocab.to_tokens(row[:n].tolist())
        first_sep = words.index(SEP)
        a, b = words[1:first_sep], words[first_sep + 1 : -1]
        expected_tokens, expected_segments = get_tokens_and_segments(a, b)
        assert words == expected_tokens and seg[:n].tolist() == expected_segments and not seg[n:].any()
        assert tuple(a) in followers or not is_next
        if is_next:
            assert tuple(b) in followers[tuple(a)]
    assert (tokens[torch.arange(64)[None, :] >= valid_lens[:, None]] == vocab[PAD]).all()


def test_next_sentence_pairs_are_balanced(tiny_wikitext):
    data = WikiText2()
    data.setup("fit")
    nsp = data.train_set.tensors[6]
    assert len(nsp) > 400 and 0.44 < nsp.float().mean() < 0.56


def test_masking_statistics_are_the_books(tiny_wikitext):
    data = WikiText2()
    data.setup("fit")
    tokens, segments, valid_lens, positions, weights, labels, _ = data.train_set.tensors
    vocab = data.vocab
    original = unmask(tokens, positions, weights, labels)
    candidates = candidate_mask(segments, valid_lens)
    special = torch.isin(original, torch.tensor([vocab[CLS], vocab[SEP], vocab[PAD]]))
    assert (candidates == ~special).all()  # every token but <cls>, <sep> and padding
    # per pair: max(1, round(0.15 * valid length)) predictions (the book's count, Python's round), in position order
    expected = [min(max(1, round(0.15 * n)), 10, int(c)) for n, c in zip(valid_lens.tolist(), candidates.sum(1))]
    chosen = weights > 0
    assert chosen.sum(1).tolist() == expected
    assert ((positions[:, 1:] > positions[:, :-1]) | ~chosen[:, 1:]).all()
    assert not special.gather(1, positions)[chosen].any()  # never <cls>, <sep> or padding
    assert (positions[~chosen] == 0).all() and (labels[~chosen] == 0).all()  # padded slots: position 0, label 0
    assert (labels[chosen] == original.gather(1, positions)[chosen]).all()
    fraction = chosen.sum() / (~special).sum()
    assert 0.14 < fraction < 0.19, fraction  # about 15% of the non-special tokens (the count includes the specials)
    put = tokens.gather(1, positions)[chosen]
    n = len(put)
    masked = (put == vocab[MASK]).sum() / n
    kept = (put == labels[chosen]).sum() / n
    assert n > 1500 and abs(masked - 0.8) < 0.03 and abs(kept - 0.1) < 0.03 and abs(1 - masked - kept - 0.1) < 0.03


def test_a_seed_makes_the_masks_reproducible(tiny_wikitext):
    first, again, other = WikiText2(seed=3), WikiText2(seed=3), WikiText2(seed=4)
    for data in (first, again, other):
        data.setup("fit")
    for a, b in zip(first.train_set.tensors, again.train_set.tensors):
        assert torch.equal(a, b)
    assert not torch.equal(first.train_set.tensors[0][:50], other.train_set.tensors[0][:50])


def test_every_epoch_masking_draws_fresh_masks_on_the_same_pairs(tiny_wikitext):
    data = WikiText2(masking="every_epoch")
    data.setup("fit")
    batch = batch_of(data, 200)

    class Fitting:
        training = True

    data.trainer = Fitting()
    torch.manual_seed(0)
    fresh = data.on_after_batch_transfer(batch, 0)
    assert not torch.equal(fresh[0], batch[0]) and not torch.equal(fresh[3], batch[3])
    torch.testing.assert_close(unmask(*[fresh[i] for i in (0, 3, 4, 5)]), unmask(*[batch[i] for i in (0, 3, 4, 5)]))
    for i in (1, 2, 6):
        assert torch.equal(fresh[i], batch[i])  # segments, valid lengths, NSP labels
    assert torch.equal(fresh[4], batch[4])  # the same number of predictions per pair
    Fitting.training = False  # validation batches keep their masks
    assert data.on_after_batch_transfer(batch, 0) is batch


def test_truncation_cuts_the_longer_sentence_first():
    def reference(len_a, len_b, budget):  # the original BERT's truncate_seq_pair
        while len_a + len_b > budget:
            if len_a > len_b:
                len_a -= 1
            else:
                len_b -= 1
        return len_a, len_b

    g = torch.Generator().manual_seed(0)
    len_a, len_b = torch.randint(0, 90, (500,), generator=g), torch.randint(0, 90, (500,), generator=g)
    for budget in (5, 20, 61):
        cut_a, cut_b = truncated_lengths(len_a, len_b, budget)
        assert list(zip(cut_a.tolist(), cut_b.tolist())) == [
            reference(a, b, budget) for a, b in zip(len_a.tolist(), len_b.tolist())
        ]


def test_long_pairs_are_skipped_as_the_book_does_or_truncated(tiny_wikitext):
    skip, cut = WikiText2(long_pairs="skip", max_len=32), WikiText2(long_pairs="truncate", max_len=32)
    skip.setup("fit")
    cut.setup("fit")
    assert len(cut.train_set) > len(skip.train_set)  # the 80-token sentence's pairs, and others over 32
    assert int(cut.train_set.tensors[2].max()) == 32 and int(skip.train_set.tensors[2].max()) <= 32


def test_the_missing_training_file_says_what_to_download_and_where(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "wikitext-2"
    folder.mkdir(parents=True)
    for split in ("valid", "test"):  # what ../shared/data holds
        (folder / f"wiki.{split}.tokens").write_text(wiki_text(20, 0))
    monkeypatch.setenv("D2L_ZOO_DATA", str(tmp_path / "data"))
    data = WikiText2(download=False)
    with pytest.raises(AttributeError, match="known after setup"):
        data.vocab  # noqa: B018
    with pytest.raises(DataError) as err:
        data.prepare_data()
    message = str(err.value)
    for part in ("wiki.train.tokens", "wikitext-2-v1.zip", "3c914d17d80b1459be871a5039ac23e752a53cbe",
                 "http://d2l-data.s3-accelerate.amazonaws.com/wikitext-2-v1.zip", str(folder.resolve()),
                 "--data.train_split valid trains on wiki.valid.tokens"):  # fmt: skip
        assert part in message
    stand_in = WikiText2(download=False, train_split="valid", val_split="test")
    stand_in.prepare_data()
    stand_in.setup("fit")
    assert len(stand_in.train_set) > 50 and len(stand_in.val_set) > 50


def test_the_archive_is_downloaded_hash_checked_and_unpacked(tmp_path, monkeypatch):
    source = write_wikitext(tmp_path / "hub" / "wikitext-2", (20, 5, 5))
    archive = tmp_path / "mirror" / "wikitext-2-v1.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(source.iterdir()):
            zf.write(path, f"wikitext-2/{path.name}")
    import hashlib

    digest = hashlib.sha1(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(
        WikiText2, "archive", RemoteFile(archive.name, "https://example.invalid/x.zip", f"sha1:{digest}")
    )
    data_dir = tmp_path / "data"
    data = WikiText2(data_dir=str(data_dir), mirror=str(archive.parent))
    data.prepare_data()
    assert (data_dir / "wikitext-2-v1.zip").is_file() and (data_dir / "wikitext-2" / "wiki.train.tokens").is_file()
    data.setup("fit")
    assert len(data.train_set) > 10
    (data_dir / "wikitext-2-v1.zip").write_bytes(b"not the archive")  # a corrupt archive is never passed over
    with pytest.raises(DataError, match="corrupt"):
        WikiText2(data_dir=str(data_dir), download=False).prepare_data()


def test_bad_data_settings_are_clear_errors():
    with pytest.raises(ValueError, match="train_split must be one of"):
        WikiText2(train_split="dev")
    with pytest.raises(ValueError, match="validate on another file"):
        WikiText2(train_split="valid", val_split="valid")
    with pytest.raises(ValueError, match="max_len must be at least 8"):
        WikiText2(max_len=4)


# --- the network ---------------------------------------------------------------------------------------


def test_shapes_through_the_encoder_and_heads_are_the_books():
    torch.manual_seed(0)
    vocab_size, num_hiddens = 10000, 768  # the book's toy sizes: FFN 1024, 4 heads, 2 blocks
    net = BERTModel(vocab_size, num_hiddens, 1024, 4, 2, 0.2, max_len=1000, impl="scratch")
    tokens = torch.randint(0, vocab_size, (2, 8))
    segments = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]])
    encoded_X = net.encoder(tokens, segments, None)
    assert encoded_X.shape == (2, 8, 768)
    mlm_Y_hat = net.mlm(encoded_X, torch.tensor([[1, 5, 2], [6, 1, 5]]))
    assert mlm_Y_hat.shape == (2, 3, 10000)
    assert NextSentencePred(num_hiddens)(encoded_X[:, 0]).shape == (2, 2)
    _, mlm, nsp = net(tokens, segments, torch.tensor([8, 5]), torch.tensor([[1, 5, 2], [6, 1, 5]]))
    assert mlm.shape == (2, 3, 10000) and nsp.shape == (2, 2)
    mask_lm = MaskLM(10, 4, 4)  # the MLM head reads the encodings at the given positions
    X = torch.randn(2, 6, 4)
    torch.testing.assert_close(mask_lm(X, torch.tensor([[5, 0]]).expand(2, 2))[1, 0], mask_lm.mlp(X[1, 5]))
    with pytest.raises(ValueError, match="positions for 1000 tokens"):
        net.encoder(torch.zeros(1, 1001, dtype=torch.long), torch.zeros(1, 1001, dtype=torch.long), None)


def test_the_mlm_loss_ignores_padded_prediction_slots():
    torch.manual_seed(0)
    logits, labels = torch.randn(3, 4, 7), torch.randint(0, 7, (3, 4))
    weights = torch.tensor([[1.0, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]])
    loss = mlm_loss(logits, labels, weights)
    chosen = weights > 0
    torch.testing.assert_close(loss, F.cross_entropy(logits[chosen], labels[chosen]))
    other_logits, other_labels = logits.clone(), labels.clone()
    other_logits[~chosen] = 100 * torch.randn(int((~chosen).sum()), 7)
    other_labels[~chosen] = 3
    torch.testing.assert_close(mlm_loss(other_logits, other_labels, weights), loss)
    assert F.cross_entropy(other_logits.reshape(-1, 7), other_labels.reshape(-1)) > loss + 1  # the book's reduction


def test_scratch_and_concise_bert_compute_the_same_function(tiny_wikitext):
    data = WikiText2()
    data.setup("fit")
    scratch, concise = small_bert(data).eval(), small_bert(data, impl="concise").eval()
    copy_transformer(scratch, concise)
    batch = batch_of(data, 16)
    for ours, theirs in zip(scratch(*batch[:4]), concise(*batch[:4])):
        torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-5)


def test_pretraining_loss_falls_on_a_tiny_corpus(tiny_wikitext):
    data = WikiText2(batch_size=64)
    data.setup("fit")
    model = small_bert(data)
    optimizer = model.configure_optimizers()
    batch = batch_of(data, 64)
    losses = []
    for _ in range(40):
        out = model.losses(batch)
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        losses.append((out["mlm_loss"].item(), out["nsp_loss"].item()))
    assert losses[-1][0] < 0.6 * losses[0][0] and losses[-1][1] < losses[0][1], losses[::8]


def test_bad_network_settings_are_clear_errors():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        zoo.BERT(num_hiddens=30, num_heads=4)
    with pytest.raises(ValueError, match="vocab must start with"):
        zoo.BERT(vocab=["<unk>", "a", "b", "c", "d", "e"], max_len=16)
    with pytest.raises(ValueError, match="impl must be one of"):
        zoo.BERT(impl="fast")


def test_long_inputs_are_cut_to_max_len_by_a_clear_rule():
    model = zoo.get_model("bert", max_len=16, **SMALL)
    tokens, segments, cut = model.inputs(["w"] * 30)
    assert len(tokens) == 16 and tokens[-1] == SEP and cut and segments == [0] * 16
    tokens, segments, cut = model.inputs(["a"] * 30, ["b"] * 4)  # the longer sentence gives up tokens first
    assert tokens == get_tokens_and_segments(["a"] * 9, ["b"] * 4)[0] and cut
    tokens, _, cut = model.inputs(["a"] * 3, ["b"] * 4)
    assert len(tokens) == 10 and not cut
    assert model.encode(["w"] * 100).shape == (1, 16, 32)


# --- training and predicting through the command line -------------------------------------------------


def test_a_checkpoint_alone_gives_the_same_encodings_and_predicts(tiny_wikitext, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    quick = ["--trainer.max_steps", "3", "--data.batch_size", "32", "--data.val_split", "valid"]
    quick += ["--model.num_hiddens", "32", "--model.ffn_num_hiddens", "64", "--trainer.enable_model_summary", "false"]
    cli = run(["fit", "--config", config("bert"), *quick])
    out = capsys.readouterr().out
    assert "a crane is flying: encoding (1, 6, 32), <cls> (1, 32) [" in out and "a crane driver came <sep> he" in out
    assert "sentence pairs/s" in out and "(step 3/3)" in out
    ckpt = str(tmp_path / "lightning_logs/version_0/checkpoints/last.ckpt")
    metrics = cli.trainer.callback_metrics
    for name in ("train/mlm_loss", "train/nsp_loss", "train/nsp_acc", "train/loss", "train/mlm_loss_all_slots"):
        assert name in metrics
    # the book's figures, the mean over the fit's steps (here all in the first epoch, so its epoch means)
    means = cli.model.fit_means()
    assert means["steps"] == 3
    for name in ("mlm_loss", "mlm_loss_all_slots", "nsp_loss"):
        assert means[name] == pytest.approx(float(metrics[f"train/{name}"]), rel=1e-5)
    assert f"mean over the fit's 3 steps: MLM loss {means['mlm_loss']:.3f}" in out
    trained = cli.model.eval()
    loaded = zoo.BERT.load_from_checkpoint(ckpt).eval()  # nothing else: the vocabulary is in the checkpoint
    assert loaded.vocab == trained.vocab and loaded.hparams.max_len == 64
    for tokens_a, tokens_b in BOOK_CRANES:
        torch.testing.assert_close(loaded.encode(tokens_a, tokens_b), trained.encode(tokens_a, tokens_b))
    long = " ".join(["the"] * 80)
    monkeypatch.delenv("D2L_ZOO_DATA")  # predict reads no data
    run(
        [
            "predict",
            "--ckpt_path",
            ckpt,
            "--data.sentences",
            "a crane is flying",
            "the <mask> of the city <sep> he was",
            long,
        ]
    )
    out = capsys.readouterr().out
    written = (tmp_path / "lightning_logs/version_0/predict/bert_encodings.txt").read_text()
    assert written in out and "encoding: (1, 6, 32)" in written and "(cut to max_len)" in written
    assert "encoding: (1, 64, 32)" in written and "P(second sentence follows the first) =" in written
    masked = [line for line in written.splitlines() if line.startswith("  <mask> at 2:")]
    assert len(masked) == 1 and len(masked[0].split(",")) == 5  # the top 5 words
    saved = torch.load(tmp_path / "lightning_logs/version_0/predict/bert_encodings.pt", weights_only=False)
    torch.testing.assert_close(saved[0]["encoding"], trained.encode(["a", "crane", "is", "flying"])[0])
