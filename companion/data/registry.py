"""The data set registry: :data:`DATASETS` maps every name to its entry.

Each entry (:class:`~companion.data.entry.DatasetEntry`) is defined beside its loader in
:mod:`companion.data.sets`; ``DATASETS["ethanol"].load`` *is*
:func:`companion.data.sets.ethanol.load_ethanol`. The files' checksums are in the text
registry ``companion/data/registry.txt`` (:func:`companion.data.resolve.checksums`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from companion.data.entry import DatasetEntry
from companion.data.sets import (
    acac,
    ani1,
    bpa,
    chgnet_phonons,
    ean,
    ethanol,
    matcalc,
    matminer,
    mlearn,
    mp_phonons,
    perov_5,
    phonon_prediction,
    samples,
)
from companion.errors import DataError

__all__ = ["DATASETS", "DatasetEntry", "get"]

DATASETS: Mapping[str, DatasetEntry] = MappingProxyType({e.name: e for e in (
    matminer.MP_EFORM,
    matminer.MP_DIELECTRIC,
    matminer.MP_ELASTIC,
    ethanol.ENTRY,
    bpa.ENTRY,
    acac.ENTRY,
    ean.ENTRY,
    mlearn.ENTRY,
    mp_phonons.ENTRY,
    phonon_prediction.ENTRY,
    matcalc.ELASTICITY,
    matcalc.HEAT_CAPACITY,
    perov_5.ENTRY,
    samples.ETHANOL_SAMPLE,
    samples.EAN_SAMPLE,
    ani1.ENTRY,
    chgnet_phonons.ENTRY,
    chgnet_phonons.DFPT69,
)})


def get(name: str) -> DatasetEntry:
    """The registry entry of a data set.

    Raises:
        DataError: unknown name (the message lists the registered ones).
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown data set '{name}'; available: {', '.join(DATASETS)}") from None
