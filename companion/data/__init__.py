"""Data sets by name: the shipped ones (``data/``), the external ones, and small fixtures.

* :data:`DATASETS` — name -> :class:`~companion.data.entry.DatasetEntry`: the loader
  (``entry.load``), the upstream test split (``entry.test_split``), the files, upstream
  repository and commit, license and citation. Each entry sits beside its loader in
  :mod:`companion.data.sets`.
* :func:`load` — ``load(name, **kwargs)`` is ``DATASETS[name].load(**kwargs)``. Shipped sets
  (``mp_eform``, ``mp_dielectric``, ``mp_elastic``) and the fixtures (``ethanol_sample``,
  ``ean_sample``) load from ``data/``; external sets (``ethanol``, ``3bpa``, ``acac``,
  ``ean``, ``mlearn``, ``mp_phonons``, ``matcalc_elasticity``, ``matcalc_heat_capacity``,
  ``perov_5``) are resolved by :mod:`companion.data.resolve` (``data/``, user cache,
  ``COMPANION_DATA_DIRS``, then a checksummed download with pooch).
* :mod:`companion.data.records` — :class:`LabeledDataset`, :class:`LabeledRecord` and the
  splits; :mod:`companion.data.shipped` — :class:`CrystalDataset`;
  :mod:`companion.data.parsers` — the file formats.

Importing this package imports numpy, not ASE, pymatgen or pooch.
"""

from __future__ import annotations

from typing import Any

from companion.data.entry import DatasetEntry
from companion.data.records import LabeledDataset, LabeledRecord
from companion.data.registry import DATASETS, get
from companion.data.shipped import CrystalDataset
from companion.errors import DataError

__all__ = ["DATASETS", "CrystalDataset", "DataError", "DatasetEntry", "LabeledDataset",
           "LabeledRecord", "available", "load", "test_split"]


def available() -> list[str]:
    """Names accepted by :func:`load`: the shipped sets, the external ones, the fixtures."""
    return [name for name, entry in DATASETS.items() if not entry.provenance_only]


def test_split(name: str) -> str | None:
    """The upstream test split of a data set, for ``load(name, split=test_split(name))``.

    ``"test_md"`` for ``ethanol``, ``"test_md_300k"`` for ``acac``, ``"test"`` for
    ``mlearn``; None for sets without an upstream test file.

    Raises:
        DataError: unknown name (the message lists the available names).
    """
    return get(name).test_split


def load(name: str, **kwargs: Any) -> CrystalDataset | LabeledDataset:
    """Load a data set by name: ``DATASETS[name].load(**kwargs)``.

    Args:
        name: A shipped set (``mp_eform``, ``mp_dielectric``, ``mp_elastic``), an external
            one or a fixture (see :func:`available`).
        **kwargs: Passed to the loader: ``directory=`` for shipped sets; e.g. ``split=`` for
            ``ethanol``, ``element=`` and ``split=`` for ``mlearn``.

    Returns:
        A :class:`~companion.data.shipped.CrystalDataset` (shipped) or a
        :class:`~companion.data.records.LabeledDataset` (external and fixtures).

    Raises:
        DataError: unknown name (the message lists the available names), a set registered
            for provenance only, or a file that is missing or fails its checksum.
    """
    return get(name).load(**kwargs)
