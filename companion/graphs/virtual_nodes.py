"""The k-MVN graph: real atoms plus one virtual node per (destination j, source i, shift s).

Okabe et al., "Virtual node graph neural network for full phonon prediction", Nat. Comput.
Sci. 4, 522 (2024), arXiv:2301.02197. A crystal of ``N`` atoms becomes:

- real nodes: the atoms, with a radius neighbor list (4 Å by default) that includes one
  zero-length self edge per atom;
- the translation set: every integer vector ``s`` in the box spanned by the edges'
  translations, ``n_s`` of them (a 3 x 3 x 3 box, ``n_s = 27``, for most cells);
- virtual nodes: ``N^2 n_s`` of them, node ``k = s N^2 + j N + i`` stands for the 3 x 3 block
  ``H_s[3j:3j+3, 3i:3i+3]`` of the real-space dynamical matrix. It carries atom ``j``'s
  features and receives a copy of the real edge ``i -> j(s)`` if that edge exists
  (``|r_j + s - r_i| <= cutoff``); otherwise it has no incoming edge.

Edge convention. Pairs come from :func:`companion.graphs.neighbor_list` in the schema of
:mod:`companion.graphs.keys` (messages ``src -> dst``, ``edge_shift`` the translation of the
source's image). The k-MVN message from ``i = src`` to ``j = dst`` uses the vector from the
source atom to the destination's image, ``r_ij = pos[dst] - pos[src] - edge_shift @ cell``
(minus the schema's ``vec``), and its virtual node has translation ``s = -edge_shift``, so
that ``H(q) = sum_s H_s exp(2 pi i q.s)`` (``q`` in reduced coordinates of the same cell).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from companion.errors import StructureError
from companion.graphs.atoms import as_atoms_arrays
from companion.graphs.neighbors import neighbor_list

__all__ = ["KMVNGraph", "kmvn_graph", "translation_box"]


class KMVNGraph(Data):
    """A k-MVN graph (a PyG ``Data`` that batches its virtual-node indices correctly).

    Keys (per material; a batch concatenates them):
        z [n_atoms] int64, pos [n_atoms, 3] Å, cell [1, 3, 3] Å (rows),
        edge_index [2, n_edges] (row 0 source i, row 1 destination j, self edges included),
        edge_shift [n_edges, 3] (schema: translation of the source's image),
        edge_vnode [n_edges] int64: the virtual node that receives a copy of each edge,
        vnode_atom [n_vnodes] int64: the atom j whose features a virtual node carries,
        vnode_connected [n_vnodes] bool: has an incoming edge,
        shifts [n_shifts, 3] int64: the translation set ``s`` (virtual node ``k`` has
        translation ``shifts[k // N^2]``),
        n_vnodes, n_shifts [1] int64; optional qpoints [n_q, 3] and n_qpoints [1].
    """

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if key == "vnode_atom":
            return self.num_nodes
        if key == "edge_vnode":
            return int(self.n_vnodes)
        return super().__inc__(key, value, *args, **kwargs)


def translation_box(shifts: np.ndarray) -> np.ndarray:
    """Every integer vector in the box ``[-m_a, m_a]`` spanned by ``shifts`` [n, 3].

    Returns:
        [n_s, 3] int64, ordered lexicographically (``s_0`` slowest).
    """
    m = np.abs(shifts).max(axis=0) if len(shifts) else np.zeros(3, dtype=np.int64)
    axes = [np.arange(-k, k + 1) for k in m]
    grid = np.meshgrid(*axes, indexing="ij")
    return np.stack([g.reshape(-1) for g in grid], axis=1).astype(np.int64)  # [n_s, 3]


def kmvn_graph(structure: Any, cutoff: float = 4.0, qpoints: np.ndarray | None = None,
               dtype: torch.dtype = torch.float64) -> KMVNGraph:
    """Build the k-MVN graph of a crystal (a pure function of the structure).

    Args:
        structure: pymatgen ``Structure``, ASE ``Atoms`` or arrays (see
            :func:`companion.graphs.as_atoms_arrays`); must be periodic.
        cutoff: radius of the neighbor list, Å (4 Å in the paper).
        qpoints: optional q-points [n_q, 3] in reduced coordinates of this cell's
            reciprocal lattice, stored with the graph for :class:`companion.models.kmvn.KMVN`.
        dtype: float dtype of ``pos``, ``cell`` and ``qpoints``.

    Returns:
        A :class:`KMVNGraph` with ``N + N^2 n_s`` nodes in all (``N`` real).

    Raises:
        StructureError: not periodic, or bad structure (see ``as_atoms_arrays``).
    """
    atoms = as_atoms_arrays(structure)
    if not atoms.periodic:
        raise StructureError("kmvn_graph needs a periodic crystal (a cell and pbc); phonon "
                             "bands are not defined for a molecule.")
    n = len(atoms)
    nl = neighbor_list(atoms, cutoff, self_interaction=True)
    s_edge = -nl.shift  # [n_edges, 3] translation of the destination's image
    shifts = translation_box(s_edge)  # [n_s, 3]
    m = np.abs(shifts).max(axis=0)
    lengths = 2 * m + 1
    s_idx = ((s_edge[:, 0] + m[0]) * lengths[1] + s_edge[:, 1] + m[1]) * lengths[2] \
        + s_edge[:, 2] + m[2]  # [n_edges] index into shifts
    edge_vnode = s_idx * n * n + nl.dst * n + nl.src  # [n_edges]
    n_vnodes = n * n * len(shifts)
    k = np.arange(n_vnodes)
    connected = np.zeros(n_vnodes, dtype=bool)
    connected[edge_vnode] = True
    data = KMVNGraph(
        z=torch.as_tensor(atoms.z, dtype=torch.long),
        pos=torch.tensor(atoms.pos, dtype=dtype),
        cell=torch.tensor(atoms.cell, dtype=dtype).reshape(1, 3, 3),
        edge_index=torch.as_tensor(np.stack([nl.src, nl.dst]), dtype=torch.long),
        edge_shift=torch.as_tensor(nl.shift, dtype=dtype),
        edge_vnode=torch.as_tensor(edge_vnode, dtype=torch.long),
        vnode_atom=torch.as_tensor((k // n) % n, dtype=torch.long),
        vnode_connected=torch.as_tensor(connected),
        shifts=torch.as_tensor(shifts, dtype=torch.long),
        n_vnodes=torch.tensor([n_vnodes]),
        n_shifts=torch.tensor([len(shifts)]),
        num_nodes=n,
    )
    if qpoints is not None:
        q = torch.as_tensor(np.asarray(qpoints, dtype=np.float64), dtype=dtype).reshape(-1, 3)
        data.qpoints = q  # [n_q, 3]
        data.n_qpoints = torch.tensor([len(q)])
    return data
