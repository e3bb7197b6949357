"""Pretrained networks: weights-only files with their metadata, verified by hash and loaded without running code.

A weights file is ``NAME-<first 8 hex digits of its sha256>.pt`` (torch.hub's convention) holding plain data
only: the network's class, its hyperparameters, its ``state_dict``, the data module it was trained on and the
metadata of its model card (the recipe, the measured metrics, the data's published hashes). It is read with
``torch.load(weights_only=True)``, so a tampered file cannot run code, and its hash is checked against its name
(and, for a published name, against the index) before it is used.

``zoo.list_pretrained()`` names the published ones (``zoo/pretrained/index.yaml``: the files shipped inside the
package, so they load on a fresh machine with no network); ``zoo.load_pretrained(name_or_path_or_url)`` returns a
ready model in eval mode, its card in ``model.pretrained``. Where files are looked for: the package, then
``$D2L_ZOO_WEIGHTS`` (a folder), then the download cache; a URL (or an index entry's ``url``) is downloaded once
into the cache, ``$D2L_ZOO_WEIGHTS`` or ``~/.cache/d2l-zoo/weights``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
import yaml

from .checkpoint import CheckpointError, read_checkpoint, resolve_class, saved_classes

WEIGHTS_ENV = "D2L_ZOO_WEIGHTS"
PACKAGED = Path(__file__).resolve().parents[1] / "pretrained"
INDEX = PACKAGED / "index.yaml"
FORMAT = "d2l-zoo weights 1"
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.pt$")
_INTERNAL = ("_class_path", "_instantiator")


class PretrainedError(ValueError):
    """A pretrained name, file or URL that cannot be used; the message says why and what to do."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- the index of published weights --------------------------------------------------------------------


def _index() -> dict[str, dict]:
    return (yaml.safe_load(INDEX.read_text()) or {}) if INDEX.is_file() else {}


def list_pretrained() -> list[str]:
    """The names of the published pretrained networks."""
    return list(_index())


def pretrained_table(markdown: bool = True) -> str:
    """The published networks: name, network, measured metrics, file."""
    rows = []
    for name, entry in _index().items():
        measured = entry.get("metrics") or {}
        tested = {k: v for k, v in measured.items() if not k.startswith("fit ")}
        if not any(k.startswith("test/") for k in tested):  # nothing to test on (a language model): the fit's figures
            tested = {k.replace(" (last epoch)", ""): v for k, v in measured.items() if k.startswith("fit ")} | tested
        metrics = ", ".join(f"{k} {v}" for k, v in tested.items())
        rows.append([name, entry.get("network", ""), metrics, entry["file"]])
    header = ["Name", "Network", "Measured", "File"]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join([f"`{r[0]}`", *r[1:3], f"`{r[3]}`"]) + " |" for r in rows])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows])


def pretrained_info(name: str) -> dict:
    """The index entry of `name`: ``file``, ``sha256``, ``url`` and the card's metadata."""
    index = _index()
    if name not in index:
        close = difflib.get_close_matches(name, index, n=3)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise PretrainedError(f"no pretrained network {name!r}.{hint} Known: {', '.join(index) or 'none'}")
    return index[name]


def cache_dir() -> Path:
    return Path(os.environ.get(WEIGHTS_ENV) or Path.home() / ".cache" / "d2l-zoo" / "weights").expanduser()


def _download(url: str, known_sha256: str | None) -> Path:
    """`url` into the cache (once), hash-checked: against `known_sha256`, else against the file name's prefix."""
    import pooch

    from datamodules.download import _downloader_for  # the zoo's download layer: file:// and plain folders too

    name = url.rstrip("/").rsplit("/", 1)[-1]
    try:
        path = pooch.retrieve(
            url, f"sha256:{known_sha256}" if known_sha256 else None, fname=name, path=cache_dir(),
            downloader=_downloader_for(url),
        )  # fmt: skip
    except (OSError, RuntimeError, ValueError) as err:
        raise PretrainedError(
            f"cannot download {url} ({type(err).__name__}: {str(err)[:120]}); put the file in {cache_dir()} "
            f"(or a folder named by ${WEIGHTS_ENV}) and run again"
        ) from err
    return Path(path)


def locate(name: str) -> Path:
    """The verified local file of the published network `name` (downloading it once if it has a ``url``)."""
    entry = pretrained_info(name)
    for folder in (PACKAGED, cache_dir()):
        if (folder / entry["file"]).is_file():
            return check_file(folder / entry["file"], entry["sha256"])
    if entry.get("url"):
        return check_file(_download(entry["url"], entry["sha256"]), entry["sha256"])
    raise PretrainedError(
        f"{name}: {entry['file']} (sha256 {entry['sha256']}) is neither in the package nor in {cache_dir()}; "
        f"put it there (or in a folder named by ${WEIGHTS_ENV})"
    )


def check_file(path: Path, expected_sha256: str | None = None) -> Path:
    """`path` if its sha256 matches `expected_sha256` (or, when none is given, the prefix in its name)."""
    if not path.is_file():
        raise PretrainedError(f"weights file not found: {path}")
    actual = sha256(path)
    match = _HASH_IN_NAME.search(path.name)
    expected = expected_sha256 or (match.group(1) if match else None)
    if expected and not actual.startswith(expected):
        raise PretrainedError(
            f"{path} is corrupt or not the published file: its sha256 is {actual}, expected {expected}; delete it "
            "and download it again"
        )
    return path


