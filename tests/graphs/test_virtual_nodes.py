"""The k-MVN graph: node counts, one copy of each real edge per virtual node, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure
from torch_geometric.data import Batch

from companion.errors import StructureError
from companion.graphs.virtual_nodes import kmvn_graph, translation_box


@pytest.fixture
def si():
    """Si, 2-atom primitive cell (a = 5.43 Å)."""
    return Structure(Lattice([[0, 2.715, 2.715], [2.715, 0, 2.715], [2.715, 2.715, 0]]),
                     ["Si", "Si"], [[0, 0, 0], [0.25, 0.25, 0.25]])


def test_counts_and_edges(si):
    g = kmvn_graph(si, cutoff=4.0)
    n, n_s = 2, int(g.n_shifts)
    src, dst = g.edge_index
    # 4 nearest (2.35 Å) + 12 second (3.84 Å) neighbors per atom, plus one self edge
    assert g.num_nodes == n and src.numel() == n * 17
    assert int(((src == dst) & (g.edge_shift.abs().sum(1) == 0)).sum()) == n
    assert n_s == 3 ** 3 and int(g.n_vnodes) == n * n * n_s  # translations in [-1, 1]^3
    assert torch.equal(g.shifts, torch.as_tensor(translation_box(g.shifts.numpy())))
    # each edge lands on its own virtual node k = s N^2 + j N + i
    assert len(set(g.edge_vnode.tolist())) == src.numel()
    k = g.edge_vnode
    assert torch.equal(k % n, src) and torch.equal((k // n) % n, dst)
    s = g.shifts[k // (n * n)]
    assert torch.equal(s, -g.edge_shift.long())  # s = - schema shift
    assert torch.equal(g.vnode_atom[k], dst)  # carries the destination atom's features
    assert int(g.vnode_connected.sum()) == src.numel()
    # the edge vector of a virtual node is r_j + s - r_i, at most the cutoff
    pos, cell = g.pos, g.cell[0]
    r = pos[dst] + s.double() @ cell - pos[src]
    assert float(r.norm(dim=1).max()) <= 4.0


def test_batch_offsets(si):
    a = kmvn_graph(si, qpoints=np.zeros((3, 3)))
    b = kmvn_graph(si.copy() * (2, 1, 1), qpoints=np.zeros((5, 3)))
    batch = Batch.from_data_list([a, b])
    assert int(batch.edge_vnode[a.edge_vnode.numel():].min()) >= int(a.n_vnodes)
    assert torch.equal(batch.vnode_atom[int(a.n_vnodes):] - a.num_nodes, b.vnode_atom)
    assert batch.qpoints.shape == (8, 3) and batch.n_qpoints.tolist() == [3, 5]


def test_errors():
    with pytest.raises(StructureError, match="periodic"):
        kmvn_graph((np.array([1, 1]), np.array([[0, 0, 0], [0.74, 0, 0.0]]), np.zeros((3, 3))))
