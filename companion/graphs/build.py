"""Graph construction: structure -> :class:`CrystalGraph` in the schema of :mod:`keys`.

Policies for choosing the edges (all from one float64 neighbor list):

- ``"radius"``: every pair within ``cutoff`` (default 5 Å); with ``max_neighbors``, only the
  nearest ``max_neighbors`` of each atom (no padding).
- ``"cgcnn"``: as the original CGCNN code (Xie & Grossman, PRL 120, 145301, 2018): the 12
  nearest neighbors within 8 Å, strictly 12; an atom with fewer gets padding edges from atom
  0 that the model treats as distance ``cutoff + 1`` (``edge_pad``).
- ``"alignn"``: as ALIGNN (Choudhary & DeCost, npj Comput. Mater. 7, 185, 2021): the 12
  nearest neighbors, keeping the whole shell of the 12th (every neighbor as close as the
  12th), with the cutoff raised until every atom has 12 neighbors; then symmetrized so that
  ``j -> i`` is an edge whenever ``i -> j`` is (each directed edge once).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from torch_geometric.data import Data

from companion.errors import StructureError
from companion.graphs.atoms import AtomsArrays, as_atoms_arrays
from companion.graphs.line_graph import line_graph as _line_graph
from companion.graphs.neighbors import (
    NeighborList,
    check_cutoff,
    neighbor_list,
    raise_on_overlap,
    search_pairs,
)

Policy = Literal["radius", "cgcnn", "alignn"]

_NUMPY_DTYPE = {torch.float32: np.float32, torch.float64: np.float64}
"""Position dtypes a graph may have (mixed precision casts inside the model, not here)."""

DEFAULTS: dict[str, dict[str, float | int | None]] = {
    "radius": {"cutoff": 5.0, "max_neighbors": None},
    "cgcnn": {"cutoff": 8.0, "max_neighbors": 12},
    "alignn": {"cutoff": 8.0, "max_neighbors": 12},
}
"""Default cutoff (Å) and neighbor count of each policy."""

SHELL_TOLERANCE = 1e-8
"""Å: neighbors this close to the 12th distance belong to its shell (``"alignn"``)."""

TIE_DECIMALS = 9
"""Distances equal to this many decimals (Å) count as ties when ranking neighbors."""


class CrystalGraph(Data):
    """A ``torch_geometric`` ``Data`` with the schema of :mod:`companion.graphs.keys`.

    The only difference from ``Data`` is batching: ``lg_edge_index`` holds edge indices,
    so ``Batch.from_data_list`` offsets it by the number of edges, not of atoms.
    """

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if key == "lg_edge_index":
            return self.edge_index.size(1)
        return super().__inc__(key, value, *args, **kwargs)


def _sorted_pairs(atoms: AtomsArrays, cutoff: float, backend: str,
                  self_interaction: bool = False) -> NeighborList:
    """Checked pairs in canonical order (no edge vectors: graphs recompute them)."""
    src, dst, shift, dist = search_pairs(atoms, cutoff, backend, self_interaction)
    raise_on_overlap(atoms, src, dst, shift, dist, cutoff)
    order = _canonical_order(src, dst, shift, dist)
    return NeighborList(src[order], dst[order], shift[order], None, dist[order])


def _canonical_order(src: np.ndarray, dst: np.ndarray, shift: np.ndarray,
                     dist: np.ndarray) -> np.ndarray:
    """Order by center, distance (to :data:`TIE_DECIMALS`), neighbor index, then image.

    Equidistant neighbors (common in symmetric crystals) are thus ranked the same way
    whatever library or search radius found them, so the k-nearest policies are
    deterministic. The original CGCNN code keeps pymatgen's internal order instead; the two
    differ only where tied neighbors of different elements straddle the 12th place (57 of
    the 3938 FLLA structures).
    """
    base = 2 * int(np.abs(shift).max(initial=0)) + 1  # shifts fit in [0, base)
    image = ((src * base + shift[:, 0]) * base + shift[:, 1]) * base + shift[:, 2]  # [n_edges]
    return np.lexsort((image, np.round(dist, TIE_DECIMALS), dst))


KNN_SEARCH_MARGIN = 1.6
"""The k-nearest policies first search a sphere expected to hold this many times k
neighbors (from the density), and the full cutoff only if some atom's k-th shell is not
inside it: the same edges, several times fewer pairs to sort (``benchmarks/graphs.py``)."""


def _knn_pairs(atoms: AtomsArrays, cutoff: float, k: int, backend: str) -> NeighborList:
    """Sorted pairs within ``cutoff`` that contain, for every atom, at least its whole
    k-th shell (all pairs within ``cutoff`` if some atom has fewer than k)."""
    n = len(atoms)
    if atoms.pbc.all():
        density = n / abs(np.linalg.det(atoms.cell))  # atoms / Å^3
        radius = (3 * KNN_SEARCH_MARGIN * (k + 1) / (4 * np.pi * density)) ** (1 / 3)
        if radius < cutoff:
            nl = _sorted_pairs(atoms, radius, backend)
            counts = nl.counts(n)
            if counts.min() >= k:
                kth = nl.dist[np.searchsorted(nl.dst, np.arange(n)) + k - 1]  # [n_atoms]
                if (kth + SHELL_TOLERANCE < radius).all():
                    return nl
    return _sorted_pairs(atoms, cutoff, backend)


def _nearest_k(nl: NeighborList, k: int) -> np.ndarray:
    """[n_kept] indices of the first ``k`` pairs of each center (``nl`` is sorted)."""
    counts = np.bincount(nl.dst)  # [n_atoms] (trailing atoms without pairs need no entry)
    first = np.cumsum(counts) - counts  # [n_atoms] start of each center's group
    rank = np.arange(len(nl)) - first[nl.dst]  # [n_edges] 0 = nearest
    return np.flatnonzero(rank < k)


def _whole_shell(nl: NeighborList, n_atoms: int, k: int) -> np.ndarray:
    """Indices of pairs at most as far as each center's k-th neighbor (ties kept)."""
    start = np.searchsorted(nl.dst, np.arange(n_atoms))  # [n_atoms]
    kth = nl.dist[start + k - 1]  # [n_atoms] distance of the k-th neighbor
    return np.flatnonzero(nl.dist <= kth[nl.dst] + SHELL_TOLERANCE)


