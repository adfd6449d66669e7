"""matcalc benchmark sets: binary crystals with elastic moduli or the phonon heat capacity."""

from __future__ import annotations

import gzip
import json
import math
import warnings

from companion.data.entry import DatasetEntry
from companion.data.parsers import structure_dict_arrays
from companion.data.records import LabeledDataset, LabeledRecord
from companion.data.resolve import resolve
from companion.errors import DataError

__all__ = ["ELASTICITY", "HEAT_CAPACITY", "load_matcalc", "load_matcalc_elasticity",
           "load_matcalc_heat_capacity"]

_REPO = "materialsvirtuallab/matcalc"
_COMMIT = "27f2d5f44b2bc045ff47446c599a3b6aba298b7f"
_MP_CITE = (
    "A. Jain et al., 'Commentary: The Materials Project: A materials genome approach to "
    "accelerating materials innovation', APL Mater. 1, 011002 (2013)"
)
_MODULI = ("bulk_modulus_vrh", "shear_modulus_vrh")


def _load(entry: DatasetEntry, name: str, keys: tuple[str, ...]) -> LabeledDataset:
    rel = entry.files[0]
    with gzip.open(resolve(entry, rel), "rt", encoding="utf-8") as fh:
        docs = json.load(fh)
    records, n_bad = [], 0
    for k, doc in enumerate(docs):
        numbers, pos, cell = structure_dict_arrays(doc["structure"], f"{rel}[{k}]")
        targets = {key: float(doc[key]) for key in keys}
        if keys == _MODULI:
            for key in keys:
                v = targets[key]
                targets[f"log10_{key}"] = math.log10(v) if v > 0 else math.nan
                n_bad += not v > 0
        records.append(LabeledRecord(
            id=str(doc["mp_id"]), numbers=numbers, positions=pos, cell=cell, pbc=True,
            targets=targets, info={"material_id": str(doc["mp_id"]),
                                   "formula": str(doc.get("formula", ""))},
        ))
    if n_bad:
        warnings.warn(f"matcalc {name}: {n_bad} non-positive moduli; their log10 target is NaN",
                      stacklevel=3)
    return LabeledDataset(f"matcalc/{name}", records, entry=entry, source=rel)


def load_matcalc_elasticity() -> LabeledDataset:
    """3953 binary Materials Project crystals with VRH moduli (matcalc benchmark).

    Returns:
        Periodic records with ``bulk_modulus_vrh``, ``shear_modulus_vrh`` (GPa) and their
        ``log10_`` versions; ``info`` has ``material_id`` and ``formula``. A structure stored
        as a Python-literal string is parsed with :func:`ast.literal_eval` (never ``eval``);
        one stored as a JSON object is used directly. A non-positive modulus would get a NaN
        log10 target (with a warning); none occur in the pinned files.
    """
    return _load(ELASTICITY, "elasticity", _MODULI)


def load_matcalc_heat_capacity() -> LabeledDataset:
    """1170 binary Alexandria crystals with the harmonic heat capacity at 300 K.

    Returns:
        Periodic records with ``heat_capacity`` in J/(K mol) per mole of the given cell;
        ``info`` has ``material_id`` and ``formula``.
    """
    return _load(HEAT_CAPACITY, "heat_capacity", ("heat_capacity",))


def load_matcalc(name: str = "elasticity") -> LabeledDataset:
    """:func:`load_matcalc_elasticity` (``"elasticity"``) or
    :func:`load_matcalc_heat_capacity` (``"heat_capacity"``).

    Raises:
        DataError: another name.
    """
    if name == "elasticity":
        return load_matcalc_elasticity()
    if name == "heat_capacity":
        return load_matcalc_heat_capacity()
    raise DataError(f"matcalc: unknown set '{name}'; choose one of elasticity, heat_capacity")


ELASTICITY = DatasetEntry(
    name="matcalc_elasticity",
    load=load_matcalc_elasticity,
    description=(
        "mp-binary-pbe-elasticity-2025.1 (matcalc benchmark): 3953 binary Materials "
        "Project structures with VRH bulk and shear moduli."
    ),
    repo=_REPO,
    commit=_COMMIT,
    files=("benchmark_data/mp-binary-pbe-elasticity-2025.1.json.gz",),
    license="BSD-3-Clause (repository); Materials Project data CC BY 4.0",
    citation=(
        "M. de Jong et al., 'Charting the complete elastic properties of inorganic "
        "crystalline compounds', Sci. Data 2, 150009 (2015); " + _MP_CITE
    ),
    units={
        "bulk_modulus_vrh": "GPa",
        "shear_modulus_vrh": "GPa",
        "log10_bulk_modulus_vrh": "log10(GPa)",
        "log10_shear_modulus_vrh": "log10(GPa)",
        "positions": "Å",
    },
)

HEAT_CAPACITY = DatasetEntry(
    name="matcalc_heat_capacity",
    load=load_matcalc_heat_capacity,
    description=(
        "alexandria-binary-pbe-phonon-2025.1 (matcalc benchmark): 1170 binary structures "
        "with the harmonic phonon heat capacity at 300 K."
    ),
    repo=_REPO,
    commit=_COMMIT,
    files=("benchmark_data/alexandria-binary-pbe-phonon-2025.1.json.gz",),
    license="BSD-3-Clause (repository); Alexandria data CC BY 4.0",
    citation=(
        "J. Schmidt, H.-C. Wang, T. F. T. Cerqueira, S. Botti, M. A. L. Marques, "
        "'A dataset of 175k stable and metastable materials calculated with the PBEsol "
        "and SCAN functionals', Sci. Data 9, 64 (2022) (Alexandria); matcalc, "
        "Materials Virtual Lab"
    ),
    units={"heat_capacity": "J/(K mol) per mole of the given cell", "positions": "Å"},
)
