"""BERT (book sections "Bidirectional Encoder Representations from Transformers (BERT)" and "Pretraining BERT").

The input is ``<cls> A <sep>`` or ``<cls> A <sep> B <sep>`` (:func:`get_tokens_and_segments`); BERT's encoder adds
token, segment (0 for A, 1 for B) and learned positional embeddings, then runs Transformer encoder blocks (the
attention chapter's :class:`~zoo.attention.transformer.TransformerEncoderBlock`, with biases in the attention's
projections as the book's BERT has them). Two heads pretrain it: the masked language model (an MLP on the
encodings at the prediction positions, to the vocabulary) and next-sentence prediction (a tanh layer on the
``<cls>`` encoding, then two classes: 1 "B follows A", 0 "B is a random sentence"). The pretraining loss is the
sum of the two cross-entropies; the book's small configuration (2 blocks, width 128, FFN 256, 2 heads, dropout
0.2) trains with Adam at lr 0.01.

Logged per epoch: ``train/mlm_loss`` (cross-entropy per prediction, padded prediction slots excluded: they carry
weight 0), ``train/nsp_loss``, ``train/loss`` (their sum) and ``train/nsp_acc``, each the mean of the epoch's
per-step values as the book's ``train_bert`` averages its steps; ``val/...`` and ``test/...`` weigh each batch by
its predictions (MLM) or pairs (NSP). ``train/mlm_loss_all_slots`` is what the book's code prints as its MLM
loss: its ``nn.CrossEntropyLoss()`` takes the mean before the weights apply, so every one of the
``round(0.15 * max_len)`` slots counts, padded ones too (position 0, ``<cls>``, label 0, ``<unk>``). The book
prints the mean over all its steps, not an epoch's: the end of ``fit`` prints those (:meth:`BERT.fit_means`).

Differences from the book's code: the model trains on the MLM loss without the padded slots (they hold no word to
predict, and the weights are there to leave them out), where both editions' PyTorch code, by the reduction above,
trains on the all-slots figure; 0.17 adds ``pos_embedding.data`` (its positional embeddings are never trained),
and its ``MaskLM``/``NextSentencePred`` take their input sizes as arguments (the same sizes here). ``impl``: the
multi-head attention of :mod:`zoo.attention.multihead`, the book's (``scratch``) or ``nn.MultiheadAttention``
(``concise``).

``predict`` gives the BERT representation of each of the data module's sentences (the book's
``get_bert_encoding``; two sentences of a pair joined by `` <sep> ``), the probability that a pair's second
sentence follows the first, and the `top_k` words the masked language model puts at each ``<mask>``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from datamodules.text.wikitext import CLS, MASK, RESERVED_TOKENS, SEP, truncated_lengths
from datamodules.vocab import UNK, Vocab

from ..attention.transformer import TransformerEncoderBlock
from ..core.base import ZooModule
from ..core.checks import check_choice, check_dropout, check_impl, check_positive
from ..core.init import INIT_SCHEMES, init_weights
from ..core.registry import Book, register_model

# The book's two contexts of "crane" (a bird, a machine): ``get_bert_encoding`` after pretraining
BOOK_CRANES = ((["a", "crane", "is", "flying"], None), (["a", "crane", "driver", "came"], ["he", "just", "left"]))


# --- the input representation and the encoder (section "BERT") -------------------------------------------------


def get_tokens_and_segments(tokens_a: list[str], tokens_b: list[str] | None = None) -> tuple[list[str], list[int]]:
    """The book's: ``<cls> A <sep>`` (segment 0) and, for a pair, ``B <sep>`` (segment 1)."""
    tokens = [CLS, *tokens_a, SEP]
    segments = [0] * (len(tokens_a) + 2)
    if tokens_b is not None:
        tokens += [*tokens_b, SEP]
        segments += [1] * (len(tokens_b) + 1)
    return tokens, segments