def _symmetrize(nl: NeighborList, atoms: AtomsArrays) -> NeighborList:
    """Union of the pairs and their reverses (``j -> i`` with ``-shift``), each once."""
    src = np.concatenate([nl.src, nl.dst])
    dst = np.concatenate([nl.dst, nl.src])
    shift = np.concatenate([nl.shift, -nl.shift])  # [2 n_edges, 3]
    dist = np.concatenate([nl.dist, nl.dist])  # [2 n_edges] |r_ij| = |r_ji|
    keys = np.column_stack([dst, src, shift])  # [2 n_edges, 5]
    _, keep = np.unique(keys, axis=0, return_index=True)
    src, dst, shift, dist = src[keep], dst[keep], shift[keep], dist[keep]
    order = _canonical_order(src, dst, shift, dist)
    return NeighborList(src[order], dst[order], shift[order], None, dist[order])


def _alignn_pairs(atoms: AtomsArrays, cutoff: float, k: int, backend: str
                  ) -> tuple[NeighborList, float]:
    """ALIGNN's k-nearest rule with cutoff escalation, before symmetrization; also returns
    the cutoff finally used (Å)."""
    n = len(atoms)
    if not atoms.periodic and n - 1 < k:  # a small molecule: every other atom
        k = n - 1
        cutoff = max(cutoff, float(np.ptp(atoms.pos, axis=0).max()) * np.sqrt(3) + 1.0)
    while True:
        nl = _knn_pairs(atoms, cutoff, k, backend) if k > 0 else _sorted_pairs(atoms, cutoff,
                                                                               backend)
        if nl.counts(n).min() >= k:
            return (nl.take(_whole_shell(nl, n, k)) if k > 0 else nl), cutoff
        # ALIGNN's rule: the longest lattice vector, else twice the cutoff.
        longest = float(np.linalg.norm(atoms.cell, axis=1).max())
        cutoff = longest if cutoff < longest else 2 * cutoff


def _isolated_error(atoms: AtomsArrays, counts: np.ndarray, cutoff: float,
                    policy: str) -> StructureError:
    i = int(np.flatnonzero(counts == 0)[0])
    wider = neighbor_list(atoms, max(4 * cutoff, 20.0), check_overlap=False)
    near = wider.dist[wider.dst == i]
    hint = (f"its nearest neighbor is {near.min():.2f} Å away" if len(near)
            else "there is no other atom within 20 Å")
    return StructureError(
        f"atom {i} (Z={atoms.z[i]}) has no neighbor within the cutoff of {cutoff:g} Å "
        f"(policy {policy!r}); {hint}. Raise the cutoff, or pass allow_isolated=True if an "
        "atom without edges is intended (its features then never mix with the others)."
    )


