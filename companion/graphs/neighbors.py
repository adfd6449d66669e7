"""Periodic neighbor lists, in float64, for any triclinic cell and for molecules.

The search itself is done by a field library: vesin (default; a cell-list code that handles
cells smaller than the cutoff, one-atom cells and skewed cells) or pymatgen's
``find_points_in_spheres``. ``benchmarks/graphs.py`` measures both.

Convention (see :mod:`companion.graphs.keys`): for each pair, ``dst`` is the center ``i``,
``src`` the neighbor ``j`` and ``shift`` the integer lattice translation of ``j``'s image::

    vec = pos[src] + shift @ cell - pos[dst]           # [n_edges, 3], Å
    dist = |vec|                                       # [n_edges], Å

Pairs are sorted by center, then distance, then neighbor index and shift, so results are
deterministic whichever backend computed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from companion.errors import StructureError
from companion.graphs.atoms import MIN_DISTANCE, AtomsArrays, as_atoms_arrays

Backend = Literal["vesin", "pymatgen"]


@dataclass(frozen=True)
class NeighborList:
    """Directed neighbor pairs of a structure (numpy arrays).

    Attributes:
        src: [n_edges] int64 neighbor index j.
        dst: [n_edges] int64 center index i.
        shift: [n_edges, 3] int64 lattice translation of j's image.
        vec: [n_edges, 3] float64 ``pos[src] + shift @ cell - pos[dst]``, Å.
        dist: [n_edges] float64 ``|vec|``, Å.
    """

    src: np.ndarray
    dst: np.ndarray
    shift: np.ndarray
    vec: np.ndarray
    dist: np.ndarray

    def __len__(self) -> int:
        return len(self.src)

    def take(self, index: np.ndarray) -> NeighborList:
        """The sub-list at ``index`` (a boolean mask or integer indices)."""
        return NeighborList(self.src[index], self.dst[index], self.shift[index],
                            self.vec[index], self.dist[index])

    def counts(self, n_atoms: int) -> np.ndarray:
        """[n_atoms] number of neighbors of each center atom."""
        return np.bincount(self.dst, minlength=n_atoms)


def check_cutoff(cutoff: float) -> float:
    """Return ``cutoff`` as a float, or raise a clear error if it is not a positive number."""
    try:
        value = float(cutoff)
    except (TypeError, ValueError):
        raise StructureError(f"cutoff must be a number in Å, got {cutoff!r}.") from None
    if not np.isfinite(value) or value <= 0:
        raise StructureError(f"cutoff must be a positive, finite distance in Å, got {cutoff!r}.")
    return value


def _vesin_pairs(atoms: AtomsArrays, cutoff: float) -> tuple[np.ndarray, ...]:
    from vesin import NeighborList as VesinNeighborList

    calc = VesinNeighborList(cutoff=cutoff, full_list=True)
    # vesin's pair (i, j, S) has D = pos[j] - pos[i] + S @ box: i is our center (dst).
    i, j, shift = calc.compute(atoms.pos, atoms.cell, periodic=atoms.pbc.tolist(),
                               quantities="ijS")
    return j.astype(np.int64), i.astype(np.int64), shift.astype(np.int64)


def _pymatgen_pairs(atoms: AtomsArrays, cutoff: float) -> tuple[np.ndarray, ...]:
    from pymatgen.optimization.neighbors import find_points_in_spheres

    if atoms.periodic:
        cell, pbc = atoms.cell, atoms.pbc
    else:  # pymatgen needs a lattice even without periodicity: any box works
        span = np.ptp(atoms.pos, axis=0).max() + 2 * cutoff + 1.0
        cell, pbc = np.eye(3) * span, np.zeros(3, dtype=bool)
    center, neighbor, images, _ = find_points_in_spheres(
        atoms.pos, atoms.pos, r=cutoff, pbc=pbc.astype(np.int64),
        lattice=np.ascontiguousarray(cell), tol=1e-8,
    )
    images = np.rint(images).astype(np.int64)
    # find_points_in_spheres drops zero-distance pairs, i.e. the atom itself.
    return neighbor.astype(np.int64), center.astype(np.int64), images


def neighbor_list(
    obj: Any,
    cutoff: float,
    self_interaction: bool = False,
    backend: Backend = "vesin",
    check_overlap: bool = True,
) -> NeighborList:
    """All pairs within ``cutoff`` (Å), periodic images included.

    Args:
        obj: pymatgen ``Structure``/``Molecule``, ASE ``Atoms``, or arrays (see
            :func:`companion.graphs.atoms.as_atoms_arrays`).
        cutoff: radius in Å (> 0). May exceed the cell: every image within it is found.
        self_interaction: also return each atom paired with itself (shift 0, distance 0).
            Images of the same atom in other cells are always included.
        backend: ``"vesin"`` (default) or ``"pymatgen"``.
        check_overlap: raise if two atoms are closer than 0.1 Å.

    Returns:
        A :class:`NeighborList` sorted by (dst, dist, src, shift).

    Raises:
        StructureError: bad structure (see ``as_atoms_arrays``), non-positive cutoff, or
            overlapping atoms.
    """
    cutoff = check_cutoff(cutoff)
    atoms = as_atoms_arrays(obj)
    if backend == "vesin":
        src, dst, shift = _vesin_pairs(atoms, cutoff)
    elif backend == "pymatgen":
        src, dst, shift = _pymatgen_pairs(atoms, cutoff)
    else:
        raise ValueError(f"unknown backend {backend!r}; use 'vesin' or 'pymatgen'.")
    not_self = (src != dst) | shift.any(axis=1)
    src, dst, shift = src[not_self], dst[not_self], shift[not_self]
    if self_interaction:
        n = len(atoms)
        idx = np.arange(n, dtype=np.int64)
        src, dst = np.concatenate([src, idx]), np.concatenate([dst, idx])
        shift = np.concatenate([shift, np.zeros((n, 3), dtype=np.int64)])
    vec = atoms.pos[src] + shift @ atoms.cell - atoms.pos[dst]  # [n_edges, 3]
    dist = np.sqrt(np.einsum("ij,ij->i", vec, vec))  # [n_edges]
    order = np.lexsort((shift[:, 2], shift[:, 1], shift[:, 0], src, dist, dst))
    nl = NeighborList(src[order], dst[order], shift[order], vec[order], dist[order])
    if check_overlap:
        _raise_on_overlap(atoms, nl, cutoff, self_interaction, backend)
    return nl


def _raise_on_overlap(atoms: AtomsArrays, nl: NeighborList, cutoff: float,
                      self_interaction: bool, backend: Backend) -> None:
    if cutoff < MIN_DISTANCE:  # the list cannot show overlaps: look once more
        nl = neighbor_list(atoms, MIN_DISTANCE, backend=backend, check_overlap=False)
        self_interaction = False
    close = nl.dist < MIN_DISTANCE
    if self_interaction:
        close &= (nl.src != nl.dst) | nl.shift.any(axis=1)
    if close.any():
        k = int(np.flatnonzero(close)[0])
        i, j = int(nl.dst[k]), int(nl.src[k])
        what = f"atom {i} and atom {j}" if i != j else f"atom {i} and its own periodic image"
        raise StructureError(
            f"{what} (shift {nl.shift[k].tolist()}) are {nl.dist[k]:.3g} Å apart, closer "
            f"than {MIN_DISTANCE} Å: overlapping atoms. Remove duplicated sites (pymatgen: "
            "Structure.merge_sites) or check the units of the coordinates."
        )
