r"""Attention blocks inserted between the gated layers of k-MVN (:mod:`companion.models.vgnna`).

Both act on the features ``x`` [n_nodes, dim] of the virtual-node graph, whose ``dim``
columns are e3nn irreps (after k-MVN's first gate ``4x0e + 4x1o + 4x2e``, dim 36), over the
messages ``src -> dst`` (:class:`companion.models.kmvn.NodeContext`).

:class:`FlatAttention` is what the VGNNA code (hasson827/VGNNA, ``SelfAttentionLayer``) does:
the 36 numbers are treated as a flat vector,

.. math::
    h = \mathrm{LN}_1(x), \quad q, k, v = h W_{qkv} \ (\text{4 heads of } 9), \quad
    a_e = \operatorname{softmax}_{e' \in G} \frac{q_{src(e)} \cdot k_{dst(e)}}{3}, \\
    x \leftarrow x + W_o \sum_{e: dst(e) = j} a_e v_j + b_o, \quad
    x \leftarrow x + \mathrm{FFN}(\mathrm{LN}_2(x))

with one softmax over all messages of a material ``G`` (per head), values taken from the
destination node, dropout on ``a`` and in the feed-forward ``36 -> 144 -> 36`` (GELU).
LayerNorm subtracts the mean over all 36 components and the biases add constants to the
``l = 1, 2`` components, so rotating the crystal does not rotate the output: the block is
not equivariant.

:class:`InvariantAttention` is the equivariant design of this course. Only invariants enter
the attention: the ``0e`` channels ``s`` and the norms ``|x_c|`` of every other channel
(``l > 0`` or odd parity), ``u = LN([s, |x_c|])`` [n, n_inv]. Per message,

.. math::
    \alpha_e = \operatorname{softmax}_{e' \to dst(e)} \Big(
        \frac{(W_q u_{dst})\cdot(W_k u_{src})}{\sqrt{d}} + w_h \cdot \phi(|r_e|)\Big), \quad
    m_j = \sum_{e \to j} \alpha_e W_v u_{src(e)},

a softmax per destination node and head (PyG ``softmax``) with an optional radial bias from
the Gaussian basis ``phi`` of the edge length. The update touches invariants only:
``s_j += W_o m_j`` and, optionally, every other channel is rescaled,
``x_{j,c} *= 2 sigmoid(W_g m_j)_c``: a scalar times an irrep is the same irrep, so the block
commutes with rotations, inversion and translations. ``W_o`` and ``W_g`` start at zero: a
fresh block is the identity, and the model starts as the k-MVN it extends.
"""

from __future__ import annotations

import math

import torch
from e3nn import o3
from torch import nn
from torch_geometric.utils import softmax

__all__ = ["FlatAttention", "InvariantAttention"]


