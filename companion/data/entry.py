"""The registry entry of a data set: its loader, its upstream test split and its provenance.

One :class:`DatasetEntry` per data set lives beside its loader in
:mod:`companion.data.sets` (for example :data:`companion.data.sets.ethanol.ENTRY`), and
:data:`companion.data.DATASETS` maps every name to its entry. An entry holds objects, not
names: ``entry.load`` is the loader function itself, so "go to definition" leads to it.

The checksums of the files are not written here but in the one text registry,
``companion/data/registry.txt`` (see :mod:`companion.data.resolve`); an entry only lists
its files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from companion.errors import DataError

__all__ = ["RAW_GITHUB", "DatasetEntry", "choose_split"]

RAW_GITHUB = "https://raw.githubusercontent.com/{owner}/{repo}/{commit}/{path}"


@dataclass(frozen=True, eq=False)
class DatasetEntry:
    """A data set: its loader, its files and where they come from, license and citation.

    Attributes:
        name: Registry name, e.g. ``"ethanol"``.
        load: The loader; ``load(**kwargs)`` returns the data set (keyword arguments such as
            ``split=`` are the loader's own).
        description: One paragraph: what the data are and what is (not) available.
        files: The files the loader may read. For an upstream set, paths inside the
            upstream repository (forward slashes); for a file shipped in ``data/``, its
            name there.
        license: License of the repository / data.
        citation: What to cite when using the data.
        units: Label name -> unit (read-only mapping).
        test_split: The upstream test file of a potential data set, as a ``split=`` value
            of ``load`` (``"test_md"`` for ethanol); None where there is none.
        repo: Upstream GitHub repository ``"owner/name"``; None for files made by this
            repository (shipped sets and fixtures), which are never downloaded.
        commit: Full 40-hex commit the upstream files are pinned to (None without repo).
        source: How a file made by this repository was made (from which upstream files).
        provenance_only: Registered for its provenance only; ``load`` explains why it
            cannot be read, and :func:`companion.data.available` leaves it out.
        url_template: Download URL with ``{owner}``, ``{repo}``, ``{commit}``, ``{path}``
            placeholders (GitHub's raw host by default; tests point it elsewhere).
    """

    name: str
    load: Callable[..., Any]
    description: str
    files: tuple[str, ...]
    license: str
    citation: str
    units: Mapping[str, str] = field(default_factory=dict)
    test_split: str | None = None
    repo: str | None = None
    commit: str | None = None
    source: str = ""
    provenance_only: bool = False
    url_template: str = RAW_GITHUB

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", MappingProxyType(dict(self.units)))
        if (self.repo is None) != (self.commit is None):
            raise ValueError(f"data set '{self.name}': give both repo and commit, or neither")

    @property
    def owner(self) -> str:
        """GitHub owner of the upstream repository."""
        return self._repo().split("/", 1)[0]

    @property
    def repo_name(self) -> str:
        """Repository name without the owner."""
        return self._repo().split("/", 1)[1]

    @property
    def folder(self) -> str:
        """Local folder of the upstream files: ``owner__repo`` ('' for files of ``data/``)."""
        return "" if self.repo is None else f"{self.owner}__{self.repo_name}"

    def key(self, relpath: str) -> str:
        """The file's name in the checksum registry and below every search folder.

        ``owner__repo/relpath`` for an upstream file, ``relpath`` for a file of ``data/``.

        Raises:
            DataError: the file is not part of this entry (lists the ones that are).
        """
        if relpath not in self.files:
            names = "\n  ".join(self.files)
            pinned = f" ({self.repo}@{self.commit[:10]})" if self.commit else ""
            raise DataError(f"'{relpath}' is not a file of data set '{self.name}'{pinned}. "
                            f"Its files are:\n  {names}")
        return f"{self.folder}/{relpath}" if self.folder else relpath

    def url(self, relpath: str) -> str | None:
        """Pinned download URL of an upstream file; None for a file of ``data/``."""
        if self.repo is None or self.commit is None:
            return None
        return self.url_template.format(
            owner=self.owner, repo=self.repo_name, commit=self.commit, path=relpath
        )

    def _repo(self) -> str:
        if self.repo is None:
            raise DataError(f"data set '{self.name}' is made by this repository; it has no "
                            "upstream repository")
        return self.repo


def choose_split(split: str, files: Mapping[str, str], what: str) -> str:
    """The lower-cased ``split`` if it is a key of ``files``.

    Raises:
        DataError: unknown split (the message lists the known ones).
    """
    key = split.lower()
    if key not in files:
        raise DataError(f"{what}: unknown split '{split}'; choose one of {', '.join(files)}")
    return key
