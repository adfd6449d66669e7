"""Periodic neighbor lists, in float64, for any triclinic cell and for molecules.

The search itself is done by a field library: pymatgen's ``find_points_in_spheres`` or vesin,
both correct for cells smaller than the cutoff, one-atom cells and skewed cells (checked
against a brute-force enumeration in ``tests/graphs/test_neighbors.py``). ``benchmarks/graphs.py``
measures both; the default (``"auto"``) takes the faster one for crystals (pymatgen) and
vesin for molecules.

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

Backend = Literal["auto", "vesin", "pymatgen"]


@dataclass(frozen=True)
class NeighborList:
    """Directed neighbor pairs of a structure (numpy arrays).

    Attributes:
        src: [n_edges] int64 neighbor index j.
        dst: [n_edges] int64 center index i.
        shift: [n_edges, 3] int64 lattice translation of j's image.
        vec: [n_edges, 3] float64 ``pos[src] + shift @ cell - pos[dst]``, Å (None on the
            internal fast path of :mod:`companion.graphs.build`, which needs only ``dist``).
        dist: [n_edges] float64 ``|vec|``, Å.
    """

    src: np.ndarray
    dst: np.ndarray
    shift: np.ndarray
    vec: np.ndarray | None
    dist: np.ndarray

    def __len__(self) -> int:
        return len(self.src)

    def take(self, index: np.ndarray) -> NeighborList:
        """The sub-list at ``index`` (a boolean mask or integer indices)."""
        vec = None if self.vec is None else self.vec[index]
        return NeighborList(self.src[index], self.dst[index], self.shift[index], vec,
                            self.dist[index])

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
    i, j, shift, dist = calc.compute(atoms.pos, atoms.cell, periodic=atoms.pbc.tolist(),
                                     quantities="ijSd")
    return (np.asarray(j, dtype=np.int64), np.asarray(i, dtype=np.int64),
            np.asarray(shift, dtype=np.int64), dist)


def _pymatgen_pairs(atoms: AtomsArrays, cutoff: float) -> tuple[np.ndarray, ...]:
    from pymatgen.optimization.neighbors import find_points_in_spheres

    if atoms.periodic:
        cell, pbc = atoms.cell, atoms.pbc
    else:  # pymatgen needs a lattice even without periodicity: any box works
        span = np.ptp(atoms.pos, axis=0).max() + 2 * cutoff + 1.0
        cell, pbc = np.eye(3) * span, np.zeros(3, dtype=bool)
    center, neighbor, images, dist = find_points_in_spheres(
        atoms.pos, atoms.pos, r=cutoff, pbc=pbc.astype(np.int64),
        lattice=np.ascontiguousarray(cell), tol=1e-8,
    )
    return (np.asarray(neighbor, dtype=np.int64), np.asarray(center, dtype=np.int64),
            images.astype(np.int64), dist)


def search_pairs(
    atoms: AtomsArrays, cutoff: float, backend: Backend = "auto", self_interaction: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unsorted pairs (src, dst, shift, dist) of checked arrays; the fast path of graphs.

    ``backend="auto"`` takes pymatgen's ``find_points_in_spheres`` for periodic systems
    (measured about 2x faster than vesin on the FLLA cells: ``benchmarks/graphs.py``) and
    vesin for molecules.
    """
    if backend == "auto":
        backend = "pymatgen" if atoms.periodic else "vesin"
    if backend == "vesin":
        src, dst, shift, dist = _vesin_pairs(atoms, cutoff)
    elif backend == "pymatgen":
        src, dst, shift, dist = _pymatgen_pairs(atoms, cutoff)
    else:
        raise ValueError(f"unknown backend {backend!r}; use 'auto', 'vesin' or 'pymatgen'.")
    # drop each atom's pair with itself (an image of itself at zero distance would need a
    # degenerate cell, which as_atoms_arrays refuses)
    not_self = (src != dst) | (dist > 1e-9)
    if not not_self.all():
        src, dst, shift, dist = src[not_self], dst[not_self], shift[not_self], dist[not_self]
    if self_interaction:
        idx = np.arange(len(atoms), dtype=np.int64)
        src, dst = np.concatenate([src, idx]), np.concatenate([dst, idx])
        shift = np.concatenate([shift, np.zeros((len(idx), 3), dtype=np.int64)])
        dist = np.concatenate([dist, np.zeros(len(idx))])
    return src, dst, shift, dist


def neighbor_list(
    obj: Any,
    cutoff: float,
    self_interaction: bool = False,
    backend: Backend = "auto",
    check_overlap: bool = True,
) -> NeighborList:
    """All pairs within ``cutoff`` (Å), periodic images included.

    Args:
        obj: pymatgen ``Structure``/``Molecule``, ASE ``Atoms``, or arrays (see
            :func:`companion.graphs.atoms.as_atoms_arrays`).
        cutoff: radius in Å (> 0). May exceed the cell: every image within it is found.
        self_interaction: also return each atom paired with itself (shift 0, distance 0).
            Images of the same atom in other cells are always included.
        backend: ``"auto"`` (default: pymatgen for crystals, vesin for molecules),
            ``"vesin"`` or ``"pymatgen"``.
        check_overlap: raise if two atoms are closer than 0.1 Å.

    Returns:
        A :class:`NeighborList` sorted by (dst, dist, src, shift).

    Raises:
        StructureError: bad structure (see ``as_atoms_arrays``), non-positive cutoff, or
            overlapping atoms.
    """
    cutoff = check_cutoff(cutoff)
    atoms = as_atoms_arrays(obj)
    src, dst, shift, dist = search_pairs(atoms, cutoff, backend, self_interaction)
    if check_overlap:
        raise_on_overlap(atoms, src, dst, shift, dist, cutoff)
    vec = atoms.pos[src] + shift @ atoms.cell - atoms.pos[dst]  # [n_edges, 3]
    dist = np.sqrt(np.einsum("ij,ij->i", vec, vec))  # [n_edges] from vec, bit for bit
    order = np.lexsort((shift[:, 2], shift[:, 1], shift[:, 0], src, dist, dst))
    return NeighborList(src[order], dst[order], shift[order], vec[order], dist[order])


def raise_on_overlap(atoms: AtomsArrays, src: np.ndarray, dst: np.ndarray, shift: np.ndarray,
                     dist: np.ndarray, cutoff: float) -> None:
    """Raise a :class:`StructureError` if two atoms (or an atom and its image) are closer
    than :data:`~companion.graphs.atoms.MIN_DISTANCE`."""
    if cutoff < MIN_DISTANCE:  # the pairs cannot show overlaps: look once more
        src, dst, shift, dist = search_pairs(atoms, MIN_DISTANCE)
    if len(dist) == 0 or dist.min() >= MIN_DISTANCE:
        return
    close = dist < MIN_DISTANCE
    close &= (src != dst) | shift.any(axis=1)  # not a self_interaction pair
    if close.any():
        k = int(np.flatnonzero(close)[0])
        i, j = int(dst[k]), int(src[k])
        what = f"atom {i} and atom {j}" if i != j else f"atom {i} and its own periodic image"
        raise StructureError(
            f"{what} (shift {shift[k].tolist()}) are {dist[k]:.3g} Å apart, closer "
            f"than {MIN_DISTANCE} Å: overlapping atoms. Remove duplicated sites (pymatgen: "
            "Structure.merge_sites) or check the units of the coordinates."
        )
