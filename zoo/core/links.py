"""What a data module tells a model, in one table.

A data module knows facts a network needs to be built: how many classes, input channels and input
features there are, the vocabulary (a translation pair's two), the sequence length, the lag of a sequence,
the shape of the image style transfer synthesises. Each fact travels one of two visible ways:

1. Known when the data module is constructed (most are): ``cli.py`` links the data module's attribute
   to the model's argument (LightningCLI's ``link_arguments``, applied on instantiation), so the user
   types it once, on the data (``--data.resize 32``, ``--data.num_features 2``).
2. Known only once the data is on disk (KaggleHouse's feature count after preprocessing, a
   downloaded text's vocabulary): the data module's attribute raises ``AttributeError`` until
   ``setup`` (so the link skips it), the model's argument stays None, and
   :meth:`zoo.core.base.ZooModule.configure_model` (Lightning's hook for deferred building) takes the
   value from the data module after ``setup`` and builds the layers that need it.

Either way the value is saved in the model's hyperparameters, so ``load_from_checkpoint`` and
``get_model`` give complete models without a trainer or data.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def vocab_tokens(vocab) -> list[str] | None:
    """A :class:`datamodules.vocab.Vocab` as the plain token list a model saves in its hyperparameters."""
    return None if vocab is None else list(vocab.idx_to_token)


@dataclass(frozen=True)
class DataArg:
    """One fact: the data module's attribute, the model's ``__init__`` argument it fills.

    ``strict``: a model built with another value does not fit the data (an error); otherwise the
    data's value is only a default for a model left at None (and is not linked on the command line).
    """

    data_attr: str
    model_arg: str
    strict: bool = True
    convert: Callable[[Any], Any] | None = None


DATA_ARGS: tuple[DataArg, ...] = (
    DataArg("num_classes", "num_classes"),
    DataArg("in_channels", "in_channels"),
    DataArg("num_inputs", "num_inputs"),
    DataArg("vocab", "vocab", convert=vocab_tokens),
    DataArg("src_vocab", "src_vocab", convert=vocab_tokens),
    DataArg("tgt_vocab", "tgt_vocab", convert=vocab_tokens),
    DataArg("num_steps", "num_steps"),
    DataArg("token", "token_type"),
    DataArg("tau", "tau"),
    DataArg("carries_state", "carry_state", strict=False),
    DataArg("image_shape", "image_shape"),
    DataArg("max_len", "max_len", strict=False),  # BERT's positions: at least the data's pairs' length
)


def data_facts(data: object) -> dict[str, Any]:
    """``{model argument: value}`` for every fact of :data:`DATA_ARGS` that `data` knows now."""
    facts = {}
    for arg in DATA_ARGS:
        value = getattr(data, arg.data_attr, None)  # AttributeError (not known yet) -> None
        if value is not None:
            facts[arg.model_arg] = arg.convert(value) if arg.convert else value
    return facts


def data_arg(model_arg: str) -> DataArg:
    return next(arg for arg in DATA_ARGS if arg.model_arg == model_arg)


def init_arguments(cls: type) -> set[str]:
    """Every argument `cls` accepts, following ``**kwargs`` up the class chain (as LightningCLI does)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names
