"""Find the local copy of a data file, or download it with a checksum (pooch).

Every file a data set may read has one line in the checksum registry,
``companion/data/registry.txt`` (:data:`REGISTRY`), in ``sha256sum`` format::

    <sha256>  <key>

where the key is ``<owner>__<repo>/<path>`` for a file of an upstream repository and the
plain file name for a file shipped in ``data/`` (the shipped sets and the test fixtures).
A file is looked for at ``<dir>/<key>`` for each ``<dir>`` of :func:`search_dirs`:

1. the repository's ``data/`` folder (shipped files; small files a maintainer put there),
2. the user cache: ``$COMPANION_CACHE``, else ``$XDG_CACHE_HOME/companion``, else
   ``~/.cache/companion``,
3. every folder of ``$COMPANION_DATA_DIRS`` (``os.pathsep`` separated; CI sets it to
   ``../shared/data``, a byte-for-byte mirror of the upstream repositories).

A candidate whose sha256 differs from the registry is refused (a :class:`ChecksumWarning`
names it) and the next location is tried. Last, an upstream file is downloaded from its
pinned URL into the user cache by :func:`pooch.retrieve` with ``known_hash``: pooch streams
it to a temporary file beside the target, checks the hash and only then moves it into place,
so no partial or wrong file is ever left where the resolver looks.

``COMPANION_OFFLINE=1`` disables the download step. A file that is missing and cannot be
downloaded raises one :class:`~companion.errors.DataError` naming the file and
``COMPANION_DATA_DIRS``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from companion.errors import DataError

if TYPE_CHECKING:
    from companion.data.entry import DatasetEntry

__all__ = [
    "REGISTRY",
    "ChecksumWarning",
    "cache_dir",
    "checksum",
    "checksums",
    "is_offline",
    "mirror_dirs",
    "repo_data_dir",
    "resolve",
    "search_dirs",
    "sha256_file",
    "update_checksums",
]

REGISTRY = Path(__file__).resolve().parent / "registry.txt"
_CHUNK = 1 << 20  # bytes read at a time while hashing
DEFAULT_TIMEOUT = 60.0  # seconds without data before a download is abandoned


class ChecksumWarning(UserWarning):
    """A local data file whose sha256 does not match the registry; it was skipped."""


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
    """The local folders searched for data files, in resolution order.

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


@functools.cache
def checksums() -> dict[str, str]:
    """The checksum registry: key -> lowercase hex sha256 (read once per process).

    Raises:
        DataError: the registry file is unreadable or has a malformed line.
    """
    try:
        text = REGISTRY.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the checksum registry {REGISTRY}: {exc}") from exc
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, _, key = line.partition("  ")
        if len(digest) != 64 or not key.strip():
            raise DataError(f"{REGISTRY}:{n}: expected '<sha256>  <file>', got {line!r}")
        out[key.strip()] = digest.lower()
    return out


def checksum(key: str) -> str:
    """The registered sha256 of a file (a key of :func:`checksums`).

    Raises:
        DataError: the file has no line in the registry (the message says how to add it).
    """
    try:
        return checksums()[key]
    except KeyError:
        raise DataError(f"'{key}' has no checksum in {REGISTRY}; add the line "
                        f"'<sha256>  {key}' (sha256sum format)") from None


def update_checksums(sums: Mapping[str, str], section: str) -> None:
    """Write checksums into the registry file (for the scripts that make files of ``data/``).

    A key already in the registry gets its digest replaced in place; a new key is added at
    the end of the block that starts with the comment line ``# <section>`` (created at the
    end of the file if absent). Other lines are kept as they are.

    Args:
        sums: key -> lowercase hex sha256.
        section: The comment (without ``# ``) that heads the block of new keys.
    """
    lines = REGISTRY.read_text(encoding="utf-8").splitlines()
    new = dict(sums)
    for i, line in enumerate(lines):
        key = line.partition("  ")[2].strip()
        if not line.startswith("#") and key in new:
            lines[i] = f"{new.pop(key)}  {key}"
    if new:
        added = [f"{digest}  {key}" for key, digest in new.items()]
        if f"# {section}" in lines:
            end = lines.index(f"# {section}") + 1
            while end < len(lines) and lines[end].strip():
                end += 1
            lines[end:end] = added
        else:
            lines += ["", f"# {section}", *added]
    REGISTRY.write_text("\n".join(lines) + "\n", encoding="utf-8")
    checksums.cache_clear()


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


