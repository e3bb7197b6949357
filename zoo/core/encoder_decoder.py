"""The base of every encoder-decoder (book sections "The Encoder-Decoder Architecture", "Sequence-to-Sequence
Learning for Machine Translation" and "Beam Search"): teacher forcing, the masked softmax cross-entropy,
greedy decoding and beam search, BLEU, and translations with their attention heatmaps.

A concrete network defines :meth:`EncoderDecoder.build_network` (an :class:`Encoder` and a :class:`Decoder`
once the vocabulary sizes are known) and ends its ``__init__`` with ``self.build_if_ready()``. The decoder
interface is the book's (``init_state(enc_outputs, enc_valid_len)``, ``forward(X, state) -> (logits,
state)``) plus ``reorder_state`` (beam search keeps the states of the hypotheses it continues), so one
greedy decoder and one beam search serve recurrent decoders and the Transformer's cache alike.

The vocabularies are hyperparameters (token lists, ``src_vocab`` and ``tgt_vocab``), so
``load_from_checkpoint`` and ``cli.py predict --ckpt_path X`` need no data; on the command line they come from
the data module (``zoo.core.links``). Gradient clipping is the Trainer's (``gradient_clip_val: 1``).

Logged per epoch: ``train/loss`` (cross-entropy per target token, padding excluded: the 1.0 edition's figure;
0.17's ``train_seq2seq`` prints this divided by ``num_steps``, as its loss averages over every position, pads
included), ``val/loss``, ``val/bleu`` and ``test/bleu`` (corpus BLEU-4 of greedy translations, torchmetrics'
``BLEUScore``), ``val/bleu2`` and ``test/bleu2`` (the same up to bigrams, the order of the book's per-sentence
BLEU: on the book's 600 pairs no held-out 4-gram comes out right, so BLEU-4 is 0).
"""

from __future__ import annotations

import collections
import csv
import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.text import BLEUScore

from datamodules.text.translation import BOOK_REFERENCES, BOS, EOS, OOV, PAD, RESERVED_TOKENS, preprocess_nmt
from datamodules.text.translation import tokenize_nmt as tokenize
from datamodules.vocab import UNK, Vocab

from .base import ZooModule
from .checks import check_choice, check_dropout, check_positive
from .fused_gru import make_gru
from .init import INIT_SCHEMES, init_weights

OOV_TOKEN = "<oov>"  # how a reference word outside the target vocabulary reads in BLEU: it matches nothing


# --- masks and the masked loss (section "Sequence-to-Sequence Learning") ------------------------------------


