"""The Time Machine as a language-modelling corpus (book sections "Converting Raw Text into Sequence
Data" and "Language Models": random sampling and sequential partitioning).

The text ships inside the package (public domain, 179 KB), so language models train with no
download; ``source="hub"`` fetches the D2L data-hub copy into the data folder instead.

Two ways to clean the text, as the two editions do:

- ``preprocessing="whole"`` (1.0 edition): every run of non-letters in the whole text becomes one
  space, then lower case (173,428 characters).
- ``preprocessing="lines"`` (0.17 edition, ``read_time_machine``): each line cleaned the same way and
  stripped, the lines then joined with nothing between them (170,580 characters, vocabulary 28).

Three minibatch schemes:

- ``sequential`` (0.17 edition, the default): a random offset per epoch, the corpus cut into
  `batch_size` rows, consecutive minibatches continue each other row by row, so a model may carry
  its hidden state across batches. ``partition="rows"`` is 0.17's ``seq_data_iter_sequential``:
  each row is ``len // batch_size`` tokens long and the minibatches read the first
  ``num_batches * num_steps`` of each; ``partition="contiguous"`` cuts the rows from one block of
  exactly the tokens the minibatches read.
- ``random`` (0.17 edition): a random offset per epoch, non-overlapping subsequences in random order,
  each exactly once per epoch; hidden state starts afresh every batch.
- ``windows`` (1.0 edition): every window of `num_steps` tokens at stride one, the first `num_train`
  for training and the next `num_val` held out, shuffled by the DataLoader.
"""

from __future__ import annotations

import contextlib
import re
from importlib import resources
from pathlib import Path

import torch
from torch.utils.data import DataLoader, IterableDataset

from ..base import FileDataModule, known_after_setup
from ..batching import TensorBatches
from ..download import DataError, RemoteFile, fetch_all
from ..vocab import TOKEN_TYPES, Vocab, tokenize

TIME_MACHINE = RemoteFile(
    "timemachine.txt",
    "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
    "sha1:090b5e7e70c295757f55df93cb0a180b9691891a",
)
SAMPLINGS = ("sequential", "random", "windows")
PREPROCESSINGS = ("whole", "lines")
PARTITIONS = ("contiguous", "rows")


def preprocess(text: str) -> str:
    """The book's cleaning: every run of non-letters becomes one space, then lower case."""
    return re.sub("[^A-Za-z]+", " ", text).lower()


def clean_lines(text: str, preprocessing: str = "whole") -> list[str]:
    """``whole``: the whole text cleaned as one line (1.0). ``lines``: each line cleaned and stripped (0.17);
    the tokens of consecutive lines follow each other with nothing between them."""
    if preprocessing == "lines":
        return [preprocess(line).strip() for line in text.split("\n")]
    return [preprocess(text)]


def bundled_time_machine() -> Path:
    """The packaged copy of The Time Machine, checked against the data hub's SHA-1."""
    path = Path(str(resources.files("datamodules") / "text" / "assets" / TIME_MACHINE.name))
    return fetch_all([TIME_MACHINE], path.parent, "TimeMachine (bundled copy)", download=False)[0]


