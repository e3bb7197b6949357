"""WikiText-2 as BERT's pretraining data (book section "The Dataset for Pretraining BERT").

The D2L data hub's ``wikitext-2-v1.zip`` unpacks to ``wikitext-2/wiki.{train,valid,test}.tokens``: Wikipedia
articles, one paragraph a line, tokens between spaces (``@-@`` for a hyphen inside a word, ``<unk>`` for rare
words), headings as `` = Title = `` lines. The book's reading (``_read_wiki``): every line with at least two
sentences split on `` . `` is a paragraph, lower-cased; its sentences are the pieces (the last keeps its final
``.``), their words the tokens between spaces. The vocabulary holds ``<unk>`` and the reserved ``<pad> <mask>
<cls> <sep>`` (indices 0-4), then every word seen at least `min_freq` (5) times in the training file.

Next-sentence prediction (``_get_nsp_data_from_paragraph``): each sentence but a paragraph's last is paired with
the sentence after it (label 1, "is next") or, half the time, with a random sentence (a random sentence of a
random paragraph, as the book draws it; label 0). A pair becomes ``<cls> A <sep> B <sep>`` with segment ids 0
for ``<cls> A <sep>`` and 1 for ``B <sep>``, padded with ``<pad>`` (segment 0) to `max_len` (64); its valid length
counts the tokens that are not padding. A pair longer than `max_len` is dropped (``long_pairs="skip"``, the book's
rule) or cut to fit (``"truncate"``: the longer of the two sentences loses its last token until the pair fits,
the original BERT's rule; :func:`truncated_lengths`).

Masked language modelling (``_get_mlm_data_from_tokens``): of each pair's tokens other than ``<cls>`` and
``<sep>``, ``max(1, round(0.15 * valid length))`` are chosen at random as prediction positions (15% of the
sequence, special tokens counted, as the book and the original BERT count; at most ``round(0.15 * max_len)``,
10); each chosen token becomes ``<mask>`` 80% of the time, a random token of the vocabulary 10% and stays as it
is 10%. The positions, their original tokens (the labels) and weights 1 are padded with position 0, label 0
and weight 0 to ``round(0.15 * max_len)``, so a loss weighted by them ignores the padded slots.

``masking="once"`` (the book's) draws the masks once, at setup, from a generator seeded by `seed` (with the
next-sentence pairs), so the same seed gives the same data; ``"every_epoch"`` masks every training batch afresh as
it reaches the device (from the global generator, which ``seed_everything`` seeds and checkpoints keep), so no
two epochs see the same masks. Everything is built once as int tensors (no per-pair Python work): a batch is the
book's ``(tokens, segments, valid_lens, pred_positions, mlm_weights, mlm_labels, nsp_labels)``.

Splits: `train_split` names the file that trains and gives the vocabulary (the book: ``train``; ``valid`` lets the
validation file stand in when ``wiki.train.tokens`` is not at hand), `val_split` the file that validates (the
book validates nothing), and ``test`` runs on ``wiki.test.tokens``; validation and test pairs are masked once,
with seeds of their own. ``predict`` reads no file: the model holds the vocabulary; it encodes `sentences` (two
sentences of a pair joined by `` <sep> ``, ``<mask>`` where a word is to be predicted).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..base import FileDataModule, known_after_setup
from ..batching import TensorBatches
from ..download import DataError, RemoteFile, extract_zip, fetch_all
from ..images.bananas import DATA_HUB
from ..vocab import Vocab
from .translation import Sentences

WIKITEXT2_ZIP = RemoteFile(
    "wikitext-2-v1.zip", DATA_HUB + "wikitext-2-v1.zip", "sha1:3c914d17d80b1459be871a5039ac23e752a53cbe"
)
SPLITS = ("train", "valid", "test")
PAD, MASK, CLS, SEP = "<pad>", "<mask>", "<cls>", "<sep>"
RESERVED_TOKENS = (PAD, MASK, CLS, SEP)  # after <unk>: indices 1, 2, 3, 4
MLM_FRACTION = 0.15
LONG_PAIRS = ("skip", "truncate")
MASKINGS = ("once", "every_epoch")
BOOK_SENTENCES = ["a crane is flying", "a crane driver came <sep> he just left", "a crane is <mask>"]


def read_wiki(text: str) -> list[list[str]]:
    """The book's ``_read_wiki`` (without its shuffle): the lines with at least two sentences split on `` . ``,
    each stripped, lower-cased and split into its sentences."""
    return [line.strip().lower().split(" . ") for line in text.split("\n") if len(line.split(" . ")) >= 2]


def max_predictions(max_len: int) -> int:
    """Prediction slots per pair: the book's ``round(max_len * 0.15)``."""
    return round(max_len * MLM_FRACTION)


