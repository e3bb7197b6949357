"""English-French sentence pairs for machine translation (book section "Machine Translation and the Dataset").

The D2L data hub's ``fra-eng.zip`` holds ``fra-eng/fra.txt``: one pair per line, English and French separated
by a tab (Tatoeba via manythings.org, 167,130 pairs, from the shortest sentences to the longest). The book's
preprocessing: non-breaking spaces become spaces, everything is lower-cased, and a space goes before
``, . ! ?`` where there is none (``"Go."`` -> ``"go ."``); tokens are the words between spaces.

Each side gets its vocabulary (``<unk> <pad> <bos> <eos>`` first, then words seen at least `min_freq` times in
the training pairs); a sentence becomes its token indices plus ``<eos>``, cut or padded with ``<pad>`` to
`num_steps`, and its valid length (the tokens that are not padding). Every split is a few int tensors built
once: a batch is ``(X, X_valid_len, Y, Y_valid_len)`` as the book's, and validation and test batches add the
untruncated reference ``R`` for BLEU (its words outside the target vocabulary are -1, so a predicted
``<unk>`` never matches them).

Splits: the first `num_examples` pairs of the file train (the book's 600), `val_split` of them held out
for validation. The `num_test` pairs after them are the test split, never trained on and of the same kind of
sentence; with ``num_examples=-1`` (every pair) the test pairs are a seeded random sample of the whole file.
With ``val_split=0`` validation runs on the test split, as the book reports its figures on its training data
only.

``predict`` translates `sentences` (the book's four by default); it reads no file, the model holds the
vocabularies, so ``cli.py predict --ckpt_path X --data.sentences "go ." "i lost ."`` needs only the checkpoint.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..base import FileDataModule, known_after_setup
from ..batching import TensorBatches, check_val_split, split_off
from ..download import DataError, RemoteFile, hash_of
from ..vocab import Vocab

FRA_ENG_ZIP = RemoteFile(
    "fra-eng.zip",
    "http://d2l-data.s3-accelerate.amazonaws.com/fra-eng.zip",
    "sha1:94646ad1522d915e7b0f9296181140edcf86a4f5",
)
FRA_TXT = "fra.txt"
FRA_TXT_HASH = "sha256:0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104"  # the zip's fra.txt
PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
RESERVED_TOKENS = (PAD, BOS, EOS)  # after <unk>: indices 1, 2, 3, as the book's vocabularies
OOV = -1  # a reference word outside the target vocabulary
BOOK_REFERENCES = {
    "go .": "va !",
    "i lost .": "j'ai perdu .",
    "he's calm .": "il est calme .",
    "i'm home .": "je suis chez moi .",
}
_BEFORE_PUNCTUATION = re.compile(r"(?<=[^ ])(?=[,.!?])")  # after anything but a space, before , . ! ?


def preprocess_nmt(text: str) -> str:
    """The book's ``preprocess_nmt``: non-breaking spaces to spaces, lower case, a space before ``, . ! ?``
    that follows anything but a space. One regular expression instead of the book's loop over characters
    (the same result on the whole of ``fra.txt``)."""
    text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
    return _BEFORE_PUNCTUATION.sub(" ", text)


def tokenize_nmt(line: str) -> list[str]:
    """Words between single spaces, skipping empty ones (as the 1.0 edition; 0.17 kept them)."""
    return [token for token in line.split(" ") if token]


class Sentences:
    """One side of the corpus as flat tensors: every sentence's words as ids into `words` (the distinct words,
    in order of first appearance), one sentence after the other, and each sentence's length. Tokenising is a
    few whole-text operations (one split, one pass numbering the words), not a loop over sentences, and no
    Python list per sentence is kept (the whole file's word ids: 21 MB)."""

    def __init__(self, lines: list[str]) -> None:
        tokens = " \n ".join(lines).split(" ")  # words, "" between double spaces, and "\n" between sentences
        code_of: dict[str, int] = {}
        codes = torch.tensor([code_of.setdefault(token, len(code_of)) for token in tokens], dtype=torch.long)
        self.words = list(code_of)
        breaks = codes == code_of.get("\n", -1)
        keep = ~(breaks | (codes == code_of.get("", -1)))  # tokenize_nmt: no empty words
        sentence = torch.cumsum(breaks, 0)[keep]
        self.ids = codes[keep]
        self.lengths = (
            torch.bincount(sentence, minlength=len(lines)) if len(lines) else torch.zeros(0, dtype=torch.long)
        )
        self.starts = torch.cumsum(self.lengths, 0) - self.lengths

    def __len__(self) -> int:
        return len(self.lengths)

    def positions(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The flat positions of the words of the sentences at `rows`, and those sentences' lengths."""
        lengths = self.lengths[rows]
        offsets = torch.cumsum(lengths, 0) - lengths
        within = torch.arange(int(lengths.sum())) - torch.repeat_interleave(offsets, lengths)
        return torch.repeat_interleave(self.starts[rows], lengths) + within, lengths

    def vocab(self, rows: torch.Tensor, min_freq: int, reserved_tokens: tuple[str, ...] = RESERVED_TOKENS) -> Vocab:
        """The vocabulary of the sentences at `rows` (the book's: ``<unk>``, the reserved tokens, then the words
        by frequency)."""
        counts = torch.bincount(self.ids[self.positions(rows)[0]], minlength=len(self.words)).tolist()
        return Vocab.from_counts(dict(zip(self.words, counts)), min_freq, reserved_tokens)

    def encode(self, rows: torch.Tensor, vocab: Vocab, missing: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The sentences at `rows` as flat indices into `vocab` (a word outside it becomes `missing`) and lengths."""
        table = torch.tensor([vocab.token_to_idx.get(word, missing) for word in self.words], dtype=torch.long)
        positions, lengths = self.positions(rows)
        return table[self.ids[positions]], lengths


def read_pairs(text: str, max_lines: int = -1) -> tuple[Sentences, Sentences]:
    """Source and target sentences of the pairs on the first `max_lines` lines (-1: all), preprocessed. A
    line's first two tab-separated fields are the pair (later Tatoeba files add an attribution); lines without
    a tab are skipped."""
    lines = text.split("\n", max_lines)[:max_lines] if max_lines >= 0 else text.split("\n")
    source, target = [], []
    for line in preprocess_nmt("\n".join(lines)).split("\n"):
        english, tab, rest = line.partition("\t")  # partition: several times faster than split here
        if tab:
            source.append(english)
            target.append(rest.partition("\t")[0])
    return Sentences(source), Sentences(target)


def pad_sequences(flat: torch.Tensor, lengths: torch.Tensor, length: int, pad: int, eos: int | None = None):
    """The book's ``build_array_nmt``, vectorised: each sequence (its `lengths` values of `flat`, one after the
    other), plus `eos` if given, cut or padded with `pad` to `length`; the (N, length) array and the valid
    lengths (N,)."""
    n = len(lengths)
    rows = torch.repeat_interleave(torch.arange(n), lengths)
    cols = torch.arange(len(flat)) - torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths, lengths)
    keep = cols < length
    array = torch.full((n, length), pad, dtype=torch.long)
    array[rows[keep], cols[keep]] = flat[keep]
    if eos is not None:
        has_room = lengths < length
        array[torch.arange(n)[has_room], lengths[has_room]] = eos
        lengths = lengths + 1
    return array, lengths.clamp(max=length)


def collate_sentences(items: list[tuple[str, str | None]]) -> dict[str, list]:
    """A predict batch: the sentences to translate and their references (None where unknown)."""
    return {"sources": [s for s, _ in items], "references": [r for _, r in items]}


class Translation(FileDataModule):
    """The book's English-French pairs as padded index tensors with valid lengths.

    Args:
        num_steps: tokens per sentence after cutting or padding (the book: 10).
        num_examples: pairs to train (and validate) on, the first ones of the file (the book: 600); -1: every
            pair but the test pairs.
        num_test: held-out pairs for the test split (corpus BLEU), see the module docstring.
        val_split: fraction of the training pairs held out (seeded) for validation; 0: validate on the test
            split.
        min_freq: words seen fewer times in the training pairs map to ``<unk>`` (the book: 2).
        sentences: what ``predict`` translates; default the book's four ("go .", "i lost .", "he's calm .",
            "i'm home .").
        references: their translations, for BLEU; default the book's references where a sentence is one of the
            book's four.
        batch_size: pairs per minibatch (the book: 64).
        data_dir, mirror, download, num_workers: see :class:`~datamodules.base.FileDataModule`.
    """

    folder_name = "fra-eng"
    zip_file: RemoteFile = FRA_ENG_ZIP
    text_hash: str = FRA_TXT_HASH

    def __init__(
        self,
        num_steps: int = 10,
        num_examples: int = 600,
        num_test: int = 500,
        val_split: float = 0.0,
        min_freq: int = 2,
        sentences: list[str] | None = None,
        references: list[str] | None = None,
        batch_size: int = 64,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        check_val_split(val_split)
        if num_steps < 2:
            raise ValueError(f"num_steps must be at least 2 (a word and <eos>), got {num_steps}")
        if num_examples == 0 or num_examples < -1:
            raise ValueError(f"num_examples must be positive or -1 (every pair), got {num_examples}")
        if num_test < 0:
            raise ValueError(f"num_test must not be negative, got {num_test}")
        if num_test == 0 and val_split == 0:
            raise ValueError("with num_test 0 there is nothing to validate on: give num_test or val_split")
        self.sentences = list(BOOK_REFERENCES) if sentences is None else list(sentences)
        if not self.sentences or not all(s.strip() for s in self.sentences):
            raise ValueError("sentences must hold at least one sentence to translate, and none of them blank")
        if references is None:
            references = [BOOK_REFERENCES.get(preprocess_nmt(s).strip()) for s in self.sentences]
        elif len(references) != len(self.sentences):
            raise ValueError(f"got {len(references)} references for {len(self.sentences)} sentences")
        self.references = list(references)
        self._src_vocab: Vocab | None = None
        self._tgt_vocab: Vocab | None = None
        self._source: Sentences | None = None  # the pairs in use, between reading and setup
        self._target: Sentences | None = None

    # --- what the model needs ----------------------------------------------------------------------

    @property
    def src_vocab(self) -> Vocab:
        """The English vocabulary; known at construction when ``fra.txt`` is at hand, else after ``setup``."""
        self._try_read()
        return known_after_setup(self._src_vocab, self, "src_vocab")

    @property
    def tgt_vocab(self) -> Vocab:
        """The French vocabulary (as :attr:`src_vocab`)."""
        self._try_read()
        return known_after_setup(self._tgt_vocab, self, "tgt_vocab")

    @property
    def num_steps(self) -> int:
        return self.hparams.num_steps

    # --- the file ----------------------------------------------------------------------------------

    @classmethod
    def remote_files(cls) -> list[RemoteFile]:
        return [cls.zip_file]

    def text_path(self, download: bool = False) -> Path:
        """The verified ``fra.txt``: the extracted copy in the data folder, else extracted from a verified
        ``fra-eng.zip`` (downloaded if missing and `download`). One :class:`DataError` says what is wrong."""
        path = self.folder / FRA_TXT
        if path.is_file():
            actual = hash_of(path, self.text_hash)
            if actual != self.text_hash:
                raise DataError(
                    f"{type(self).__name__}: {path.resolve()} is corrupt or truncated: its hash is {actual}, "
                    f"expected {self.text_hash} (the fra.txt of {self.zip_file.name}). Delete it; the next run "
                    f"extracts it again from {self.zip_file.name} ({self.zip_file.known_hash}), downloading that "
                    f"if needed."
                )
            return path
        try:
            archive = self.fetch(download)[0]
        except DataError as err:
            raise DataError(f"{err}\nThe extracted {FRA_TXT} ({self.text_hash}) in that folder works too.") from None
        self._extract(archive, path)
        return path

    def _extract(self, archive: Path, path: Path) -> None:
        try:
            with zipfile.ZipFile(archive) as zf:
                member = next((n for n in zf.namelist() if Path(n).name == FRA_TXT), None)
                if member is None:
                    raise DataError(f"{archive} holds no {FRA_TXT}")
                partial = path.with_suffix(".part")
                partial.write_bytes(zf.read(member))
        except zipfile.BadZipFile as err:
            raise DataError(f"{archive} is not a readable zip file ({err}): delete it and run again") from None
        actual = hash_of(partial, self.text_hash)
        if actual != self.text_hash:
            partial.unlink()
            raise DataError(f"the {FRA_TXT} in {archive} has hash {actual}, expected {self.text_hash}")
        partial.replace(path)

    def prepare_data(self) -> None:
        if self.trainer is not None and self.trainer.state.fn == "predict":
            return  # predict translates the given sentences: the model has the vocabularies
        self.text_path(download=self.hparams.download)

    # --- reading -----------------------------------------------------------------------------------

    def _try_read(self) -> None:
        if self._src_vocab is None:
            with contextlib.suppress(DataError):  # not on disk yet: known after setup
                self._read()

    def _read(self) -> None:
        """Tokens of the pairs in use, the splits and the vocabularies (once)."""
        if self._src_vocab is not None:
            return
        hp = self.hparams
        text = self.text_path().read_text(encoding="utf-8")
        wanted = hp.num_examples + hp.num_test if hp.num_examples > 0 else -1
        source, target = read_pairs(text, wanted)
        n = len(source)
        if n == 0:
            raise DataError(f"{self.folder / FRA_TXT} holds no tab-separated sentence pairs")
        if hp.num_examples > 0:
            if n < wanted:
                raise DataError(
                    f"{FRA_TXT} has {n} pairs: too few for num_examples={hp.num_examples} + num_test={hp.num_test}"
                )
            pool, test = torch.arange(hp.num_examples), torch.arange(hp.num_examples, wanted)
        else:
            if n <= hp.num_test:
                raise DataError(f"{FRA_TXT} has {n} pairs: too few to hold out num_test={hp.num_test}")
            order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
            test, pool = order[: hp.num_test].sort().values, order[hp.num_test :].sort().values
        (train,), (val,) = split_off([pool], hp.val_split)
        self.split_indices = {"train": train.sort().values, "val": val.sort().values, "test": test}
        self._src_vocab = source.vocab(self.split_indices["train"], hp.min_freq)
        self._tgt_vocab = target.vocab(self.split_indices["train"], hp.min_freq)
        self._source, self._target = source, target

    def arrays(self, rows: torch.Tensor, references: bool = False) -> tuple[torch.Tensor, ...]:
        """``(X, X_valid_len, Y, Y_valid_len)`` of the pairs at `rows` (and the references ``R``)."""
        src_vocab, tgt_vocab, T = self._src_vocab, self._tgt_vocab, self.hparams.num_steps
        X, X_len = pad_sequences(
            *self._source.encode(rows, src_vocab, src_vocab.unk), T, src_vocab[PAD], src_vocab[EOS]
        )
        flat, lengths = self._target.encode(rows, tgt_vocab, OOV)
        Y, Y_len = pad_sequences(flat.clamp(min=tgt_vocab.unk), lengths, T, tgt_vocab[PAD], tgt_vocab[EOS])
        if not references:
            return X, X_len, Y, Y_len
        R, _ = pad_sequences(flat, lengths, max(int(lengths.max()), 1), tgt_vocab[PAD])
        return X, X_len, Y, Y_len, R

    def setup(self, stage: str | None = None) -> None:
        if stage == "predict" or self.train_set is not None:
            return
        self._read()
        splits = self.split_indices
        self.train_set = TensorBatches(*self.arrays(splits["train"]))
        self.test_set = TensorBatches(*self.arrays(splits["test"], references=True)) if len(splits["test"]) else None
        if len(splits["val"]):
            self.val_set = TensorBatches(*self.arrays(splits["val"], references=True))
        else:
            self.val_set = self.test_set
        self._source = self._target = None  # the word ids are in the arrays now

    def test_dataloader(self) -> DataLoader:
        if self.test_set is None:
            raise DataError(f"{type(self).__name__}: num_test is 0, so there is no test split")
        return super().test_dataloader()

    def predict_dataloader(self) -> DataLoader:
        """One batch: the sentences to translate and their references."""
        items = list(zip(self.sentences, self.references))
        return DataLoader(items, batch_size=len(items), collate_fn=collate_sentences)