def sequence_mask(X: torch.Tensor, valid_len: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """The book's ``sequence_mask``: entries of X (B, T, ...) at positions >= `valid_len` (B,) set to `value`
    (a new tensor; the book's writes in place)."""
    mask = torch.arange(X.shape[1], device=X.device)[None, :] < valid_len[:, None]
    return X.masked_fill(~mask.reshape(mask.shape + (1,) * (X.dim() - 2)), value)


def masked_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, valid_len: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Softmax cross-entropy of logits (B, T, V) against labels (B, T), padding excluded (book:
    ``MaskedSoftmaxCELoss``). ``mean``: per valid token; ``none``: the (B, T) losses, 0 at padded positions
    (the book's 0.17 loss is their mean over T)."""
    losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none")
    losses = sequence_mask(losses.reshape(labels.shape), valid_len)
    if reduction == "none":
        return losses
    return losses.sum() / valid_len.sum().clamp(min=1)


# --- BLEU (section "Sequence-to-Sequence Learning": the book's, for one sentence) ---------------------------


def bleu(pred_seq: str, label_seq: str, k: int) -> float:
    """The book's BLEU of one prediction against one reference: the brevity penalty exp(min(0, 1 - len_label /
    len_pred)) times the clipped n-gram precisions p_n, n = 1..k, each raised to 1/2^n. As the 1.0 edition, n
    stops at the prediction's length; an empty prediction scores 0."""
    pred_tokens, label_tokens = pred_seq.split(), label_seq.split()
    len_pred, len_label = len(pred_tokens), len(label_tokens)
    if len_pred == 0:
        return 0.0
    score = math.exp(min(0, 1 - len_label / len_pred))
    for n in range(1, min(k, len_pred) + 1):
        num_matches, label_subs = 0, collections.defaultdict(int)
        for i in range(len_label - n + 1):
            label_subs[" ".join(label_tokens[i : i + n])] += 1
        for i in range(len_pred - n + 1):
            if label_subs[" ".join(pred_tokens[i : i + n])] > 0:
                num_matches += 1
                label_subs[" ".join(pred_tokens[i : i + n])] -= 1
        score *= math.pow(num_matches / (len_pred - n + 1), math.pow(0.5, n))
    return score


# --- the interface (section "The Encoder-Decoder Architecture") ---------------------------------------------


class Encoder(nn.Module):
    """The book's encoder interface: source tokens (B, T) and their valid lengths -> the encoder's outputs."""

    def forward(self, X: torch.Tensor, valid_len: torch.Tensor | None = None):
        raise NotImplementedError


class Decoder(nn.Module):
    """The book's decoder interface, plus what beam search needs.

    ``init_state`` turns the encoder's outputs into the decoder's first state; ``forward`` maps target tokens
    (B, T) and a state to logits (B, T, V) and the next state, so it decodes a whole teacher-forced sequence or
    one token at a time; ``reorder_state`` keeps (and repeats) the states of the batch rows at `index`.
    Attention decoders keep their last weights in ``attention_weights``.
    """

    attention_weights = None

    def init_state(self, enc_outputs, enc_valid_len: torch.Tensor | None):
        raise NotImplementedError

    def forward(self, X: torch.Tensor, state):
        raise NotImplementedError

    def reorder_state(self, state, index: torch.Tensor):
        raise NotImplementedError


def reorder(state, index: torch.Tensor, dim: int = 0):
    """Rows `index` of every tensor in a (nested tuple or list of) state tensor(s), along `dim`."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(reorder(s, index, dim) for s in state)
    return state.index_select(dim, index)


class Seq2SeqEncoder(Encoder):
    """The book's RNN encoder for sequence-to-sequence learning: embedding, then a multilayer GRU.

    Returns the GRU's outputs (T, B, H) and final state (L, B, H). Shared by the seq2seq and Bahdanau networks.
    `fused`: the GRU is :class:`~zoo.core.fused_gru.FusedGRU` (the CPU speed switch).
    """

    def __init__(
        self,
        vocab_size: int,
        embed_size: int,
        num_hiddens: int,
        num_layers: int,
        dropout: float = 0.0,
        fused: bool = False,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = make_gru(embed_size, num_hiddens, num_layers, dropout=dropout, fused=fused)

    def forward(self, X: torch.Tensor, valid_len: torch.Tensor | None = None):
        return self.rnn(self.embedding(X.T))  # time steps first: (T, B, embed) -> outputs, state


# --- the base LightningModule ----------------------------------------------------------------------------


class EncoderDecoder(ZooModule):
    """Sequence-to-sequence learning with teacher forcing, masked loss, greedy and beam decoding, and BLEU.

    Args:
        src_vocab: the source vocabulary's tokens (index order); None: the data module's.
        tgt_vocab: the target vocabulary's tokens (index order); None: the data module's.
        num_steps: longest translation (and source length) when decoding; None: the data module's.
        beam_size: hypotheses beam search keeps when translating; 1 is greedy decoding (the book's
            ``predict_seq2seq``). Validation BLEU always decodes greedily.
        length_penalty: beam search picks the hypothesis with the highest log P / L^length_penalty (the book:
            0.75), L its length with ``<eos>``.
        bleu_k: the n-gram order of the book's per-sentence BLEU (the book: 2).
        init: weight initialisation (:mod:`zoo.core.init`): ``xavier`` on the linear and GRU weights, as the
            book's ``train_seq2seq``.
        lr, optimizer, weight_decay, momentum: see :class:`~zoo.core.base.ZooModule` (the book: Adam, 0.005).
    """

    throughput_unit = "tokens"
    fused_optimizer = True  # these small networks' steps are bound by per-parameter overhead, on CPU and GPU

    def __init__(
        self,
        src_vocab: list | None = None,  # of str; typed `list[str]`, jsonargparse checks it in quadratic time
        tgt_vocab: list | None = None,
        num_steps: int | None = None,
        beam_size: int = 1,
        length_penalty: float = 0.75,
        bleu_k: int = 2,
        init: str = "xavier",
        lr: float = 0.005,
        optimizer: str = "adam",
        **kwargs,
    ) -> None:
        super().__init__(lr=lr, optimizer=optimizer, **kwargs)
        check_positive(beam_size=beam_size, bleu_k=bleu_k)
        if num_steps is not None and num_steps < 2:
            raise ValueError(f"num_steps must be at least 2, got {num_steps}")
        if length_penalty < 0:
            raise ValueError(f"length_penalty must not be negative, got {length_penalty}")
        check_choice("init", init, INIT_SCHEMES)
        self.src_vocab: Vocab | None = None
        self.tgt_vocab: Vocab | None = None
        self.encoder: Encoder | None = None
        self.decoder: Decoder | None = None
        self.val_bleu, self.test_bleu = BLEUScore(n_gram=4), BLEUScore(n_gram=4)
        self.val_bleu2, self.test_bleu2 = BLEUScore(n_gram=2), BLEUScore(n_gram=2)

    # --- what a concrete network defines -------------------------------------------------------------

    def build_network(self, src_vocab_size: int, tgt_vocab_size: int) -> tuple[Encoder, Decoder]:
        raise NotImplementedError

    def attention_maps(self) -> dict[str, tuple[torch.Tensor, str, str]]:
        """After a forward pass on one sentence: each attention's weights as (rows, columns, queries, keys), the
        grid of heatmaps the book's ``show_heatmaps`` draws, with what its queries and its keys are: ``source``
        (the source tokens), ``output`` (one decoding step each, named by the token it produced) or ``input``
        (the decoder's inputs, ``<bos>`` first). None for networks without attention."""
        return {}

    # --- the vocabularies ------------------------------------------------------------------------------

    def build_if_ready(self) -> None:
        if self.hparams.src_vocab and self.hparams.tgt_vocab:
            self.build()

    def build(self) -> None:
        """Both vocabularies are known (given, or the data module's): make the layers for their sizes."""
        self.src_vocab = Vocab.from_tokens(self.hparams.src_vocab)
        self.tgt_vocab = Vocab.from_tokens(self.hparams.tgt_vocab)
        for name, vocab in (("src_vocab", self.src_vocab), ("tgt_vocab", self.tgt_vocab)):
            if vocab.idx_to_token[: 1 + len(RESERVED_TOKENS)] != [UNK, *RESERVED_TOKENS]:
                raise ValueError(f"{name} must start with {[UNK, *RESERVED_TOKENS]}")
        self.pad, self.bos, self.eos = (self.tgt_vocab[t] for t in (PAD, BOS, EOS))
        self.encoder, self.decoder = self.build_network(len(self.src_vocab), len(self.tgt_vocab))
        init_weights(self, self.hparams.init)

    def configure_model(self) -> None:
        super().configure_model()
        if self.src_vocab is None:
            raise ValueError(f"{type(self).__name__} needs vocabularies: give them or train on a translation data set")
        if self.hparams.num_steps is None:
            raise ValueError(f"{type(self).__name__} needs num_steps: give it or train on a translation data set")

    # --- training ------------------------------------------------------------------------------------

    def forward(self, enc_X: torch.Tensor, dec_X: torch.Tensor, enc_valid_len: torch.Tensor | None = None):
        """The book's ``EncoderDecoder.forward``: (B, T) source and decoder input -> logits (B, T', V), state."""
        state = self.decoder.init_state(self.encoder(enc_X, enc_valid_len), enc_valid_len)
        return self.decoder(dec_X, state)

    def teacher_forcing(self, Y: torch.Tensor) -> torch.Tensor:
        """The decoder's input for targets Y (B, T): ``<bos>`` then Y shifted right by one."""
        return torch.cat([Y.new_full((Y.shape[0], 1), self.bos), Y[:, :-1]], dim=1)

    def _step(self, batch, stage: str) -> torch.Tensor:
        X, X_valid_len, Y, Y_valid_len = batch[:4]
        logits, _ = self(X, self.teacher_forcing(Y), X_valid_len)
        loss = masked_cross_entropy(logits, Y, Y_valid_len)
        # the epoch's loss per token: batches weighted by their token counts (a tensor, so no device sync)
        self.log_mean(f"{stage}/loss", loss, Y_valid_len.sum())
        if stage != "train":
            translations = self.texts(self.greedy_decode(X, X_valid_len)[0])
            references = [[reference] for reference in self.references(batch[4])]
            for name in ("bleu", "bleu2"):
                corpus_bleu = getattr(self, f"{stage}_{name}")
                self.log_epoch(f"{stage}/{name}", corpus_bleu, translations, references, prog_bar=name == "bleu")
        return loss

    def count_items(self, batch) -> torch.Tensor:
        """What the throughput counts: target tokens that are not padding, as the book's ``train_seq2seq``."""
        return batch[3].sum()

    # --- decoding ------------------------------------------------------------------------------------

    def texts(self, outputs: list[list[int]]) -> list[str]:
        """Target token indices -> space-separated text."""
        return [" ".join(self.tgt_vocab.to_tokens(tokens)) for tokens in outputs]

    def references(self, R: torch.Tensor) -> list[str]:
        """Reference rows (words outside the vocabulary are -1, padding ``<pad>``) -> text for BLEU."""
        words = [*self.tgt_vocab.idx_to_token, OOV_TOKEN]  # index -1: the OOV placeholder
        return [" ".join(words[i] for i in row if i != self.pad) for row in R.tolist()]

    def _score(self, log_prob: float, length: int) -> float:
        """The book's beam-search score: log P / L^alpha."""
        return log_prob / max(length, 1) ** self.hparams.length_penalty

    @torch.no_grad()
    def greedy_decode(
        self, X: torch.Tensor, X_valid_len: torch.Tensor, max_len: int | None = None
    ) -> tuple[list[list[int]], list[float]]:
        """The most likely token at every step, for a whole batch (the book's ``predict_seq2seq``): each row's
        tokens up to ``<eos>`` (not included) and its beam-search score (log P / L^alpha, ``<eos>`` counted)."""
        max_len = max_len or self.hparams.num_steps
        state = self.decoder.init_state(self.encoder(X, X_valid_len), X_valid_len)
        B = X.shape[0]
        dec_X = X.new_full((B, 1), self.bos)
        done = torch.zeros(B, dtype=torch.bool, device=X.device)
        log_prob = torch.zeros(B, device=X.device)
        lengths = torch.zeros(B, dtype=torch.long, device=X.device)
        steps = []
        for _ in range(max_len):
            logits, state = self.decoder(dec_X, state)
            log_p = F.log_softmax(logits[:, -1].float(), dim=-1)
            token = log_p.argmax(dim=-1)
            log_prob += torch.where(done, 0.0, log_p.gather(1, token[:, None])[:, 0])
            lengths += (~done).long()
            steps.append(token)
            done = done | (token == self.eos)
            if bool(done.all()):
                break
            dec_X = token[:, None]
        rows = torch.stack(steps, dim=1).tolist()
        outputs = [row[: row.index(self.eos)] if self.eos in row else row for row in rows]
        scores = [self._score(lp, n) for lp, n in zip(log_prob.tolist(), lengths.tolist())]
        return outputs, scores

    @torch.no_grad()
    def beam_search(
        self, X: torch.Tensor, X_valid_len: torch.Tensor, beam_size: int, max_len: int | None = None
    ) -> tuple[list[int], float]:
        """Beam search for one source sentence X (1, T) (section "Beam Search").

        Every step extends each live hypothesis by every token and keeps the `beam_size` most likely of all
        (summed log-probabilities); one that ends in ``<eos>`` is finished and takes its place in the beam, so
        fewer stay live. The answer is the finished or, at `max_len`, live hypothesis with the highest
        log P / L^alpha. With ``beam_size=1`` this is greedy decoding. Returns its tokens (without ``<eos>``)
        and its score.
        """
        max_len = max_len or self.hparams.num_steps
        state = self.decoder.init_state(self.encoder(X, X_valid_len), X_valid_len)
        live: list[tuple[list[int], float]] = [([], 0.0)]
        finished: list[tuple[list[int], float]] = []
        dec_X = X.new_full((1, 1), self.bos)
        for _ in range(max_len):
            logits, state = self.decoder(dec_X, state)
            log_p = F.log_softmax(logits[:, -1].float(), dim=-1)
            totals = log_p + torch.tensor([lp for _, lp in live], device=log_p.device)[:, None]
            vocab_size = totals.shape[1]
            best = totals.flatten().topk(min(beam_size - len(finished), totals.numel()))
            kept, rows = [], []
            for total, flat in zip(best.values.tolist(), best.indices.tolist()):
                row, token = divmod(flat, vocab_size)
                hypothesis = (live[row][0] + [token], total)
                if token == self.eos:
                    finished.append(hypothesis)
                else:
                    kept.append(hypothesis)
                    rows.append(row)
            if not kept:
                break
            live = kept
            index = torch.tensor(rows, device=X.device)
            state = self.decoder.reorder_state(state, index)
            dec_X = torch.tensor([[tokens[-1]] for tokens, _ in live], device=X.device)
        else:
            finished += live  # out of steps: the live hypotheses are candidates too
        tokens, log_prob = max(finished or live, key=lambda h: self._score(h[1], len(h[0])))
        return [t for t in tokens if t != self.eos], self._score(log_prob, len(tokens))

    def encode_source(self, sentence: str) -> tuple[torch.Tensor, torch.Tensor]:
        """A sentence as the book's ``predict_seq2seq`` feeds it: preprocessed, its words' indices (unknown words
        are ``<unk>``) and ``<eos>``, cut or padded to ``num_steps``; (1, T) indices and (1,) valid length."""
        T = self.hparams.num_steps
        tokens = self.src_vocab[tokenize(preprocess_nmt(sentence))][: T - 1] + [self.src_vocab[EOS]]
        valid_len = len(tokens)
        tokens += [self.src_vocab[PAD]] * (T - valid_len)
        return torch.tensor([tokens], device=self.device), torch.tensor([valid_len], device=self.device)

    @torch.no_grad()
    def translate(self, sentence: str, beam_size: int | None = None, with_attention: bool = False) -> dict:
        """One sentence's translation (greedy or beam search), its score, and (`with_attention`) the attention
        heatmaps of the network translating it, as :meth:`attention_maps` gives them, with their token labels."""
        if self.src_vocab is None:
            raise ValueError("the model has no vocabularies yet: train it or load it from a checkpoint")
        was_training = self.training
        self.eval()
        X, X_valid_len = self.encode_source(sentence)
        beam_size = beam_size or self.hparams.beam_size
        if beam_size == 1:
            outputs, scores = self.greedy_decode(X, X_valid_len)
            tokens, score = outputs[0], scores[0]
        else:
            tokens, score = self.beam_search(X, X_valid_len, beam_size)
        result = {"source": sentence, "translation": self.texts([tokens])[0], "score": score, "attention": {}}
        if with_attention:
            # one teacher-forced pass over the translation gives the weights every decoding step used
            dec_X = torch.tensor([[self.bos, *tokens]], device=self.device)[:, : self.hparams.num_steps]
            self(X, dec_X, X_valid_len)
            labels = {
                "source": self.src_vocab.to_tokens(X[0, : int(X_valid_len)].tolist()),
                "output": [*self.tgt_vocab.to_tokens(tokens), EOS][: dec_X.shape[1]],
                "input": self.tgt_vocab.to_tokens(dec_X[0].tolist()),
            }
            for name, (weights, queries, keys) in self.attention_maps().items():
                q, k = labels[queries], labels[keys]
                result["attention"][name] = (weights[..., : len(q), : len(k)].float().cpu(), q, k)
        self.train(was_training)
        return result

    # --- prediction ----------------------------------------------------------------------------------

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        """Translate the data module's sentences; BLEU (the book's, k = `bleu_k`) where a reference is known."""
        results = []
        for source, reference in zip(batch["sources"], batch["references"]):
            result = self.translate(source, with_attention=True)
            result["reference"] = reference
            result["bleu"] = bleu(result["translation"], reference, self.hparams.bleu_k) if reference else None
            results.append(result)
        return {"translations": results}

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """``translations.csv`` (source, translation, reference, BLEU, score), printed as the book prints them,
        and for attention networks ``attention_<n>_<kind>.png`` per sentence (the book's heatmaps)."""
        from .plotting import save_heatmaps

        results = [r for batch in outputs for r in batch["translations"]]
        path = out_dir / "translations.csv"
        paths = [path]
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["source", "translation", "reference", "bleu", "score"])
            for r in results:
                score_of = "" if r["bleu"] is None else f"{r['bleu']:.3f}"
                writer.writerow([r["source"], r["translation"], r["reference"] or "", score_of, f"{r['score']:.4f}"])
        for n, r in enumerate(results, 1):
            line = f"{r['source']} => {r['translation']}"
            print(line + (f", bleu {r['bleu']:.3f}" if r["bleu"] is not None else ""))
            for name, (weights, queries, keys) in r["attention"].items():
                slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
                title = f"{name}: {r['source']} => {r['translation']}"
                paths.append(save_heatmaps(weights, out_dir / f"attention_{n}_{slug}.png", keys, queries, title))
        return paths

    def on_fit_end(self) -> None:
        """The book's four sentences, translated, with their BLEU (as the book prints after training)."""
        for source, reference in BOOK_REFERENCES.items():
            translation = self.translate(source)["translation"]
            self.print(f"{source} => {translation}, bleu {bleu(translation, reference, self.hparams.bleu_k):.3f}")

    # --- checkpoints -----------------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        if self.src_vocab is None:
            raise ValueError("cannot save an encoder-decoder before it has its vocabularies")


class RNNEncoderDecoder(EncoderDecoder):
    """A GRU encoder (:class:`Seq2SeqEncoder`) and a GRU decoder of the subclass's :attr:`decoder_class`: the
    seq2seq network and Bahdanau's.

    Args:
        embed_size: token embedding size, source and target.
        num_hiddens: GRU hidden units per layer.
        num_layers: GRU layers in the encoder and in the decoder.
        dropout: dropout between GRU layers.
        fused: the GRUs are :class:`~zoo.core.fused_gru.FusedGRU`, ``nn.GRU`` with its CPU path as one autograd
            function a layer (the same parameters, checkpoints and results; ``nn.GRU`` itself on a GPU).
        (the rest: see :class:`EncoderDecoder`)
    """

    # built as decoder_class(tgt_vocab_size, embed_size, num_hiddens, num_layers, dropout, fused=fused)
    decoder_class: type[Decoder]

    def __init__(
        self,
        embed_size: int = 32,
        num_hiddens: int = 32,
        num_layers: int = 2,
        dropout: float = 0.1,
        fused: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive(embed_size=embed_size, num_hiddens=num_hiddens, num_layers=num_layers)
        check_dropout(dropout)
        self.build_if_ready()

    def build_network(self, src_vocab_size: int, tgt_vocab_size: int):
        hp = self.hparams
        sizes, fused = (hp.embed_size, hp.num_hiddens, hp.num_layers, hp.dropout), hp.get("fused", False)
        encoder = Seq2SeqEncoder(src_vocab_size, *sizes, fused=fused)
        decoder = self.decoder_class(tgt_vocab_size, *sizes, fused=fused)
        return encoder, decoder


def recipe_vocab(size: int) -> list[str]:
    """Placeholder tokens for a vocabulary of `size` (the reserved ones first): ``get_model`` builds a translation
    network at its recipe's vocabulary sizes without the data (the data gives the real tokens)."""
    reserved = [UNK, *RESERVED_TOKENS]
    return reserved + [f"token{i}" for i in range(len(reserved), size)]


# The registry's view of the book's recipe (600 pairs, num_steps 10: English 184 tokens, French 201), so
# get_model builds a translation network of the recipe's size without the data.
RECIPE_FACTS = {"src_vocab": recipe_vocab(184), "tgt_vocab": recipe_vocab(201), "num_steps": 10}
TRANSLATION_ENTRY = {"data": "Translation", "input_shape": (10,), "input_dtype": "long"}


__all__ = [
    "BOOK_REFERENCES",
    "OOV",
    "RECIPE_FACTS",
    "TRANSLATION_ENTRY",
    "Decoder",
    "Encoder",
    "EncoderDecoder",
    "Seq2SeqEncoder",
    "bleu",
    "masked_cross_entropy",
    "recipe_vocab",
    "reorder",
    "sequence_mask",
]
