"""Former home of the external loaders, kept so that existing imports keep working.

New code imports from where things live now: the loaders from :mod:`companion.data.sets`
(or goes through :func:`companion.data.load` and :data:`companion.data.DATASETS`), the types
from :mod:`companion.data.records`, the parsers from :mod:`companion.data.parsers`.
"""

from __future__ import annotations

from companion.data.parsers import lattice_from_parameters, parse_p1_cif
from companion.data.records import LabeledDataset, LabeledRecord, hashed_split
from companion.data.sets.acac import load_acac
from companion.data.sets.bpa import load_3bpa
from companion.data.sets.ean import load_ean
from companion.data.sets.ethanol import load_ethanol
from companion.data.sets.matcalc import load_matcalc
from companion.data.sets.mlearn import load_mlearn
from companion.data.sets.mp_phonons import load_mp_phonons
from companion.data.sets.perov_5 import load_perov_5

__all__ = [
    "LabeledDataset",
    "LabeledRecord",
    "hashed_split",
    "lattice_from_parameters",
    "load_3bpa",
    "load_acac",
    "load_ean",
    "load_ethanol",
    "load_matcalc",
    "load_mlearn",
    "load_mp_phonons",
    "load_perov_5",
    "parse_p1_cif",
]
