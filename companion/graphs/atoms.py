"""Turn a pymatgen Structure/Molecule or ASE Atoms into checked float64 arrays.

Every graph function of the package goes through :func:`as_atoms_arrays`, so bad input
gets one clear :class:`~companion.errors.StructureError` naming the problem and the fix,
instead of a traceback from deep inside a library or, worse, silently wrong numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from companion.errors import StructureError

MAX_Z = 118
"""Largest atomic number accepted (oganesson)."""

MIN_DISTANCE = 0.1
"""Two atoms closer than this (Å) are treated as overlapping: almost always a broken file
(duplicated site, wrong units) rather than physics."""


@dataclass(frozen=True)
class AtomsArrays:
    """Plain arrays describing a periodic or finite system.

    Attributes:
        z: [n_atoms] int64 atomic numbers.
        pos: [n_atoms, 3] float64 Cartesian positions, Å.
        cell: [3, 3] float64 lattice vectors as rows, Å (zeros for a molecule).
        pbc: [3] bool, periodic along each lattice vector.
    """

    z: np.ndarray
    pos: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray

    def __len__(self) -> int:
        return len(self.z)

    @property
    def periodic(self) -> bool:
        return bool(self.pbc.any())


def _from_pymatgen(obj: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not obj.is_ordered:
        bad = next(i for i, site in enumerate(obj) if not site.is_ordered)
        raise StructureError(
            f"site {bad} is disordered (partial occupancy {obj[bad].species}); a graph needs "
            "one element per site. Order the structure first, e.g. with pymatgen's "
            "OrderDisorderedStructureTransformation, or pick the majority species."
        )
    z = []
    for i, site in enumerate(obj):
        element = site.specie
        number = getattr(element, "Z", 0)
        if not isinstance(number, int) or not 1 <= number <= MAX_Z:
            raise StructureError(
                f"site {i} has species {element!s}, which is not a chemical element "
                f"(atomic number 1..{MAX_Z}); replace it with a real element."
            )
        z.append(number)
    pos = np.asarray(obj.cart_coords, dtype=np.float64).reshape(-1, 3)
    if hasattr(obj, "lattice"):
        cell = np.asarray(obj.lattice.matrix, dtype=np.float64)
        pbc = np.asarray(obj.lattice.pbc, dtype=bool)
    else:  # Molecule
        cell = np.zeros((3, 3))
        pbc = np.zeros(3, dtype=bool)
    return np.asarray(z, dtype=np.int64), pos, cell, pbc


def _from_ase(obj: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    z = np.array(obj.numbers, dtype=np.int64)
    bad = np.flatnonzero((z < 1) | (z > MAX_Z))
    if len(bad):
        raise StructureError(
            f"atom {bad[0]} has atomic number {z[bad[0]]} ('{obj[bad[0]].symbol}'), which is "
            f"not a chemical element (1..{MAX_Z}); replace it with a real element."
        )
    pbc = np.asarray(obj.pbc, dtype=bool)
    cell = np.asarray(obj.cell.array, dtype=np.float64)
    return z, np.asarray(obj.positions, dtype=np.float64), cell, pbc


def _check_cell(cell: np.ndarray, pbc: np.ndarray) -> None:
    volume = abs(np.linalg.det(cell))
    if volume < 1e-6:
        raise StructureError(
            f"the cell is periodic (pbc={pbc.tolist()}) but its volume is {volume:.3g} Å^3; "
            "give three independent lattice vectors, or set pbc=False for a molecule."
        )
    lengths = np.sqrt((cell * cell).sum(axis=1))  # [3]
    short = np.flatnonzero(pbc & (lengths < MIN_DISTANCE))
    if len(short):
        raise StructureError(
            f"lattice vector {short[0]} has length {lengths[short[0]]:.3g} Å, shorter than "
            f"{MIN_DISTANCE} Å: every atom would overlap its own image."
        )


def as_atoms_arrays(obj: Any) -> AtomsArrays:
    """Convert and check a structure.

    Args:
        obj: a pymatgen ``Structure``/``Molecule``, an ASE ``Atoms``, an
            :class:`AtomsArrays`, or a tuple ``(z, pos, cell)`` (fully periodic) or
            ``(z, pos, cell, pbc)``.

    Returns:
        The checked :class:`AtomsArrays` (float64 positions and cell).

    Raises:
        StructureError: empty structure, disordered site, unknown element, NaN or infinite
            coordinates, or a periodic cell with zero volume.
    """
    if isinstance(obj, AtomsArrays):
        z, pos, cell, pbc = obj.z, obj.pos, obj.cell, obj.pbc
    elif isinstance(obj, tuple) and len(obj) in (3, 4):
        z, pos, cell = (np.asarray(a) for a in obj[:3])
        pbc = np.asarray(obj[3], dtype=bool) if len(obj) == 4 else np.ones(3, dtype=bool)
    elif hasattr(obj, "lattice") or hasattr(obj, "cart_coords"):
        z, pos, cell, pbc = _from_pymatgen(obj)
    elif hasattr(obj, "numbers") and hasattr(obj, "positions"):
        z, pos, cell, pbc = _from_ase(obj)
    else:
        raise StructureError(
            f"cannot build a graph from a {type(obj).__name__}; pass a pymatgen Structure or "
            "Molecule, an ASE Atoms, or (z, pos, cell[, pbc]) arrays."
        )
    # no copy when the input is already float64 and contiguous: graphs copy what they keep
    pos = np.ascontiguousarray(pos, dtype=np.float64).reshape(-1, 3)  # [n_atoms, 3]
    cell = np.ascontiguousarray(cell, dtype=np.float64).reshape(3, 3)  # [3, 3]
    pbc = np.asarray(pbc, dtype=bool).reshape(-1)  # [3] or [1]
    if len(pbc) == 1:
        pbc = pbc.repeat(3)
    if len(z) == 0:
        raise StructureError("the structure has no atoms; a graph needs at least one atom.")
    z = np.asarray(z, dtype=np.int64).reshape(-1)  # [n_atoms]
    if len(z) != len(pos):
        raise StructureError(f"{len(z)} atomic numbers but {len(pos)} positions.")
    if z.min() < 1 or z.max() > MAX_Z:
        bad = int(np.flatnonzero((z < 1) | (z > MAX_Z))[0])
        raise StructureError(
            f"atom {bad} has atomic number {z[bad]}, which is not a chemical element "
            f"(1..{MAX_Z}); replace it with a real element."
        )
    if not np.isfinite(pos.sum()):  # one reduction; NaN or inf anywhere propagates
        bad = int(np.flatnonzero(~np.isfinite(pos).all(axis=1))[0])
        raise StructureError(
            f"atom {bad} has a NaN or infinite coordinate {pos[bad].tolist()}; fix the "
            "positions (a failed relaxation or a parsing error upstream)."
        )
    if not np.isfinite(cell.sum()):
        raise StructureError(f"the cell has NaN or infinite entries: {cell.tolist()}.")
    if pbc.any():
        _check_cell(cell, pbc)
    return AtomsArrays(z=z, pos=pos, cell=cell, pbc=pbc)