def _scatter_sum(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Sum rows of ``values`` [n_msg, ...] into ``n`` rows by ``index`` [n_msg]."""
    out = values.new_zeros((n, *values.shape[1:]))
    return out.index_add_(0, index, values)


class FlatAttention(nn.Module):
    """The VGNNA code's attention block over the flat feature vector (not equivariant).

    Args:
        dim: feature width (36 after k-MVN's first gate).
        heads: attention heads (``dim`` must divide by it).
        dropout: on the attention weights and in the feed-forward block.
    """

    def __init__(self, dim: int, heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"FlatAttention: dim={dim} is not divisible by heads={heads}")
        self.heads, self.head_dim = heads, dim // heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)
        self.ffn = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                msg_graph: torch.Tensor) -> torch.Tensor:
        """Args: x [n, dim]; src, dst [n_msg]; msg_graph [n_msg] the material of each
        message (the softmax runs over a material's messages). Returns [n, dim]."""
        n, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)  # [n, dim] each
        q, k, v = (t.view(n, self.heads, self.head_dim) for t in (q, k, v))
        score = (q[src] * k[dst]).sum(-1) / math.sqrt(self.head_dim)  # [n_msg, heads]
        weight = self.drop(softmax(score, msg_graph, dim=0))  # [n_msg, heads]
        agg = _scatter_sum(v[dst] * weight[..., None], dst, n)  # [n, heads, head_dim]
        x = x + self.out(agg.reshape(n, dim))
        return x + self.drop(self.ffn(self.norm2(x)))


class InvariantAttention(nn.Module):
    """Attention from invariants only, updating the scalars (module docstring).

    Args:
        irreps: the irreps of the features (e.g. ``4x0e+4x1o+4x2e``).
        heads: attention heads.
        head_dim: width of one head's queries, keys and values.
        n_basis: size of the radial basis of the edges (for the radial bias).
        radial_bias: add ``w_h . phi(|r|)`` to the logits.
        gates: rescale the non-scalar channels by ``2 sigmoid(W_g m)``.
        dropout: on the attention weights.
    """

    def __init__(self, irreps: o3.Irreps | str, heads: int = 4, head_dim: int = 8,
                 n_basis: int = 10, radial_bias: bool = True, gates: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.irreps = o3.Irreps(irreps)
        scalar, other = [], []  # column indices; (start, mul, 2l+1) blocks of other channels
        for (mul, ir), sl in zip(self.irreps, self.irreps.slices(), strict=True):
            if ir == o3.Irrep("0e"):
                scalar.extend(range(sl.start, sl.stop))
            else:
                other.append((sl.start, mul, ir.dim))
        if not scalar:
            raise ValueError(f"InvariantAttention: {self.irreps} has no 0e channel to update")
        self.register_buffer("scalar_cols", torch.tensor(scalar), persistent=False)
        self.other = other
        self.n_other = sum(mul for _, mul, _ in other)
        n_inv = len(scalar) + self.n_other
        self.heads, self.head_dim = heads, head_dim
        width = heads * head_dim
        self.norm = nn.LayerNorm(n_inv)
        self.query, self.key = nn.Linear(n_inv, width), nn.Linear(n_inv, width)
        self.value = nn.Linear(n_inv, width)
        self.radial = nn.Linear(n_basis, heads, bias=False) if radial_bias else None
        self.out = nn.Linear(width, len(scalar))
        self.gate = nn.Linear(width, self.n_other) if gates and self.n_other else None
        for layer in (self.out, self.gate):
            if layer is not None:  # a fresh block is the identity
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
        self.drop = nn.Dropout(dropout)

    def invariants(self, x: torch.Tensor) -> torch.Tensor:
        """``[s, |x_c|]`` [n, n_inv]: the 0e columns and the norm of every other channel."""
        parts = [x[:, self.scalar_cols]]
        for start, mul, d in self.other:
            block = x[:, start:start + mul * d].reshape(-1, mul, d)  # [n, mul, 2l+1]
            parts.append(torch.sqrt((block * block).sum(-1) + 1e-12))  # [n, mul]
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                radial: torch.Tensor) -> torch.Tensor:
        """Args: x [n, dim]; src, dst [n_msg]; radial [n_msg, n_basis]. Returns [n, dim]."""
        n = x.shape[0]
        u = self.norm(self.invariants(x))  # [n, n_inv]
        q = self.query(u).view(n, self.heads, self.head_dim)
        k = self.key(u).view(n, self.heads, self.head_dim)
        v = self.value(u).view(n, self.heads, self.head_dim)
        logit = (q[dst] * k[src]).sum(-1) / math.sqrt(self.head_dim)  # [n_msg, heads]
        if self.radial is not None:
            logit = logit + self.radial(radial.to(logit.dtype))
        alpha = self.drop(softmax(logit, dst, num_nodes=n, dim=0))  # [n_msg, heads]
        m = _scatter_sum(v[src] * alpha[..., None], dst, n).reshape(n, -1)  # [n, width]
        out = x.clone()
        out[:, self.scalar_cols] = x[:, self.scalar_cols] + self.out(m)
        if self.gate is not None:
            g = 2.0 * torch.sigmoid(self.gate(m))  # [n, n_other]
            c = 0
            for start, mul, d in self.other:
                block = x[:, start:start + mul * d].reshape(n, mul, d)
                out[:, start:start + mul * d] = (block * g[:, c:c + mul, None]).reshape(n, -1)
                c += mul
        return out