def to_graph(
    obj: Any,
    policy: Policy = "radius",
    cutoff: float | None = None,
    max_neighbors: int | None = None,
    line_graph: bool = False,
    backtracking: bool = True,
    self_interaction: bool = False,
    allow_isolated: bool = False,
    backend: str = "auto",
    dtype: torch.dtype | None = None,
) -> CrystalGraph:
    """Build the graph of a crystal or molecule.

    Args:
        obj: pymatgen ``Structure``/``Molecule``, ASE ``Atoms`` or arrays (see
            :func:`companion.graphs.atoms.as_atoms_arrays`).
        policy: ``"radius"``, ``"cgcnn"`` or ``"alignn"`` (module docstring).
        cutoff: radius in Å; default from :data:`DEFAULTS`.
        max_neighbors: neighbors kept per atom; default from :data:`DEFAULTS`.
        line_graph: also build ``lg_edge_index`` (pairs of edges sharing an atom).
        backtracking: keep line-graph pairs of an edge with its own reverse.
        self_interaction: add a self edge (shift 0) to each atom (radius policy only).
        allow_isolated: allow atoms without any edge instead of raising.
        backend: neighbor search, ``"auto"``, ``"vesin"`` or ``"pymatgen"``.
        dtype: floating dtype of ``pos``, ``cell``, ``edge_shift`` (default: torch's).

    Returns:
        A :class:`CrystalGraph` with ``z, pos, cell, pbc, edge_index, edge_shift, cutoff``
        (+ ``edge_pad`` for ``"cgcnn"``, ``lg_edge_index`` with ``line_graph=True``).

    Raises:
        StructureError: bad structure or cutoff, or an atom without neighbors.
    """
    if policy not in DEFAULTS:
        raise ValueError(f"unknown policy {policy!r}; choose one of {sorted(DEFAULTS)}.")
    cutoff = check_cutoff(DEFAULTS[policy]["cutoff"] if cutoff is None else cutoff)
    k = DEFAULTS[policy]["max_neighbors"] if max_neighbors is None else max_neighbors
    if k is not None and (int(k) != k or k < 1):
        raise StructureError(f"max_neighbors must be a positive integer, got {k!r}.")
    if self_interaction and policy != "radius":
        raise ValueError("self_interaction is only defined for policy='radius'.")
    atoms = as_atoms_arrays(obj)
    n = len(atoms)
    pad = None
    if policy == "alignn":
        nl, cutoff = _alignn_pairs(atoms, cutoff, int(k), backend)
        nl = _symmetrize(nl, atoms)
    else:
        if k is None or self_interaction:
            nl = _sorted_pairs(atoms, cutoff, backend, self_interaction)
        else:
            nl = _knn_pairs(atoms, cutoff, int(k), backend)
        if k is not None:
            nl = nl.take(_nearest_k(nl, int(k)))
    counts = nl.counts(n)  # [n_atoms]
    if not allow_isolated and (counts == 0).any():
        raise _isolated_error(atoms, counts, cutoff, policy)
    src, dst, shift = nl.src, nl.dst, nl.shift
    if policy == "cgcnn":
        pad = np.zeros(len(src), dtype=bool)  # [n_edges]
        missing = int(k) - counts  # [n_atoms] padding edges needed per atom
        if missing.any():
            pad_dst = np.repeat(np.arange(n), missing)  # [n_pad]
            order = np.argsort(np.concatenate([dst, pad_dst]), kind="stable")
            src = np.concatenate([src, np.zeros_like(pad_dst)])[order]
            dst = np.concatenate([dst, pad_dst])[order]
            shift = np.concatenate([shift, np.zeros((len(pad_dst), 3), np.int64)])[order]
            pad = np.concatenate([pad, np.ones(len(pad_dst), dtype=bool)])[order]
    dtype = dtype or torch.get_default_dtype()
    if dtype not in _NUMPY_DTYPE:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}.")
    np_dtype = _NUMPY_DTYPE[dtype]
    graph = CrystalGraph()
    # filling the store directly is ~7x faster than Data(**keys), which validates each key;
    # the keys are the schema's (keys.py) and every array below is a fresh copy
    graph._store._mapping.update(
        z=torch.from_numpy(atoms.z.copy()),  # [n_atoms]
        pos=torch.from_numpy(atoms.pos.astype(np_dtype)),  # [n_atoms, 3]
        cell=torch.from_numpy(atoms.cell.astype(np_dtype)).unsqueeze(0),  # [1, 3, 3]
        pbc=torch.from_numpy(atoms.pbc.copy()).unsqueeze(0),  # [1, 3]
        edge_index=torch.from_numpy(np.stack([src, dst])),  # [2, n_edges]
        edge_shift=torch.from_numpy(shift.astype(np_dtype)),  # [n_edges, 3]
        cutoff=torch.tensor([cutoff], dtype=dtype),  # [1]
    )
    if pad is not None:
        graph._store._mapping["edge_pad"] = torch.from_numpy(pad)  # [n_edges]
    if line_graph:
        lg = _line_graph(np.stack([src, dst]), shift, backtracking=backtracking)
        if pad is not None:  # padding edges are not bonds: no angles through them
            lg = lg[:, ~(pad[lg[0]] | pad[lg[1]])]
        graph.lg_edge_index = torch.from_numpy(lg)  # [2, n_triplets]
    return graph
