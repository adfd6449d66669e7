"""Line graphs: bonds become nodes, pairs of bonds that share an atom become edges.

Convention (DGL's ``line_graph``, as used by ALIGNN): a triplet joins edge
``e1 = (k -> j)`` to edge ``e2 = (j -> i)`` when the target of ``e1`` is the source of
``e2``. The bond angle is the angle at the shared atom ``j``::

    cos(theta_kji) = (vec_e1 . (-vec_e2)) / (|vec_e1| |vec_e2|)

because ``vec_e1 = r_k - r_j`` points from ``j`` to ``k`` and ``-vec_e2 = r_i - r_j`` points
from ``j`` to ``i``. A *backtracking* pair is ``e2`` = ``e1`` reversed: ``k == i`` and
``shift_e1 == -shift_e2`` (the same image; a different image of ``i`` is a different bond
and is kept). Its angle is 0 (cosine 1).
"""

from __future__ import annotations

import numpy as np
import torch


def line_graph(
    edge_index: np.ndarray | torch.Tensor,
    edge_shift: np.ndarray | torch.Tensor,
    backtracking: bool = True,
) -> np.ndarray:
    """Pairs of edges ``(k -> j, j -> i)`` that share atom ``j``.

    Args:
        edge_index: [2, n_edges] row 0 = source, row 1 = target.
        edge_shift: [n_edges, 3] integer-valued lattice shifts of the sources.
        backtracking: keep the pair of an edge with its own reverse.

    Returns:
        [2, n_triplets] int64 ``lg_edge_index``: row 0 = e1 (k -> j), row 1 = e2 (j -> i),
        sorted by e1 then e2.
    """
    edge_index = np.asarray(edge_index, dtype=np.int64)
    shift = np.rint(np.asarray(edge_shift, dtype=np.float64)).astype(np.int64)
    src, dst = edge_index  # [n_edges] each
    n_edges = len(src)
    if n_edges == 0:
        return np.zeros((2, 0), dtype=np.int64)
    n_nodes = int(max(src.max(), dst.max())) + 1
    by_src = np.argsort(src, kind="stable")  # [n_edges] edges grouped by their source
    start = np.searchsorted(src[by_src], np.arange(n_nodes + 1))  # [n_nodes + 1]
    count = start[1:] - start[:-1]  # [n_nodes] edges leaving each atom
    n_out = count[dst]  # [n_edges] for e1: edges leaving its target
    e1 = np.repeat(np.arange(n_edges), n_out)  # [n_triplets]
    offset = np.arange(len(e1)) - np.repeat(np.cumsum(n_out) - n_out, n_out)  # [n_triplets]
    e2 = by_src[start[dst[e1]] + offset]  # [n_triplets]
    if not backtracking:
        back = (src[e1] == dst[e2]) & (shift[e1] == -shift[e2]).all(axis=1)
        e1, e2 = e1[~back], e2[~back]
    return np.stack([e1, e2])


def bond_cosines(vec: torch.Tensor, lg_edge_index: torch.Tensor, eps: float = 1e-12
                 ) -> torch.Tensor:
    """Cosine of the angle at the shared atom of each triplet (differentiable).

    Args:
        vec: [n_edges, 3] edge vectors ``pos[src] + shift @ cell - pos[dst]``.
        lg_edge_index: [2, n_triplets] pairs (e1 = k -> j, e2 = j -> i).
        eps: guards the division for zero-length vectors.

    Returns:
        [n_triplets] cos(theta_kji) in [-1, 1].
    """
    v1 = vec[lg_edge_index[0]]  # [n_triplets, 3] j -> k
    v2 = -vec[lg_edge_index[1]]  # [n_triplets, 3] j -> i
    cos = (v1 * v2).sum(-1) / (v1.norm(dim=-1) * v2.norm(dim=-1)).clamp_min(eps)
    return cos.clamp(-1.0, 1.0)  # [n_triplets]