def _missing_message(entry: DatasetEntry, relpath: str, reason: str,
                     refused: list[Path]) -> str:
    key = entry.key(relpath)
    url = entry.url(relpath)
    lines = [f"data file '{relpath}' of data set '{entry.name}' is not available ({reason})."]
    if url is None:
        lines.append(f"  it is shipped in the repository's data/ folder: restore it with "
                     f"`git checkout data/{key}`")
    else:
        lines.append(f"  upstream URL : {url}")
    lines += [
        f"  sha256       : {checksum(key)}",
        f"  put it here  : {cache_dir() / key}",
        "  or set COMPANION_DATA_DIRS (os.pathsep-separated folders) to a folder that holds "
        f"'{key}', e.g. COMPANION_DATA_DIRS=../shared/data",
        "  looked in    : " + ", ".join(str(d) for d in search_dirs()),
    ]
    if refused:
        lines.append("  refused (checksum mismatch): " + ", ".join(str(p) for p in refused))
    return "\n".join(lines)


def _download(url: str, digest: str, dest: Path, timeout: float) -> Path:
    """:func:`pooch.retrieve` of ``url`` to ``dest``, verified against ``digest``.

    Raises:
        ValueError: the payload's sha256 is wrong (pooch deletes it).
        OSError: network errors (``requests``' exceptions are ``OSError`` subclasses).
    """
    import pooch

    downloader = pooch.HTTPDownloader(timeout=timeout, progressbar=False)
    path = pooch.retrieve(url, known_hash=f"sha256:{digest}", fname=dest.name,
                          path=dest.parent, downloader=downloader)
    return Path(path)


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
        relpath: One of ``entry.files``.
        download: Allow the download step (also disabled by ``COMPANION_OFFLINE=1``).
        timeout: Network timeout of the download, in seconds.

    Returns:
        Path of a file whose sha256 matches the registry.

    Raises:
        DataError: ``relpath`` is not part of the entry; or no valid local copy exists and the
            download is disabled, impossible (a file of ``data/``), fails, or delivers a wrong
            payload. The message names the file, its URL, where to put it, and the
            ``COMPANION_DATA_DIRS`` option.
    """
    key = entry.key(relpath)
    digest = checksum(key)
    refused: list[Path] = []
    for d in search_dirs():
        candidate = d / key
        if not candidate.is_file():
            continue
        if sha256_file(candidate) == digest:
            return candidate
        warnings.warn(
            f"refusing {candidate}: its sha256 does not match the registry entry "
            f"'{entry.name}' (expected sha256 {digest}); trying the next location",
            ChecksumWarning,
            stacklevel=2,
        )
        refused.append(candidate)

    url = entry.url(relpath)
    if url is None or not download or is_offline():
        why = ("not found in data/" if url is None else
               "offline: COMPANION_OFFLINE=1" if is_offline() else "download disabled")
        raise DataError(_missing_message(entry, relpath, why, refused))
    try:
        return _download(url, digest, cache_dir() / key, timeout)
    except ValueError as exc:  # pooch: the payload's hash does not match
        reason = f"download of {url} refused: {exc}"
        raise DataError(_missing_message(entry, relpath, reason, refused)) from exc
    except OSError as exc:  # requests' ConnectionError, Timeout, HTTPError; disk errors
        reason = f"download failed: {exc}"
        raise DataError(_missing_message(entry, relpath, reason, refused)) from exc