def _rank_and_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class LanguageModelBatches(IterableDataset):
    """Minibatches ``(X, Y)`` of shape (batch_size, num_steps), Y being X shifted by one token.

    Each pass draws a fresh offset (and, for ``random``, a fresh order) from a generator seeded by
    the global seed and the pass number, so runs are reproducible and every DDP rank agrees; each rank
    then takes its own share. The number of batches is the same every pass (the smallest over offsets).
    """

    def __init__(
        self,
        corpus: torch.Tensor,
        batch_size: int,
        num_steps: int,
        sampling: str,
        shuffle: bool = True,
        partition: str = "contiguous",
    ) -> None:
        if sampling not in ("sequential", "random"):
            raise ValueError(f"LanguageModelBatches handles sequential or random sampling, got {sampling!r}")
        self.corpus, self.batch_size, self.num_steps = corpus, batch_size, num_steps
        self.sampling, self.shuffle, self.partition = sampling, shuffle, partition
        self.base_seed, self.passes = torch.initial_seed(), 0
        if len(self) < 1:
            raise ValueError(
                f"a corpus of {len(corpus)} tokens is too short for batch_size={batch_size} x num_steps={num_steps}"
            )

    @property
    def device(self) -> torch.device:
        return self.corpus.device

    def to_(self, device: torch.device | str) -> LanguageModelBatches:
        """Keep the corpus on `device` (``--data.on_device true``): batches are then cut there; returns self."""
        self.corpus = self.corpus.to(device)
        return self

    def _rows(self) -> int:
        return self.batch_size * _rank_and_world()[1]

    def __len__(self) -> int:
        n, T, rows = len(self.corpus), self.num_steps, self._rows()
        if self.sampling == "random":  # offsets 0..T-1
            return ((n - T) // T) // rows
        return ((n - T - 1) // rows) // T  # offsets 0..T

    def __iter__(self):
        generator = torch.Generator().manual_seed(hash((self.base_seed, self.passes)) % 2**63)
        self.passes += 1
        rank, world = _rank_and_world()
        T, B, num_batches = self.num_steps, self.batch_size, len(self)
        if self.sampling == "random":
            offset = int(torch.randint(0, T, (1,), generator=generator)) if self.shuffle else 0
            num_subseqs = (len(self.corpus) - 1 - offset) // T
            starts = torch.arange(num_subseqs) * T + offset
            if self.shuffle:
                starts = starts[torch.randperm(num_subseqs, generator=generator)]
            starts = starts[: num_batches * B * world].reshape(num_batches, world, B)[:, rank].to(self.device)
            windows = torch.arange(T, device=self.device)
            for batch_starts in starts:
                idx = batch_starts[:, None] + windows
                yield self.corpus[idx], self.corpus[idx + 1]
        else:
            offset = int(torch.randint(0, T + 1, (1,), generator=generator)) if self.shuffle else 0
            rows = B * world
            # rows: 0.17's rows of len // rows tokens, of which the batches read the start;
            # contiguous: one block of exactly the tokens the batches read
            length = (len(self.corpus) - offset - 1) // rows if self.partition == "rows" else num_batches * T
            Xs = self.corpus[offset : offset + rows * length].reshape(rows, length)[rank * B : (rank + 1) * B]
            Ys = self.corpus[offset + 1 : offset + 1 + rows * length].reshape(rows, length)[rank * B : (rank + 1) * B]
            for i in range(0, num_batches * T, T):
                yield Xs[:, i : i + T], Ys[:, i : i + T]


class TimeMachine(FileDataModule):
    """The Time Machine, tokenised by character or word, in one of the book's minibatch schemes.

    Args:
        num_steps: tokens per subsequence.
        token: ``char`` or ``word``.
        sampling: ``sequential``, ``random`` or ``windows`` (see the module docstring).
        max_tokens: keep only the first `max_tokens` tokens of the corpus (-1: all). The 0.17 recipe
            uses 10,000; the vocabulary is built on the whole text either way.
        val_fraction: for ``sequential``/``random``: the last fraction of the corpus held out for
            validation (0: no validation, the 0.17 edition reports training perplexity).
        num_train, num_val: for ``windows``: how many windows to train and validate on (1.0 edition).
        min_freq: tokens rarer than this map to ``<unk>``.
        source: ``bundled`` (the packaged copy) or ``hub`` (download from the D2L data hub into
            ``<data_dir>/timemachine/``).
        preprocessing: ``whole`` (1.0) or ``lines`` (0.17), see the module docstring.
        partition: for ``sequential``: ``contiguous`` or ``rows`` (0.17's), see the module docstring.
        batch_size: subsequences per minibatch.
        data_dir, mirror, download, num_workers: see :class:`~datamodules.base.FileDataModule`.
    """

    folder_name = "timemachine"

    def __init__(
        self,
        num_steps: int = 35,
        token: str = "char",
        sampling: str = "sequential",
        max_tokens: int = -1,
        val_fraction: float = 0.0,
        num_train: int = 10000,
        num_val: int = 5000,
        min_freq: int = 0,
        source: str = "bundled",
        preprocessing: str = "whole",
        partition: str = "contiguous",
        batch_size: int = 32,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        for name, value, choices in (
            ("token", token, TOKEN_TYPES),
            ("sampling", sampling, SAMPLINGS),
            ("source", source, ("bundled", "hub")),
            ("preprocessing", preprocessing, PREPROCESSINGS),
            ("partition", partition, PARTITIONS),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if num_steps < 1:
            raise ValueError(f"num_steps must be positive, got {num_steps}")
        self._tokens: list[str] | None = None
        self._vocab: Vocab | None = None

    # --- what the model needs ----------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.hparams.token

    @property
    def vocab(self) -> Vocab:
        """The vocabulary; known at construction when the text is at hand (the bundled copy, or a hub copy
        already downloaded), else after ``setup``."""
        if self._vocab is None:
            with contextlib.suppress(DataError):  # not downloaded yet: known after setup
                self._read()
        return known_after_setup(self._vocab, self, "vocab")

    @property
    def carries_state(self) -> bool:
        """Whether consecutive training batches continue each other (models then keep hidden state)."""
        return self.hparams.sampling == "sequential"

    # --- reading -----------------------------------------------------------------------------------

    @classmethod
    def remote_files(cls) -> list[RemoteFile]:
        return [TIME_MACHINE]

    def text_path(self, download: bool = False) -> Path:
        return bundled_time_machine() if self.hparams.source == "bundled" else self.fetch(download)[0]

    def prepare_data(self) -> None:
        self.text_path(download=self.hparams.download)

    def _read(self) -> None:
        """Tokens and vocabulary of the whole text (once)."""
        if self._vocab is not None:
            return
        hp = self.hparams
        lines = clean_lines(self.text_path().read_text(encoding="utf-8"), hp.preprocessing)
        self._tokens = [t for line in lines for t in tokenize(line, hp.token)]
        self._vocab = Vocab(self._tokens, min_freq=hp.min_freq)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self._read()
        hp = self.hparams
        corpus = torch.tensor(self._vocab[self._tokens], dtype=torch.long)
        if hp.max_tokens > 0:
            corpus = corpus[: hp.max_tokens]
        self.corpus = corpus
        if hp.sampling == "windows":
            self._setup_windows(corpus)
            return
        n_val = round(len(corpus) * hp.val_fraction)
        train, val = corpus[: len(corpus) - n_val], corpus[len(corpus) - n_val :]
        B, T, sampling, partition = self.batch_size, hp.num_steps, hp.sampling, hp.partition
        self.train_set = LanguageModelBatches(train, B, T, sampling, partition=partition)
        self.val_set = LanguageModelBatches(val, B, T, sampling, shuffle=False, partition=partition) if n_val else None

    def _setup_windows(self, corpus: torch.Tensor) -> None:
        T, num_train, num_val = self.hparams.num_steps, self.hparams.num_train, self.hparams.num_val
        if len(corpus) < num_train + num_val + T:
            raise DataError(f"the corpus has {len(corpus)} tokens, too few for {num_train + num_val} windows of {T}")
        starts = torch.arange(num_train + num_val)
        windows = corpus[starts[:, None] + torch.arange(T + 1)]
        X, Y = windows[:, :-1], windows[:, 1:]
        self.train_set = TensorBatches(X[:num_train], Y[:num_train])
        self.val_set = TensorBatches(X[num_train:], Y[num_train:]) if num_val else None

    # --- the random state a resumed fit needs (Lightning saves it in checkpoints) -------------------------

    def state_dict(self) -> dict:
        """How many passes the training batches have made: each pass draws its offset (and order) from it."""
        passes = self.train_set.passes if isinstance(self.train_set, LanguageModelBatches) else 0
        return {"train_passes": passes}

    def load_state_dict(self, state_dict: dict) -> None:
        if isinstance(self.train_set, LanguageModelBatches):
            self.train_set.passes = state_dict.get("train_passes", 0)

    def loader(self, dataset, shuffle: bool) -> DataLoader:
        if isinstance(dataset, LanguageModelBatches):  # already batched, order drawn per pass
            return DataLoader(dataset, batch_size=None)
        return super().loader(dataset, shuffle)

    def test_dataloader(self):
        return self.val_dataloader()

    def predict_dataloader(self) -> DataLoader:
        """One dummy item: a language model's ``predict`` generates from its `prefix`, it reads no data."""
        return DataLoader([torch.zeros(1)], batch_size=1)