def read_weights(source: str | os.PathLike) -> dict:
    """The payload of a weights file given by published name, path or URL, verified and loaded as plain data."""
    source = str(source)
    if source in _index() or ("/" not in source and not source.endswith(".pt")):
        path = locate(source)  # a published name (an unknown one is an error listing the known ones)
    elif "://" in source:
        path = check_file(_download(source, None))
    else:
        path = check_file(Path(source).expanduser())
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise PretrainedError(f"{path} is not a weights file the zoo can read ({type(err).__name__}: {err})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise PretrainedError(f"{path} is not a d2l-zoo weights file (write one with `python cli.py publish`)")
    return payload


def load_pretrained(source: str | os.PathLike) -> torch.nn.Module:
    """A pretrained network, ready in eval mode, from a published name, a weights file's path or a URL.

    >>> model = zoo.load_pretrained("lenet-fashion-mnist")
    >>> model.pretrained["metrics"]["test/acc"]
    """
    payload = read_weights(source)
    model = resolve_class(payload["class"])(**payload["hparams"])
    model.load_state_dict(payload["state_dict"])
    model.pretrained = payload["metadata"]
    return model.eval()


def config_from_weights(source: str | os.PathLike) -> tuple[dict, dict]:
    """``({"model": ..., "data": ...} CLI defaults, state_dict)`` of a weights file, for ``cli.py --pretrained``."""
    payload = read_weights(source)
    config = {"model": {"class_path": payload["class"], "init_args": payload["hparams"]}}
    if payload.get("data"):
        config["data"] = payload["data"]
    return config, payload["state_dict"]


# --- publishing --------------------------------------------------------------------------------------


def publish(ckpt_path: str | os.PathLike, name: str, out_dir: str | os.PathLike, metadata: dict[str, Any]) -> Path:
    """Write the weights of a trained checkpoint as ``<out_dir>/<name>-<sha256 prefix>.pt`` (no optimizer state,
    plain data only) with `metadata` (the card's facts); return its path."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise PretrainedError(f"a pretrained name is lower-case letters, digits and dashes, got {name!r}")
    ckpt = read_checkpoint(ckpt_path)
    classes = saved_classes(ckpt)
    if "model" not in classes:
        raise CheckpointError(f"{ckpt_path} does not record which model wrote it")
    payload = {
        "format": FORMAT,
        "class": classes["model"],
        "hparams": {k: v for k, v in (ckpt.get("hyper_parameters") or {}).items() if k not in _INTERNAL},
        "state_dict": ckpt["state_dict"],
        "metadata": {"name": name, **metadata},
    }
    if "data" in classes:
        data_args = {k: v for k, v in (ckpt.get("datamodule_hyper_parameters") or {}).items() if k not in _INTERNAL}
        for machine_specific in ("data_dir", "mirror", "num_workers"):  # where a user's data lives is theirs
            data_args.pop(machine_specific, None)
        payload["data"] = {"class_path": classes["data"], "init_args": data_args}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out_dir, suffix=".pt", delete=False) as tmp:
        torch.save(payload, tmp.name)
    digest = sha256(Path(tmp.name))
    path = out_dir / f"{name}-{digest[:8]}.pt"
    for old in out_dir.glob(f"{name}-*.pt"):  # one file per name
        old.unlink()
    os.replace(tmp.name, path)
    path.chmod(0o644)  # the temporary file was private
    return path


def model_card(payload_or_path: dict | str | os.PathLike) -> str:
    """The markdown model card of a weights file (or its payload): what it is, how it was trained, what it
    measured, how to load it."""
    payload = payload_or_path if isinstance(payload_or_path, dict) else read_weights(payload_or_path)
    meta = payload["metadata"]
    data = payload.get("data", {}).get("class_path", "its data").removeprefix("datamodules.")
    lines = [
        f"# {meta['name']}",
        "",
        meta.get("description") or f"{meta.get('network', payload['class'])}, trained on {data}.",
        "",
    ]
    lines += [
        f"- **Network**: `{payload['class']}` ({meta.get('network', '')}), {meta.get('parameters', '?')} parameters"
    ]
    if meta.get("book"):
        lines.append(f"- **Book**: {meta['book']}")
    if payload.get("data"):
        lines.append(
            f"- **Data**: `{payload['data']['class_path']}`"
            + (f" ({meta['data_hashes']})" if meta.get("data_hashes") else "")
        )
    lines.append(
        f"- **Trained with**: `{meta.get('command', '')}` on {meta.get('hardware', '?')}, {meta.get('date', '?')}"
    )
    lines += ["", "## Measured", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in (meta.get("metrics") or {}).items()]
    if meta.get("book_figure"):
        lines += ["", f"The book's figure for the same recipe: {meta['book_figure']}."]
    lines += [
        "",
        "## Load",
        "",
        "```python",
        "import zoo",
        "",
        f'model = zoo.load_pretrained("{meta["name"]}")',
        "```",
        "",
    ]
    lines += ["or `python cli.py predict --pretrained " + meta["name"] + "` (and `test`).", ""]
    return "\n".join(line for line in lines if line is not None)


def write_index_entry(path: Path, url: str | None = None) -> None:
    """Record the weights file `path` (in the package folder) in the index of published networks."""
    payload = read_weights(path)
    index = _index()
    meta = payload["metadata"]
    index[meta["name"]] = {"file": path.name, "sha256": sha256(path), "url": url, "class": payload["class"], **{
        k: meta[k] for k in ("network", "metrics", "date") if k in meta}}  # fmt: skip
    INDEX.write_text(yaml.safe_dump(index, sort_keys=False, width=120))


__all__ = [
    "PretrainedError",
    "config_from_weights",
    "list_pretrained",
    "load_pretrained",
    "model_card",
    "publish",
    "read_weights",
]