class BERTEncoder(nn.Module):
    """Token + segment + learned positional embeddings, then `num_blocks` Transformer encoder blocks."""

    def __init__(self, vocab_size: int, num_hiddens: int, ffn_num_hiddens: int, num_heads: int, num_blocks: int,
                 dropout: float, max_len: int, impl: str) -> None:  # fmt: skip
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, num_hiddens)
        self.segment_embedding = nn.Embedding(2, num_hiddens)
        self.blocks = nn.ModuleList(
            TransformerEncoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, impl, use_bias=True)
            for _ in range(num_blocks)
        )
        self.pos_embedding = nn.Parameter(torch.randn(1, max_len, num_hiddens))  # learned, one row per position

    def forward(self, tokens: torch.Tensor, segments: torch.Tensor, valid_lens: torch.Tensor | None) -> torch.Tensor:
        """(B, T) tokens and segment ids, (B,) valid lengths (None: no padding) -> (B, T, num_hiddens)."""
        if tokens.shape[1] > self.pos_embedding.shape[1]:
            raise ValueError(f"BERT has positions for {self.pos_embedding.shape[1]} tokens, got {tokens.shape[1]}")
        X = self.token_embedding(tokens) + self.segment_embedding(segments)
        X = X + self.pos_embedding[:, : X.shape[1], :]
        for block in self.blocks:
            X = block(X, valid_lens)
        return X


class MaskLM(nn.Module):
    """The masked language model: an MLP from the encodings at the prediction positions to the vocabulary."""

    def __init__(self, vocab_size: int, num_hiddens: int, num_inputs: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(num_inputs, num_hiddens), nn.ReLU(), nn.LayerNorm(num_hiddens), nn.Linear(num_hiddens, vocab_size)
        )

    def forward(self, X: torch.Tensor, pred_positions: torch.Tensor) -> torch.Tensor:
        """Encodings (B, T, d) and positions (B, P) -> logits (B, P, vocab_size)."""
        masked_X = X.gather(1, pred_positions[..., None].expand(-1, -1, X.shape[-1]))  # the book's batch_idx indexing
        return self.mlp(masked_X)


class NextSentencePred(nn.Module):
    """Next-sentence prediction: two classes from the ``<cls>`` representation."""

    def __init__(self, num_inputs: int) -> None:
        super().__init__()
        self.output = nn.Linear(num_inputs, 2)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.output(X)


class BERTModel(nn.Module):
    """The encoder, the MLM head and the NSP head (on a tanh layer over the ``<cls>`` encoding)."""

    def __init__(self, vocab_size: int, num_hiddens: int, ffn_num_hiddens: int, num_heads: int, num_blocks: int,
                 dropout: float, max_len: int, impl: str) -> None:  # fmt: skip
        super().__init__()
        self.encoder = BERTEncoder(
            vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blocks, dropout, max_len, impl
        )
        self.hidden = nn.Sequential(nn.Linear(num_hiddens, num_hiddens), nn.Tanh())
        self.mlm = MaskLM(vocab_size, num_hiddens, num_hiddens)
        self.nsp = NextSentencePred(num_hiddens)

    def forward(self, tokens, segments, valid_lens=None, pred_positions=None):
        """The encodings (B, T, d), the MLM logits at `pred_positions` (B, P, V; None without positions) and the
        NSP logits (B, 2)."""
        encoded_X = self.encoder(tokens, segments, valid_lens)
        mlm_Y_hat = self.mlm(encoded_X, pred_positions) if pred_positions is not None else None
        nsp_Y_hat = self.nsp(self.hidden(encoded_X[:, 0, :]))  # 0: the <cls> token
        return encoded_X, mlm_Y_hat, nsp_Y_hat


# --- pretraining (section "Pretraining BERT") --------------------------------------------------------------------