def truncated_lengths(len_a: torch.Tensor, len_b: torch.Tensor, budget: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The lengths two sentences are cut to so that together they hold at most `budget` tokens: the longer loses
    its last token, one at a time (on a tie the second), until they fit (the original BERT's
    ``truncate_seq_pair``, in closed form). Pairs that fit keep their lengths."""
    short = torch.minimum(len_a, len_b)
    keeps_short = 2 * short <= budget  # the longer alone can give up what is too much
    cut_a = torch.where(keeps_short, torch.where(len_a <= len_b, len_a, budget - len_b), (budget + 1) // 2)
    cut_b = torch.where(keeps_short, torch.where(len_a <= len_b, budget - len_a, len_b), budget // 2)
    over = len_a + len_b > budget
    return torch.where(over, cut_a, len_a), torch.where(over, cut_b, len_b)


def candidate_mask(segments: torch.Tensor, valid_lens: torch.Tensor) -> torch.Tensor:
    """(N, L) True at the tokens a masked language model may predict: every valid position but ``<cls>`` (the
    first) and the ``<sep>`` closing each segment (the last of segment 0, the last valid one)."""
    cols = torch.arange(segments.shape[1], device=segments.device)
    valid = cols < valid_lens[:, None]
    first_sep = ((segments == 0) & valid).sum(1) - 1
    return valid & (cols > 0) & (cols < valid_lens[:, None] - 1) & (cols != first_sep[:, None])


def mask_tokens(
    tokens: torch.Tensor,
    candidates: torch.Tensor,
    valid_lens: torch.Tensor,
    max_preds: int,
    vocab_size: int,
    mask_id: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The book's masking, for a whole batch at once: ``max(1, round(0.15 * valid length))`` of each row's
    `candidates` (at most `max_preds`, and no more than there are) chosen at random, in position order; each
    replaced by `mask_id` (80%), a random token (10%) or left as it is (10%).

    Returns the masked tokens (N, L), the positions (N, max_preds), their weights (1., or 0. for a padded slot,
    whose position and label are 0) and their labels (the original tokens).
    """
    N, L = tokens.shape
    device = tokens.device
    num_preds = torch.round(valid_lens.double() * MLM_FRACTION).long().clamp(min=1, max=max_preds)
    num_preds = torch.minimum(num_preds, candidates.sum(1))
    keys = torch.rand(N, L, generator=generator, device=device).masked_fill(~candidates, 2.0)  # others last
    chosen = keys.topk(max_preds, dim=1, largest=False).indices  # random candidates, in random order
    weights = torch.arange(max_preds, device=device) < num_preds[:, None]
    positions = torch.where(weights, chosen, L).sort(dim=1).values  # the chosen ones by position, slots after
    positions = torch.where(weights, positions, 0)
    labels = tokens.gather(1, positions) * weights
    draw = torch.rand(N, max_preds, generator=generator, device=device)
    random_tokens = torch.randint(0, vocab_size, (N, max_preds), generator=generator, device=device)
    replaced = torch.where(draw < 0.8, mask_id, torch.where(draw < 0.9, random_tokens, labels))
    masked = tokens.clone()
    rows = torch.arange(N, device=device)[:, None].expand(N, max_preds)
    masked[rows[weights], positions[weights]] = replaced[weights]
    return masked, positions, weights.float(), labels


def unmask(tokens: torch.Tensor, positions: torch.Tensor, weights: torch.Tensor, labels: torch.Tensor):
    """The tokens before masking: the labels back at their positions."""
    original = tokens.clone()
    rows = torch.arange(len(tokens), device=tokens.device)[:, None].expand_as(positions)
    chosen = weights > 0
    original[rows[chosen], positions[chosen]] = labels[chosen]
    return original


class WikiText2(FileDataModule):
    """WikiText-2 for BERT pretraining: next-sentence pairs with masked tokens, as padded int tensors.

    Args:
        max_len: tokens per pair after padding, ``<cls>`` and both ``<sep>`` included (the book: 64).
        min_freq: words seen fewer times in the training file map to ``<unk>`` (the book: 5).
        train_split: the file that trains and gives the vocabulary: ``train`` (the book's), ``valid`` or ``test``
            (a stand-in where ``wiki.train.tokens`` is missing; not the book's data).
        val_split: the file that validates (``valid``, ``test``, or ``train``); None: no validation (the book's).
        long_pairs: a pair longer than `max_len`: ``skip`` it (the book's) or ``truncate`` it (see the module
            docstring).
        masking: ``once`` (at setup, seeded: the book's) or ``every_epoch`` (each training batch afresh).
        seed: seeds the next-sentence pairs and the masks drawn at setup.
        sentences: what ``predict`` encodes; default the book's two "crane" inputs and one with ``<mask>``.
        batch_size: pairs per minibatch (the book: 512).
        data_dir, mirror, download, num_workers: see :class:`~datamodules.base.FileDataModule`. The archive goes to
            ``<data_dir>/wikitext-2-v1.zip`` and is unpacked to ``<data_dir>/wikitext-2/``; files already unpacked
            there are used as they are.
    """

    folder_name = "wikitext-2"
    archive: RemoteFile = WIKITEXT2_ZIP

    def __init__(
        self,
        max_len: int = 64,
        min_freq: int = 5,
        train_split: str = "train",
        val_split: str | None = None,
        long_pairs: str = "skip",
        masking: str = "once",
        seed: int = 0,
        sentences: list[str] | None = None,
        batch_size: int = 512,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        for name, value, choices in (
            ("train_split", train_split, SPLITS),
            ("long_pairs", long_pairs, LONG_PAIRS),
            ("masking", masking, MASKINGS),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        if val_split is not None and val_split not in SPLITS:
            raise ValueError(f"val_split must be one of {SPLITS} or None, got {val_split!r}")
        if val_split == train_split:
            raise ValueError(f"val_split and train_split are both {train_split!r}: validate on another file")
        if max_len < 8:
            raise ValueError(f"max_len must be at least 8 (<cls>, two sentences, two <sep>), got {max_len}")
        if min_freq < 0:
            raise ValueError(f"min_freq must not be negative, got {min_freq}")
        self.sentences = list(BOOK_SENTENCES) if sentences is None else list(sentences)
        if not self.sentences or not all(s.strip() for s in self.sentences):
            raise ValueError("sentences must hold at least one sentence to encode, and none of them blank")
        self._vocab: Vocab | None = None
        self._paragraphs: dict[str, list[list[str]]] = {}

    # --- what the model needs ----------------------------------------------------------------------

    @property
    def vocab(self) -> Vocab:
        """The vocabulary of the training file; known at construction when the file is at hand, else after
        ``setup``."""
        if self._vocab is None:
            with contextlib.suppress(DataError):  # not on disk yet: known after setup
                self._read_vocab()
        return known_after_setup(self._vocab, self, "vocab")

    @property
    def max_len(self) -> int:
        return self.hparams.max_len

    # --- the files ---------------------------------------------------------------------------------

    def token_file(self, split: str, download: bool = False) -> Path:
        """``wiki.<split>.tokens``: the unpacked copy in the data folder, else unpacked from the (hash-checked)
        archive, downloaded if missing and `download`. When neither is there, one DataError says what to get."""
        path = self.folder / f"wiki.{split}.tokens"
        root = self.folder.parent
        if path.is_file() and not (root / self.archive.name).is_file():
            return path  # unpacked, without its archive: used as it is
        try:
            (archive,) = fetch_all(self.remote_files(), root, type(self).__name__, self.hparams.mirror, download)
        except DataError as err:
            if path.is_file():
                raise  # an archive that is there but corrupt is never passed over
            others = [s for s in SPLITS if s != split and (self.folder / f"wiki.{s}.tokens").is_file()]
            stand_in = (
                f" Only {', '.join(f'wiki.{s}.tokens' for s in others)} {'is' if len(others) == 1 else 'are'} "
                f"there: --data.train_split {others[0]} trains on wiki.{others[0]}.tokens instead (a stand-in, not the "
                f"book's data)."
                if split == self.hparams.train_split and others
                else ""
            )
            raise DataError(
                f"{type(self).__name__}: {path.name} is not in {self.folder.resolve()}. Download "
                f"{self.archive.name} (sha1 {self.archive.known_hash.split(':', 1)[1]}) from {self.archive.url} "
                f"into {root.resolve()} (it is unpacked to {self.folder_name}/), or put the unpacked "
                f"wiki.{{train,valid,test}}.tokens in {self.folder.resolve()}.{stand_in}\n{err}"
            ) from None
        if not path.is_file():
            extract_zip(archive, root, self.folder_name)
            if not path.is_file():
                raise DataError(f"{archive} holds no {self.folder_name}/{path.name}")
        return path

    def _splits_in_use(self) -> list[str]:
        fn = self.trainer.state.fn if self.trainer is not None else None
        hp = self.hparams
        if fn == "predict":
            return []
        splits = [hp.train_split]
        if fn == "test":
            splits.append("test")
        elif hp.val_split is not None:
            splits.append(hp.val_split)
        return splits

    def prepare_data(self) -> None:
        for split in self._splits_in_use():  # predict encodes the given sentences: the model has the vocabulary
            self.token_file(split, download=self.hparams.download)

    # --- reading -----------------------------------------------------------------------------------

    def paragraphs(self, split: str) -> list[list[str]]:
        """The paragraphs of ``wiki.<split>.tokens`` as the book reads them (each a list of sentence strings)."""
        if split not in self._paragraphs:
            self._paragraphs[split] = read_wiki(self.token_file(split).read_text(encoding="utf-8"))
            if not self._paragraphs[split]:
                raise DataError(f"{self.token_file(split)} holds no line of two or more ' . '-separated sentences")
        return self._paragraphs[split]

    def _read_vocab(self) -> None:
        if self._vocab is not None:
            return
        sentences = Sentences([s for p in self.paragraphs(self.hparams.train_split) for s in p])
        self._vocab = sentences.vocab(torch.arange(len(sentences)), self.hparams.min_freq, RESERVED_TOKENS)

    def pairs(self, split: str, seed: int) -> tuple[torch.Tensor, ...]:
        """The next-sentence pairs of a file, masked: the book's seven tensors (see the module docstring)."""
        paragraphs = self.paragraphs(split)
        vocab, max_len = self.vocab, self.hparams.max_len
        generator = torch.Generator().manual_seed(seed)
        sentences = Sentences([s for p in paragraphs for s in p])
        para_len = torch.tensor([len(p) for p in paragraphs])
        para_start = torch.cumsum(para_len, 0) - para_len
        # every sentence but its paragraph's last, paired with the next one or (half the time) a random one
        index_in_para = torch.arange(len(sentences)) - torch.repeat_interleave(para_start, para_len)
        first = torch.nonzero(index_in_para < torch.repeat_interleave(para_len, para_len) - 1).flatten()
        is_next = torch.rand(len(first), generator=generator) < 0.5
        random_para = torch.randint(0, len(paragraphs), (len(first),), generator=generator)
        within = (torch.rand(len(first), generator=generator) * para_len[random_para]).long()
        random_sentence = para_start[random_para] + within.clamp(max=para_len[random_para] - 1)
        second = torch.where(is_next, first + 1, random_sentence)
        len_a, len_b = sentences.lengths[first], sentences.lengths[second]
        if self.hparams.long_pairs == "skip":  # the book: <cls>, A, <sep>, B, <sep> must fit in max_len
            keep = len_a + len_b + 3 <= max_len
            first, second, is_next, len_a, len_b = first[keep], second[keep], is_next[keep], len_a[keep], len_b[keep]
        else:
            len_a, len_b = truncated_lengths(len_a, len_b, max_len - 3)
        table = torch.tensor([vocab.token_to_idx.get(w, vocab.unk) for w in sentences.words], dtype=torch.long)
        tokens, segments, valid_lens = self._pack(sentences, table, first, second, len_a, len_b)
        candidates = candidate_mask(segments, valid_lens)
        masked, positions, weights, labels = mask_tokens(
            tokens, candidates, valid_lens, max_predictions(max_len), len(vocab), vocab[MASK], generator
        )
        return masked, segments, valid_lens, positions, weights, labels, is_next.long()

    def _pack(self, sentences: Sentences, table, first, second, len_a, len_b):
        """``<cls> A <sep> B <sep>`` padded to max_len, the segment ids and the valid lengths, for every pair."""
        vocab, max_len = self.vocab, self.hparams.max_len
        N = len(first)
        tokens = torch.full((N, max_len), vocab[PAD], dtype=torch.long)
        rows = torch.arange(N)
        for sentence, lengths, column in ((first, len_a, torch.ones_like(len_a)), (second, len_b, len_a + 2)):
            row = torch.repeat_interleave(rows, lengths)  # each token's pair, and its place in its sentence
            offset = torch.arange(len(row)) - torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths, lengths)
            tokens[row, column[row] + offset] = table[sentences.ids[sentences.starts[sentence][row] + offset]]
        valid_lens = len_a + len_b + 3
        tokens[:, 0] = vocab[CLS]
        tokens[rows, len_a + 1] = vocab[SEP]
        tokens[rows, valid_lens - 1] = vocab[SEP]
        cols = torch.arange(max_len)
        segments = ((cols >= (len_a + 2)[:, None]) & (cols < valid_lens[:, None])).long()
        return tokens, segments, valid_lens

    def setup(self, stage: str | None = None) -> None:
        if stage == "predict":
            return
        hp = self.hparams
        if self.train_set is None:
            self._read_vocab()
            self.train_set = TensorBatches(*self.pairs(hp.train_split, hp.seed))
            if hp.val_split is not None:
                self.val_set = TensorBatches(*self.pairs(hp.val_split, hp.seed + 1))
        if stage == "test" and self.test_set is None:
            if hp.train_split == "test":
                raise DataError(f"{type(self).__name__} trains on wiki.test.tokens: there is no held-out test file")
            self.test_set = TensorBatches(*self.pairs("test", hp.seed + 2))

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """``masking="every_epoch"``: each training batch masked afresh, on the device it trains on."""
        trainer = self.trainer
        if self.hparams.masking != "every_epoch" or trainer is None or not trainer.training:
            return batch
        tokens, segments, valid_lens, positions, weights, labels, nsp_labels = batch
        original = unmask(tokens, positions, weights, labels)
        vocab = self.vocab
        masked, positions, weights, labels = mask_tokens(
            original, candidate_mask(segments, valid_lens), valid_lens, positions.shape[1], len(vocab), vocab[MASK]
        )
        return masked, segments, valid_lens, positions, weights, labels, nsp_labels

    def predict_dataloader(self) -> DataLoader:
        """One batch: the sentences to encode."""
        return DataLoader(self.sentences, batch_size=len(self.sentences), collate_fn=list)
