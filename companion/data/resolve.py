"""Find the local copy of an external data file, or download it with a checksum.

A file of a registry entry (:mod:`companion.data.registry`) is looked for, in this order, at
``<dir>/<owner>__<repo>/<relpath>`` for each ``<dir>`` of :func:`search_dirs`:

1. the repository's ``data/`` folder (small files a maintainer put there),
2. the user cache: ``$COMPANION_CACHE``, else ``$XDG_CACHE_HOME/companion``, else
   ``~/.cache/companion``,
3. every folder of ``$COMPANION_DATA_DIRS`` (``os.pathsep`` separated; CI sets it to
   ``../shared/data``, a byte-for-byte mirror of the upstream repositories),

and last it is downloaded from the pinned upstream URL into the user cache. Every candidate
is checked against the registry's size and sha256: a file that does not match is refused
(a :class:`ChecksumWarning` names it) and the next location is tried. A download is streamed
to a temporary file in the cache folder, verified, and only then moved into place with
:func:`os.replace`, so no partial or wrong file is ever left where the resolver looks.

``COMPANION_OFFLINE=1`` disables the download step.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import urllib.request
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from companion.errors import DataError

if TYPE_CHECKING:
    from companion.data.registry import DatasetEntry, FileEntry

__all__ = [
    "ChecksumWarning",
    "cache_dir",
    "is_offline",
    "mirror_dirs",
    "repo_data_dir",
    "resolve",
    "search_dirs",
    "sha256_file",
]

_CHUNK = 1 << 20  # bytes read at a time while hashing or downloading
DEFAULT_TIMEOUT = 60.0  # seconds without data before a download is abandoned


class ChecksumWarning(UserWarning):
    """A local data file whose size or sha256 does not match the registry; it was skipped."""


def repo_data_dir() -> Path:
    """The ``data/`` folder of the repository this package lives in."""
    return Path(__file__).resolve().parents[2] / "data"


def cache_dir() -> Path:
    """The user cache folder of downloaded data files.

    ``$COMPANION_CACHE`` if set, else ``$XDG_CACHE_HOME/companion``, else
    ``~/.cache/companion``. The folder is not created here; a download creates it.
    """
    explicit = os.environ.get("COMPANION_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "companion"


def mirror_dirs() -> list[Path]:
    """The folders of ``$COMPANION_DATA_DIRS`` (``os.pathsep`` separated), in order."""
    raw = os.environ.get("COMPANION_DATA_DIRS", "")
    return [Path(part).expanduser() for part in raw.split(os.pathsep) if part.strip()]


def search_dirs() -> list[Path]:
    """The local folders searched for external data, in resolution order.

    Returns:
        ``[repo data/, user cache, *COMPANION_DATA_DIRS]``; duplicates removed, order kept.
    """
    seen: set[Path] = set()
    out: list[Path] = []
    for d in [repo_data_dir(), cache_dir(), *mirror_dirs()]:
        key = d.resolve() if d.exists() else d.absolute()
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def is_offline() -> bool:
    """True when ``COMPANION_OFFLINE`` is set to a true value (``1``, ``true``, ``yes``)."""
    return os.environ.get("COMPANION_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


@functools.lru_cache(maxsize=1024)
def _sha256_memo(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, memoized on (path, size, mtime) so a process hashes it once."""
    del size, mtime_ns  # part of the cache key only
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file; repeated calls on an unchanged file do not re-read it.

    Args:
        path: File to hash.

    Returns:
        The 64-character lowercase hex digest.
    """
    p = Path(path).resolve()
    st = p.stat()
    return _sha256_memo(str(p), st.st_size, st.st_mtime_ns)


def _matches(path: Path, expected: FileEntry) -> bool:
    """Size first (cheap), then sha256."""
    try:
        if path.stat().st_size != expected.size:
            return False
        return sha256_file(path) == expected.sha256
    except OSError:
        return False


def _missing_message(entry: DatasetEntry, f: FileEntry, reason: str, refused: list[Path]) -> str:
    target = cache_dir() / entry.folder / f.path
    lines = [
        f"data file '{f.path}' of data set '{entry.name}' is not available ({reason}).",
        f"  upstream URL : {entry.url(f.path)}",
        f"  sha256       : {f.sha256} ({f.size} bytes)",
        f"  put it here  : {target}",
        "  or set COMPANION_DATA_DIRS (os.pathsep-separated folders) to a folder that holds "
        f"'{entry.folder}/{f.path}', e.g. COMPANION_DATA_DIRS=../shared/data",
        "  looked in    : " + ", ".join(str(d) for d in search_dirs()),
    ]
    if refused:
        lines.append("  refused (checksum mismatch): " + ", ".join(str(p) for p in refused))
    return "\n".join(lines)


def _download(url: str, dest: Path, expected: FileEntry, timeout: float) -> None:
    """Stream ``url`` to a temp file beside ``dest``, verify, then ``os.replace`` it.

    Raises:
        DataError: the payload's size or sha256 is wrong (the temp file is removed).
        OSError: network errors (``urllib.error.URLError`` is a subclass), timeouts.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(_CHUNK):
                size += len(chunk)
                if size > expected.size:
                    break
                h.update(chunk)
                out.write(chunk)
        if size != expected.size or h.hexdigest() != expected.sha256:
            raise DataError(
                f"download of {url} refused: got {size} bytes with sha256 {h.hexdigest()}, "
                f"expected {expected.size} bytes with sha256 {expected.sha256}"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def resolve(
    entry: DatasetEntry,
    relpath: str,
    *,
    download: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Return a verified local path of one file of a registry entry.

    Args:
        entry: The data set's registry entry.
        relpath: The file's path inside the upstream repository (as listed in ``entry.files``).
        download: Allow the download step (also disabled by ``COMPANION_OFFLINE=1``).
        timeout: Network timeout of the download, in seconds.

    Returns:
        Path of a file whose size and sha256 match the registry.

    Raises:
        DataError: ``relpath`` is not part of the entry; or no valid local copy exists and the
            download is disabled, fails, or delivers a wrong payload. The message names the
            file, its URL, where to put it, and the ``COMPANION_DATA_DIRS`` option.
    """
    f = entry.file(relpath)
    refused: list[Path] = []
    for d in search_dirs():
        candidate = d / entry.folder / f.path
        if not candidate.is_file():
            continue
        if _matches(candidate, f):
            return candidate
        warnings.warn(
            f"refusing {candidate}: its size/sha256 does not match the registry entry "
            f"'{entry.name}' (expected sha256 {f.sha256}); trying the next location",
            ChecksumWarning,
            stacklevel=2,
        )
        refused.append(candidate)

    if not download or is_offline():
        why = "offline: COMPANION_OFFLINE=1" if is_offline() else "download disabled"
        raise DataError(_missing_message(entry, f, why, refused))
    dest = cache_dir() / entry.folder / f.path
    url = entry.url(f.path)
    try:
        _download(url, dest, f, timeout)
    except DataError as exc:
        raise DataError(_missing_message(entry, f, str(exc), refused)) from exc
    except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, bad URLs
        raise DataError(_missing_message(entry, f, f"download failed: {exc}", refused)) from exc
    return dest
