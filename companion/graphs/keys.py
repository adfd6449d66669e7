"""The graph schema: every key a graph of the course may carry, with shape, dtype and unit.

A crystal or molecule becomes a :class:`companion.graphs.CrystalGraph` (a
``torch_geometric.data.Data``). Dimension names used in shape comments across the package:

- ``n_atoms``: atoms in the graph (or in the batch), ``n_edges``: directed edges,
  ``n_triplets``: line-graph edges (pairs of edges that share an atom),
  ``n_graphs``: structures in a batch.

Edge convention (PyG): ``edge_index[0]`` is the source ``j`` (the neighbor),
``edge_index[1]`` the target ``i`` (the center); messages flow ``j -> i``. The edge vector
points from the center to the neighbor's periodic image::

    vec_ij = pos[j] + edge_shift_ij @ cell - pos[i]        # [n_edges, 3], Å

Models recompute ``vec`` inside ``forward`` (see :func:`companion.graphs.edge_vectors`), so
forces and stresses come from autograd; no distance is stored as the only truth.

Line graph convention (as DGL's ``line_graph`` used by ALIGNN): a triplet connects edge
``e1 = (k -> j)`` to edge ``e2 = (j -> i)``: ``lg_edge_index[0] = e1``, ``lg_edge_index[1] =
e2``. The bond angle is the angle at the shared atom ``j`` between ``j -> k`` and ``j -> i``.
"""

from __future__ import annotations

Z = "z"
"""[n_atoms] int64: atomic numbers (1..118)."""

POS = "pos"
"""[n_atoms, 3] float: Cartesian positions, Å."""

CELL = "cell"
"""[1, 3, 3] float: lattice vectors as rows, Å (a batch stacks them to [n_graphs, 3, 3]).
Zeros for a molecule."""

PBC = "pbc"
"""[1, 3] bool: periodic along each lattice vector (all False for a molecule)."""

EDGE_INDEX = "edge_index"
"""[2, n_edges] int64: row 0 = source j (neighbor), row 1 = target i (center)."""

EDGE_SHIFT = "edge_shift"
"""[n_edges, 3] float (integer-valued): lattice translation of the source image, in units of
the lattice vectors (kept in the position dtype so that ``edge_shift @ cell`` needs no cast)."""

EDGE_PAD = "edge_pad"
"""[n_edges] bool, only with ``policy="cgcnn"``: True for padding edges that the original
CGCNN code adds when an atom has fewer than ``max_neighbors`` neighbors within the cutoff
(source atom 0, distance taken as ``cutoff + 1`` Å by the model, never a real bond)."""

LG_EDGE_INDEX = "lg_edge_index"
"""[2, n_triplets] int64, optional: line graph; indices are edge indices (a batch offsets
them by the number of edges of the preceding graphs)."""

CUTOFF = "cutoff"
"""[1] float: the cutoff radius of the graph's policy, Å (for ``"alignn"`` the radius it
was raised to, if it had to be raised so that every atom has 12 neighbors)."""

ALL_KEYS = (Z, POS, CELL, PBC, EDGE_INDEX, EDGE_SHIFT, EDGE_PAD, LG_EDGE_INDEX, CUTOFF)
