"""Plain numpy arrays of a graph or a cell, for drawing and for teaching code.

Pure functions: a graph (:class:`~companion.graphs.build.CrystalGraph`, a PyG ``Data``) or a
:class:`~companion.graphs.neighbors.NeighborList` in, numpy arrays out. Used by
:mod:`companion.viz`, which holds no graph logic of its own.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np

from companion.graphs.atoms import AtomsArrays, as_atoms_arrays


def atoms_of(obj: Any) -> AtomsArrays:
    """Plain arrays of a structure, or of a graph (``z, pos, cell, pbc`` of a CrystalGraph)."""
    if hasattr(obj, "edge_index") and hasattr(obj, "pos"):
        pbc = obj.pbc.reshape(-1).numpy() if getattr(obj, "pbc", None) is not None else True
        return as_atoms_arrays((obj.z.numpy(), obj.pos.double().numpy(),
                                obj.cell.reshape(3, 3).double().numpy(), pbc))
    return as_atoms_arrays(obj)


def edge_arrays(graph: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges of a ``CrystalGraph`` or ``NeighborList`` as numpy arrays.

    Returns:
        src [n_edges], dst [n_edges], shift [n_edges, 3] (int64) and pad [n_edges] (bool,
        True for the padding edges of the CGCNN policy, which are not bonds).
    """
    if hasattr(graph, "edge_index"):
        src, dst = (a.numpy().astype(np.int64) for a in graph.edge_index)
        shift = np.rint(graph.edge_shift.double().numpy()).astype(np.int64).reshape(-1, 3)
        pad = getattr(graph, "edge_pad", None)
        pad = np.zeros(len(src), bool) if pad is None else pad.numpy().astype(bool)
        return src, dst, shift, pad
    if hasattr(graph, "src") and hasattr(graph, "shift"):
        src = np.asarray(graph.src, np.int64)
        return src, np.asarray(graph.dst, np.int64), np.asarray(graph.shift, np.int64), \
            np.zeros(len(src), bool)
    raise TypeError(f"expected a CrystalGraph or a NeighborList, got {type(graph).__name__}.")


def cell_corners(cell: np.ndarray, origin: np.ndarray | None = None) -> np.ndarray:
    """[8, 3] Cartesian corners (Å) of the parallelepiped spanned by the rows of ``cell``."""
    frac = np.array(list(product((0, 1), repeat=3)), dtype=np.float64)  # [8, 3]
    corners = frac @ np.asarray(cell, dtype=np.float64)  # [8, 3]
    return corners if origin is None else corners + origin


def cell_edges(cell: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The 12 edges of the unit cell as pairs of Cartesian points (Å)."""
    corners = cell_corners(cell)
    frac = np.array(list(product((0, 1), repeat=3)))  # [8, 3] same order as corners
    edges = []
    for a in range(8):
        for b in range(a + 1, 8):
            if np.abs(frac[a] - frac[b]).sum() == 1:  # differ along one lattice vector
                edges.append((corners[a], corners[b]))
    return edges