def mlm_loss(mlm_Y_hat: torch.Tensor, mlm_Y: torch.Tensor, mlm_weights: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per prediction: each slot's loss times its weight (0 for a padded slot), over the weights."""
    losses = F.cross_entropy(mlm_Y_hat.reshape(-1, mlm_Y_hat.shape[-1]), mlm_Y.reshape(-1), reduction="none")
    return (losses * mlm_weights.reshape(-1)).sum() / (mlm_weights.sum() + 1e-8)


class BERT(ZooModule):
    """BERT pretrained by masked language modelling and next-sentence prediction.

    Args:
        vocab: the vocabulary's tokens (index order; ``<unk> <pad> <mask> <cls> <sep>`` first); None: the data
            module's.
        max_len: positions of the learned positional embedding, the longest input; None: the data module's
            ``max_len``. Longer inputs to ``predict`` are cut to fit (the longer sentence of a pair loses its
            last token until the pair fits).
        num_hiddens: width (embeddings, attention, block outputs, heads).
        ffn_num_hiddens: hidden units of the position-wise FFN.
        num_heads: attention heads (num_hiddens must be a multiple).
        num_blocks: Transformer encoder blocks.
        dropout: dropout on the attention weights and sublayer outputs.
        impl: ``scratch`` (the book's multi-head attention) or ``concise`` (``nn.MultiheadAttention``).
        init: weight initialisation (:mod:`zoo.core.init`); the book's BERT keeps PyTorch's (``default``).
        top_k: the words ``predict`` lists for each ``<mask>``.
        lr, optimizer, weight_decay, momentum: see :class:`~zoo.core.base.ZooModule` (the book: Adam, 0.01).
    """

    throughput_unit = "sentence pairs"
    fused_optimizer = True

    def __init__(
        self,
        vocab: list | None = None,  # of str; typed `list[str]`, jsonargparse checks it in quadratic time
        max_len: int | None = None,
        num_hiddens: int = 128,
        ffn_num_hiddens: int = 256,
        num_heads: int = 2,
        num_blocks: int = 2,
        dropout: float = 0.2,
        impl: str = "scratch",
        init: str = "default",
        top_k: int = 5,
        lr: float = 0.01,
        optimizer: str = "adam",
        **kwargs,
    ) -> None:
        super().__init__(lr=lr, optimizer=optimizer, **kwargs)
        sizes = dict(num_hiddens=num_hiddens, ffn_num_hiddens=ffn_num_hiddens, num_heads=num_heads)
        check_positive(**sizes, num_blocks=num_blocks, top_k=top_k)
        if num_hiddens % num_heads:
            raise ValueError(f"num_hiddens ({num_hiddens}) must be a multiple of num_heads ({num_heads})")
        if max_len is not None and max_len < 3:
            raise ValueError(f"max_len must be at least 3 (<cls>, a token, <sep>), got {max_len}")
        check_dropout(dropout)
        check_impl(impl)
        check_choice("init", init, INIT_SCHEMES)
        self.vocab: Vocab | None = None
        self.net: BERTModel | None = None
        self.train_nsp_acc, self.val_nsp_acc, self.test_nsp_acc = (
            MulticlassAccuracy(2, average="micro", validate_args=False) for _ in range(3)
        )
        self._fit_sums: torch.Tensor | None = None
        self._fit_steps = 0
        if vocab and max_len:
            self.build()

    # --- the vocabulary and the length: the data's ------------------------------------------------------

    def build(self) -> None:
        """The vocabulary and the longest input are known (given, or the data module's): make the layers."""
        hp = self.hparams
        if not hp.vocab or not hp.max_len:
            return
        self.vocab = Vocab.from_tokens(hp.vocab)
        if self.vocab.idx_to_token[: 1 + len(RESERVED_TOKENS)] != [UNK, *RESERVED_TOKENS]:
            raise ValueError(f"vocab must start with {[UNK, *RESERVED_TOKENS]}")
        sizes = (hp.num_hiddens, hp.ffn_num_hiddens, hp.num_heads, hp.num_blocks, hp.dropout, hp.max_len, hp.impl)
        self.net = init_weights(BERTModel(len(self.vocab), *sizes), hp.init)

    def configure_model(self) -> None:
        super().configure_model()
        if self.net is None:
            self.build()  # the vocabulary was linked at construction, the length came from the data just now
        if self.net is None:
            raise ValueError("BERT needs a vocabulary and max_len: give them or train on a BERT data module")

    def forward(self, tokens, segments=None, valid_lens=None, pred_positions=None):
        """:class:`BERTModel`'s forward; segments default to 0 (one sentence)."""
        segments = torch.zeros_like(tokens) if segments is None else segments
        return self.net(tokens, segments, valid_lens, pred_positions)

    # --- training ------------------------------------------------------------------------------------

    def losses(self, batch) -> dict[str, torch.Tensor]:
        """The book's ``_get_batch_loss_bert`` on one batch: the MLM and NSP losses, their sum, the NSP logits,
        and the MLM loss as the book's code reduces it (every slot, padded ones too)."""
        tokens, segments, valid_lens, pred_positions, mlm_weights, mlm_Y, nsp_y = batch
        _, mlm_Y_hat, nsp_Y_hat = self(tokens, segments, valid_lens, pred_positions)
        mlm = mlm_loss(mlm_Y_hat, mlm_Y, mlm_weights)
        nsp = F.cross_entropy(nsp_Y_hat, nsp_y)
        all_slots = F.cross_entropy(mlm_Y_hat.reshape(-1, mlm_Y_hat.shape[-1]), mlm_Y.reshape(-1))
        return {"mlm_loss": mlm, "nsp_loss": nsp, "loss": mlm + nsp, "nsp_logits": nsp_Y_hat, "all_slots": all_slots}

    def _step(self, batch, stage: str) -> torch.Tensor:
        out = self.losses(batch)
        nsp_y, mlm_weights = batch[6], batch[4]
        train = stage == "train"
        # train: each step counts once (the book averages its steps); val/test: per prediction, per pair
        pairs, predictions = (1, 1) if train else (len(nsp_y), mlm_weights.sum())
        self.log_mean(f"{stage}/loss", out["loss"], pairs)
        self.log_mean(f"{stage}/mlm_loss", out["mlm_loss"], predictions, prog_bar=False)
        self.log_mean(f"{stage}/nsp_loss", out["nsp_loss"], pairs, prog_bar=False)
        self.log_epoch(f"{stage}/nsp_acc", getattr(self, f"{stage}_nsp_acc"), out["nsp_logits"].detach(), nsp_y)
        if train:
            self.log_mean("train/mlm_loss_all_slots", out["all_slots"], prog_bar=False)
            figures = torch.stack([out["mlm_loss"], out["all_slots"], out["nsp_loss"]]).detach().float()
            self._fit_sums = figures if self._fit_sums is None else self._fit_sums + figures
            self._fit_steps += 1
        return out["loss"]

    def on_fit_start(self) -> None:
        self._fit_sums, self._fit_steps = None, 0  # the book's Accumulator: each step's losses, summed over the fit

    def fit_means(self) -> dict[str, float]:
        """The mean over this fit's steps of the MLM loss, the book's all-slots MLM loss and the NSP loss: what the
        book's ``train_bert`` prints after its 50 steps (the epoch metrics are each epoch's mean)."""
        if not self._fit_steps:
            return {}
        sums = (self._fit_sums / self._fit_steps).tolist()
        return {"steps": self._fit_steps, **dict(zip(("mlm_loss", "mlm_loss_all_slots", "nsp_loss"), sums))}

    # --- the representation and the masked words --------------------------------------------------------

    def inputs(self, tokens_a: list[str], tokens_b: list[str] | None = None) -> tuple[list[str], list[int], bool]:
        """``<cls> A <sep> [B <sep>]`` and its segments, cut to ``max_len``: a single sentence loses its end, a
        pair's longer sentence its last token until the pair fits. Also whether anything was cut."""
        max_len = self.hparams.max_len
        if tokens_b is None:
            cut_a, cut_b = tokens_a[: max_len - 2], None
        else:
            len_a, len_b = truncated_lengths(torch.tensor([len(tokens_a)]), torch.tensor([len(tokens_b)]), max_len - 3)
            cut_a, cut_b = tokens_a[: int(len_a)], tokens_b[: int(len_b)]
        truncated = len(cut_a) < len(tokens_a) or (tokens_b is not None and len(cut_b) < len(tokens_b))
        return (*get_tokens_and_segments(cut_a, cut_b), truncated)

    @torch.no_grad()
    def encode(self, tokens_a: list[str], tokens_b: list[str] | None = None) -> torch.Tensor:
        """The book's ``get_bert_encoding``: the encodings (1, T, num_hiddens) of ``<cls> A <sep> [B <sep>]``."""
        return self.analyse(tokens_a, tokens_b)["encoding"].unsqueeze(0)

    @torch.no_grad()
    def analyse(self, tokens_a: list[str], tokens_b: list[str] | None = None) -> dict:
        """One input's tokens, segments and encodings (T, d), the probability that B follows A (pairs), and the
        `top_k` words (with their probabilities) the masked language model puts at each ``<mask>``."""
        if self.net is None:
            raise ValueError("the model has no vocabulary yet: train it or load it from a checkpoint")
        was_training = self.training
        self.eval()
        tokens, segments, truncated = self.inputs(tokens_a, tokens_b)
        token_ids = torch.tensor([self.vocab[tokens]], device=self.device)
        segment_ids = torch.tensor([segments], device=self.device)
        valid_len = torch.tensor([len(tokens)], device=self.device)
        masks = [i for i, token in enumerate(tokens) if token == MASK]
        positions = torch.tensor([masks], device=self.device, dtype=torch.long) if masks else None
        encoded, mlm_Y_hat, nsp_Y_hat = self(token_ids, segment_ids, valid_len, positions)
        result = {"tokens": tokens, "segments": segments, "truncated": truncated, "encoding": encoded[0].float().cpu()}
        result["unknown"] = sorted({t for t in tokens if t not in self.vocab.token_to_idx})  # read as <unk>
        result["is_next"] = float(torch.softmax(nsp_Y_hat[0].float(), -1)[1]) if tokens_b is not None else None
        result["masks"] = []
        if masks:
            top = torch.softmax(mlm_Y_hat[0].float(), -1).topk(min(self.hparams.top_k, len(self.vocab)))
            for position, probs, ids in zip(masks, top.values.tolist(), top.indices.tolist()):
                result["masks"].append((position, list(zip(self.vocab.to_tokens(ids), probs))))
        self.train(was_training)
        return result

    def analyse_text(self, sentence: str) -> dict:
        """:meth:`analyse` of a sentence written as text: lower-cased words between spaces, as WikiText's (``"a
        crane is flying"``); two sentences of a pair joined by ``<sep>``; ``<mask>`` where a word is to be filled."""
        words = sentence.lower().split()
        if words.count(SEP) > 1:
            raise ValueError(f"at most two sentences (one {SEP} between them), got {sentence!r}")
        if SEP in words:
            i = words.index(SEP)
            result = self.analyse(words[:i], words[i + 1 :])
        else:
            result = self.analyse(words)
        return {"sentence": sentence, **result}

    def predict_step(self, batch: list[str], batch_idx: int) -> dict:
        """:meth:`analyse_text` of each of the data module's sentences."""
        return {"encodings": [self.analyse_text(sentence) for sentence in batch]}

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """``bert_encodings.txt`` (printed too): each input's tokens, the encoding's shape, the first three values
        of every token's encoding (the book prints them for "crane"), the next-sentence probability and the
        masked-word predictions; ``bert_encodings.pt``: the inputs with their whole encodings."""
        results = [r for batch in outputs for r in batch["encodings"]]
        lines = []
        for n, r in enumerate(results, 1):
            T, d = r["encoding"].shape
            lines.append(f"[{n}] {r['sentence']}" + ("  (cut to max_len)" if r["truncated"] else ""))
            lines.append(f"  tokens:   {' '.join(r['tokens'])}")
            lines.append(f"  segments: {' '.join(map(str, r['segments']))}")
            if r["unknown"]:
                lines.append(f"  outside the vocabulary (read as {UNK}): {', '.join(r['unknown'])}")
            lines.append(f"  encoding: (1, {T}, {d}); <cls> (1, {d})")
            for position, (token, row) in enumerate(zip(r["tokens"], r["encoding"])):
                lines.append(f"    {position:>3} {token:<16} [{', '.join(f'{v:.4f}' for v in row[:3].tolist())}, ...]")
            if r["is_next"] is not None:
                lines.append(f"  P(second sentence follows the first) = {r['is_next']:.4f}")
            for position, top in r["masks"]:
                words = ", ".join(f"{token} {p:.4f}" for token, p in top)
                lines.append(f"  <mask> at {position}: {words}")
        text = "\n".join(lines) + "\n"
        print(text, end="")
        txt_path, pt_path = out_dir / "bert_encodings.txt", out_dir / "bert_encodings.pt"
        txt_path.write_text(text)
        torch.save(results, pt_path)
        return [txt_path, pt_path]

    def on_fit_end(self) -> None:
        """The losses as the book's ``train_bert`` prints them (the mean over the fit's steps), then the book's two
        "crane" encodings: the shapes of the whole encoding and of ``<cls>``'s, and the first three values of
        ``<cls>``'s and ``crane``'s (position 2), in eval mode (the book encodes with dropout on)."""
        if means := self.fit_means():
            self.print(
                f"mean over the fit's {means['steps']} steps: MLM loss {means['mlm_loss']:.3f} (all slots, the book's "
                f"reduction: {means['mlm_loss_all_slots']:.3f}), NSP loss {means['nsp_loss']:.3f}"
            )
        for tokens_a, tokens_b in BOOK_CRANES:
            encoding = self.encode(tokens_a, tokens_b)
            words = " ".join(tokens_a) + (f" <sep> {' '.join(tokens_b)}" if tokens_b else "")
            cls, crane = (", ".join(f"{v:.4f}" for v in encoding[0, i, :3].tolist()) for i in (0, 2))
            self.print(
                f"{words}: encoding {tuple(encoding.shape)}, <cls> {tuple(encoding[:, 0].shape)} "
                f"[{cls}, ...], 'crane' [{crane}, ...]"
            )

    # --- checkpoints -----------------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        if self.net is None:
            raise ValueError("cannot save BERT before it has its vocabulary")


def placeholder_vocab(size: int) -> list[str]:
    """``<unk>``, the reserved tokens and placeholder words, `size` in all: ``get_model`` builds the recipe's BERT
    without the data (the data gives the real words)."""
    reserved = [UNK, *RESERVED_TOKENS]
    return reserved + [f"token{i}" for i in range(len(reserved), size)]


register_model(
    "bert",
    BERT,
    network="BERT pretraining (WikiText-2; 2 blocks, width 128, 2 heads)",
    book=Book(
        v1=(
            "15.8 Bidirectional Encoder Representations from Transformers (BERT)",
            "15.9 The Dataset for Pretraining BERT",
            "15.10 Pretraining BERT",
        ),
        v017=(
            "14.8 Bidirectional Encoder Representations from Transformers (BERT)",
            "14.9 The Dataset for Pretraining BERT",
            "14.10 Pretraining BERT",
        ),
    ),
    configs=["nlp_pretraining/bert.yaml"],
    data="WikiText2",
    input_shape=(64,),
    input_dtype="long",
    kwargs={"vocab": placeholder_vocab(20256), "max_len": 64},  # the book's vocabulary of wiki.train.tokens
    variants={"impl": ("scratch", "concise")},
)
