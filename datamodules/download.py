"""Where data lives, and how it gets there: download once, verify the published hash every time.

Every data set resolves its folder the same way (`data_dir`, else `$D2L_ZOO_DATA`, else `./data`)
and fetches its files through :func:`fetch_all`, which uses pooch for download, retry and hash
checks. A file whose hash differs from the published one is never handed to a data set.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pooch

DATA_ENV = "D2L_ZOO_DATA"


class DataError(RuntimeError):
    """A data file is missing, cannot be downloaded, or is corrupt. The message says what to do."""


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its name on disk, its URL and its published hash (``"md5:..."``/``"sha1:..."``)."""

    name: str
    url: str
    known_hash: str

    def at_mirror(self, mirror: str | None) -> str:
        """The URL of this file at `mirror` (a base URL or a local folder), or its own URL."""
        if not mirror:
            return self.url
        if "://" not in mirror:
            mirror = Path(mirror).resolve().as_uri()
        return mirror.rstrip("/") + "/" + self.name


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """`data_dir` if given, else `$D2L_ZOO_DATA`, else `./data`."""
    return Path(data_dir or os.environ.get(DATA_ENV) or "data").expanduser()


def _copy_local_file(url: str, output_file: str, pooch_obj: object, check_only: bool = False) -> bool | None:
    """A pooch downloader for ``file://`` URLs (local mirrors and tests)."""
    source = Path(url2pathname(urlparse(url).path))
    if check_only:
        return source.is_file()
    shutil.copyfile(source, output_file)
    return None


def _downloader_for(url: str):
    return _copy_local_file if url.startswith("file://") else pooch.HTTPDownloader(progressbar=False, timeout=30)


def hash_of(path: Path, known_hash: str) -> str:
    """The hash of `path` in the algorithm of `known_hash` (``"sha1:..."``), written the same way."""
    algorithm = known_hash.split(":", 1)[0]
    return f"{algorithm}:{pooch.file_hash(str(path), alg=algorithm)}"


def fetch_all(
    files: list[RemoteFile], folder: Path, dataset: str, mirror: str | None = None, download: bool = True
) -> list[Path]:
    """Return the verified local paths of `files` in `folder`, downloading what is missing.

    Raises one :class:`DataError` naming every file that is missing or corrupt, with its expected
    hash, the folder to put it in and the reason the download failed.
    """
    paths, problems = [], []
    for file in files:
        path = folder / file.name
        problem = None
        if path.is_file():
            actual = hash_of(path, file.known_hash)
            if actual == file.known_hash:
                paths.append(path)
                continue
            problem = f"the file there is corrupt or truncated: its hash is {actual}"
        if download:
            url = file.at_mirror(mirror)
            try:
                pooch.retrieve(url, file.known_hash, fname=file.name, path=folder, downloader=_downloader_for(url))
                paths.append(path)
                continue
            except ValueError as err:  # pooch: the downloaded file's hash differs (the download is deleted)
                problem = f"the download from {url} failed its hash check ({err})"
            except (OSError, RuntimeError) as err:  # no network, 404, unreadable mirror, read-only folder
                detail = str(err) if len(str(err)) < 100 else str(err)[:100] + "..."
                reason = f"cannot download {url} ({type(err).__name__}: {detail})"
                problem = f"{problem}; {reason}" if problem else reason
        problems.append((file, problem or "missing and downloading is switched off"))
    if problems:
        lines = [f"{dataset}: {len(problems)} file(s) missing or corrupt in {folder.resolve()}"]
        for file, problem in problems:
            lines.append(f"  - {file.name}  (expected {file.known_hash})\n      {problem}")
        lines.append(
            f"Put the files with these hashes in {folder.resolve()} (or point ${DATA_ENV} at a folder "
            f"holding '{folder.name}/'), then run again. A corrupt file is never used: delete it first."
        )
        raise DataError("\n".join(lines))
    return paths


def extract_zip(archive: Path, into: Path, top: str) -> Path:
    """Unpack the folder `top` of zip `archive` (members elsewhere, e.g. ``__MACOSX/``, are skipped) to
    ``into / top``; return that folder.

    Unpacks next to it first and renames when complete, so an interrupted extraction never leaves a half-filled
    ``into / top`` that looks ready.
    """
    target, partial = into / top, into / f".{top}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        members = [name for name in zf.namelist() if name.startswith(top + "/")]
        if not members:
            raise DataError(f"{archive} holds no folder {top}/: it is not the archive this data set expects")
        zf.extractall(partial, members=members)  # zipfile drops absolute paths and '..' from member names
    shutil.rmtree(target, ignore_errors=True)
    (partial / top).rename(target)
    shutil.rmtree(partial, ignore_errors=True)
    return target


def extract_tar(archive: Path, into: Path, top: str) -> Path:
    """Unpack the folder `top` of tar `archive` to ``into / top`` (members elsewhere are skipped; links, devices
    and paths leaving the folder are refused, tarfile's ``data`` filter); return that folder.

    As :func:`extract_zip`, it unpacks next to the target first and renames when complete.
    """
    target, partial = into / top, into / f".{top}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name == top or m.name.startswith(top + "/")]
            if not members:
                raise DataError(f"{archive} holds no folder {top}/: it is not the archive this data set expects")
            tar.extractall(partial, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as err:
        shutil.rmtree(partial, ignore_errors=True)
        raise DataError(f"{archive} cannot be unpacked ({type(err).__name__}: {err})") from None
    shutil.rmtree(target, ignore_errors=True)
    (partial / top).rename(target)
    shutil.rmtree(partial, ignore_errors=True)
    return target
