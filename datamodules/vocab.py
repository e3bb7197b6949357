"""Tokens and vocabularies (book section "Converting Raw Text into Sequence Data")."""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping, Sequence

TOKEN_TYPES = ("char", "word")
UNK = "<unk>"


def tokenize(text: str, token: str = "char") -> list[str]:
    """Split text into characters or whitespace-separated words."""
    if token == "char":
        return list(text)
    if token == "word":
        return text.split()
    raise ValueError(f"token must be one of {TOKEN_TYPES}, got {token!r}")


def detokenize(tokens: Iterable[str], token: str = "char") -> str:
    """The inverse of :func:`tokenize` (up to whitespace for words)."""
    return ("" if token == "char" else " ").join(tokens)


class Vocab:
    """Maps tokens to indices and back; index 0 is ``<unk>``, then reserved tokens, then by frequency.

    Args:
        tokens: the corpus tokens (a flat list, or a list of lists) counted to build the vocabulary.
        min_freq: tokens seen fewer times map to ``<unk>``.
        reserved_tokens: tokens that always get an index (e.g. ``<pad>``, ``<bos>``, ``<eos>``).
    """

    def __init__(
        self, tokens: Sequence = (), min_freq: int = 0, reserved_tokens: Sequence[str] = (), *, idx_to_token=None
    ):
        if idx_to_token is not None:  # rebuilding a saved vocabulary
            if not idx_to_token or idx_to_token[0] != UNK:
                raise ValueError(f"a saved vocabulary must start with {UNK!r}")
            self.idx_to_token = list(idx_to_token)
            self.token_freqs: list[tuple[str, int]] = []
        else:
            if tokens and isinstance(tokens[0], (list, tuple)):
                tokens = [token for line in tokens for token in line]
            self.token_freqs = sorted(collections.Counter(tokens).items(), key=lambda x: (-x[1], x[0]))
            self.idx_to_token = [UNK, *dict.fromkeys(t for t in reserved_tokens if t != UNK)]
            seen = set(self.idx_to_token)
            self.idx_to_token += [t for t, freq in self.token_freqs if freq >= min_freq and t not in seen]
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}

    @classmethod
    def from_tokens(cls, idx_to_token: Sequence[str]) -> Vocab:
        """Rebuild a vocabulary from its saved ``idx_to_token`` list (as stored in checkpoints)."""
        return cls(idx_to_token=idx_to_token)

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], min_freq: int = 0, reserved_tokens: Sequence[str] = ()) -> Vocab:
        """The vocabulary of a corpus given by its token counts (the same as counting the tokens themselves)."""
        vocab = cls(reserved_tokens=reserved_tokens)
        vocab.token_freqs = sorted(((t, f) for t, f in counts.items() if f > 0), key=lambda x: (-x[1], x[0]))
        seen = set(vocab.idx_to_token)
        vocab.idx_to_token += [t for t, freq in vocab.token_freqs if freq >= min_freq and t not in seen]
        vocab.token_to_idx = {token: idx for idx, token in enumerate(vocab.idx_to_token)}
        return vocab

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        """Index of one token, or a list of indices for a list of tokens; unknown tokens give ``unk``."""
        if isinstance(tokens, (list, tuple)):
            return [self[token] for token in tokens]
        return self.token_to_idx.get(tokens, self.unk)

    def to_tokens(self, indices):
        if isinstance(indices, int):
            return self.idx_to_token[indices]
        return [self.idx_to_token[int(i)] for i in indices]

    @property
    def unk(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.idx_to_token == other.idx_to_token

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.idx_to_token[:8]}...)"
