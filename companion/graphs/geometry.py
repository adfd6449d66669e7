"""Differentiable geometry on graphs of the schema (:mod:`companion.graphs.keys`)."""

from __future__ import annotations

import torch
from torch_geometric.data import Data


def graph_index(data: Data) -> torch.Tensor:
    """[n_atoms] int64: the graph of each atom, ``data.batch`` of a batch, zeros for one graph."""
    batch = getattr(data, "batch", None)
    if batch is None:
        return torch.zeros(data.z.size(0), dtype=torch.long, device=data.z.device)
    return batch


def num_graphs(data: Data) -> int:
    """Number of graphs: ``data.num_graphs`` of a batch, 1 for a single graph."""
    return int(getattr(data, "num_graphs", 1))


def edge_vectors(data: Data) -> tuple[torch.Tensor, torch.Tensor]:
    """Edge vectors and lengths recomputed from positions, so autograd reaches ``pos``/``cell``.

    ``vec_ij = pos[j] + shift_ij @ cell[graph(i)] - pos[i]`` (Å). Works on one graph or a
    batch (``data.batch`` picks each edge's cell). Padding edges of the CGCNN policy get a
    vector too, but it is meaningless: mask them with ``data.edge_pad``.

    Args:
        data: a graph or batch with ``pos``, ``cell``, ``edge_index``, ``edge_shift``.

    Returns:
        vec [n_edges, 3] and dist [n_edges], in the dtype of ``pos``.
    """
    src, dst = data.edge_index  # [n_edges] each
    cell = data.cell.to(data.pos.dtype)  # [n_graphs, 3, 3]
    batch = getattr(data, "batch", None)
    if batch is None:
        shift_cart = data.edge_shift.to(cell.dtype) @ cell[0]  # [n_edges, 3]
    else:
        edge_cell = cell.index_select(0, batch[dst])  # [n_edges, 3, 3]
        shift_cart = torch.einsum("ek,ekl->el", data.edge_shift.to(cell.dtype), edge_cell)
    # index_select rather than pos[src]: the same gather, with a much faster backward on CPU
    # (index_add instead of an accumulating index_put), which matters for forces and stress.
    vec = data.pos.index_select(0, src) + shift_cart - data.pos.index_select(0, dst)  # [n_edges, 3]
    return vec, vec.norm(dim=-1)  # [n_edges, 3], [n_edges]
