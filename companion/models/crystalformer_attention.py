r"""The periodic attention of Crystalformer, as pure functions (used by
:mod:`companion.models.crystalformer`).

Taniai et al., "Crystalformer: Infinitely Connected Attention for Periodic Structure
Encoding", ICLR 2024 (arXiv:2403.11686). Per head and query atom :math:`i`, over every atom
:math:`j` of the unit cell and every lattice translation :math:`n` (the pair
:math:`i = j, n = 0` included):

.. math::
    y_i = \sum_{j,n} \operatorname{softmax}_{(j,n)}\Big(\frac{q_i\cdot k_j}{\sqrt{d_k}}
          - \frac{d_{ijn}^2}{2\sigma_i^2}\Big)\big(v_j + \psi(d_{ijn})\big),
    \qquad d_{ijn} = |p_j + nL - p_i|.

Two ways to compute it:

- :func:`dense_attention`, the reference: per atom pair :math:`(i, j)` of a crystal, over a
  box of translations, the attention bias :math:`\alpha_{ij} = \log\sum_n
  \exp(-d_{ijn}^2/2\sigma_i^2)` and the value term :math:`\beta_{ij} = \sum_n
  \operatorname{softmax}_n(-d_{ijn}^2/2\sigma_i^2)\,\psi(d_{ijn})`, then an ordinary
  softmax over :math:`j` of :math:`q_i\cdot k_j/\sqrt{d_k} + \alpha_{ij}`.
- :func:`edge_attention`, the production path: one list of (query, key image) edges within
  a cutoff (self edges included), one segment softmax per query (PyG ``softmax``), the
  weights summed per atom pair to mix the values, and the basis of :math:`\psi` summed per
  query before projecting (``psi`` is linear in the basis).

Both are exact rearrangements of the same sum; they agree to rounding on the same images.
Dimension names: ``n_atoms`` (N), ``n_pairs`` (P, every ordered pair of atoms of the same
crystal), ``n_edges`` (E), ``n_images`` (R), ``H`` heads, ``d_k`` head width, ``K`` basis.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as fn
from torch_geometric.utils import scatter, softmax

__all__ = ["all_pairs", "box_translations", "dense_attention", "edge_attention", "edge_weights",
           "gaussian_basis", "reciprocal_alpha", "real_alpha", "width_rho"]


def width_rho(x: torch.Tensor, a: float, b: float) -> torch.Tensor:
    r""":math:`\rho(x) = (1 - b)\,\mathrm{ELU}(a x / (1 - b)) + 1`, a positive map with
    :math:`\rho > b` (so :math:`\sigma^{-2} = r_0^{-2}\rho > b / r_0^2`) and slope ``a`` at 0."""
    return (1.0 - b) * fn.elu(x * (a / (1.0 - b))) + 1.0


def gaussian_basis(d: torch.Tensor, n_basis: int, r_max: float) -> torch.Tensor:
    r""":math:`b_k(d) = \exp(-(d - \mu_k)^2 / 2w^2)`, :math:`\mu_k = k\,r_{max}/K`
    (k = 1..K), :math:`w = r_{max}/K`.

    Shapes: d [...] (Å) -> [..., K].
    """
    width = r_max / n_basis
    mu = torch.arange(1, n_basis + 1, dtype=d.dtype, device=d.device) * width  # [K]
    return torch.exp(-((d.unsqueeze(-1) - mu) / (math.sqrt(2.0) * width)) ** 2)  # [..., K]


def box_translations(n_range: int, dtype: torch.dtype = torch.float64,
                     device: torch.device | None = None) -> torch.Tensor:
    """Integer translations ``-n_range..n_range`` along each axis, first index slowest
    (the authors' order). Returns [(2 n_range + 1)^3, 3]."""
    grid = torch.arange(-n_range, n_range + 1, dtype=dtype, device=device)  # [2r+1]
    return torch.stack(torch.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)


def all_pairs(ptr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every ordered atom pair of each crystal of a batch, pair ``offset_g + i n_g + j``.

    Args:
        ptr: [n_graphs + 1] first atom of each crystal (a batch's ``ptr``).

    Returns:
        query i [P], key j [P] (global atom indices) and the first pair of each crystal
        [n_graphs + 1].
    """
    sizes = ptr[1:] - ptr[:-1]  # [n_graphs]
    n_pairs = sizes * sizes  # [n_graphs]
    pair_ptr = torch.cat([n_pairs.new_zeros(1), n_pairs.cumsum(0)])  # [n_graphs + 1]
    graph = torch.repeat_interleave(torch.arange(len(sizes), device=ptr.device), n_pairs)
    local = torch.arange(int(pair_ptr[-1]), device=ptr.device) - pair_ptr[graph]  # [P]
    n = sizes[graph]  # [P]
    return ptr[graph] + local // n, ptr[graph] + local % n, pair_ptr


def real_alpha(d2: torch.Tensor, inv_two_sigma2: torch.Tensor,
               cutoff_sigmas: float | None = None) -> torch.Tensor:
    r""":math:`\alpha = \log\sum_n \exp(-d_n^2 / 2\sigma^2)` over the last axis of ``d2``.

    Args:
        d2: [P, R] squared distances to the images (Å²).
        inv_two_sigma2: [P, H], :math:`1/2\sigma^2` (1/Å²).
        cutoff_sigmas: keep only images with :math:`d \le c\,\sigma` (None: all).

    Returns:
        [P, H].
    """
    exponent = -d2.unsqueeze(1) * inv_two_sigma2.unsqueeze(-1)  # [P, H, R]
    if cutoff_sigmas is not None:
        exponent = exponent.masked_fill(exponent < -0.5 * cutoff_sigmas**2, -math.inf)
    return torch.logsumexp(exponent, dim=-1)  # [P, H]


def reciprocal_alpha(rel: torch.Tensor, cell: torch.Tensor, sigma: torch.Tensor,
                     n_range: int) -> torch.Tensor:
    r"""The same :math:`\alpha` summed in reciprocal space (Poisson summation):

    .. math::
        \alpha_{ij} = \log\Big[\frac{(2\pi\sigma^2)^{3/2}}{V}\sum_m
        e^{-\sigma^2|\omega_m|^2/2}\cos(\omega_m\cdot(p_j - p_i))\Big],
        \qquad \omega_m = 2\pi\, m\, L^{-T}.

    Converges fast for wide Gaussians (large sigma), where the real-space sum is slow.

    Args:
        rel: [P, 3] ``p_j - p_i`` (Å).
        cell: [P, 3, 3] lattice rows of each pair's crystal.
        sigma: [P, H] widths (Å).
        n_range: reciprocal vectors ``m`` in the box ``-n_range..n_range``.

    Returns:
        [P, H].
    """
    m = box_translations(n_range, rel.dtype, rel.device)  # [M, 3]
    recip = 2.0 * math.pi * torch.linalg.inv(cell).transpose(1, 2)  # [P, 3, 3] rows b_k
    omega = torch.einsum("mk,pkl->pml", m, recip)  # [P, M, 3]
    cos = torch.cos((omega * rel.unsqueeze(1)).sum(-1))  # [P, M]
    w2 = (omega * omega).sum(-1)  # [P, M]
    s2 = (sigma * sigma).unsqueeze(-1)  # [P, H, 1]
    total = (torch.exp(-0.5 * s2 * w2.unsqueeze(1)) * cos.unsqueeze(1)).sum(-1)  # [P, H]
    volume = torch.linalg.det(cell).abs().unsqueeze(-1)  # [P, 1]
    return torch.log(total) + 1.5 * torch.log(2.0 * math.pi * s2[..., 0]) - torch.log(volume)


def dense_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                    inv_two_sigma2: torch.Tensor, pair_i: torch.Tensor, pair_j: torch.Tensor,
                    d2: torch.Tensor | None, basis: torch.Tensor | None, psi: torch.Tensor | None,
                    alpha: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""The reference path over every pair and a box of images, with explicit
    :math:`\alpha_{ij}` and :math:`\beta_{ij}`:

    .. math::
        y_i = \sum_j \operatorname{softmax}_j\Big(\frac{q_i\cdot k_j}{\sqrt{d_k}}
              + \alpha_{ij}\Big)(v_j + \beta_{ij}),\quad
        \beta_{ij} = W\sum_n \operatorname{softmax}_n\Big(-\frac{d_{ijn}^2}{2\sigma_i^2}\Big)
        b(d_{ijn}).

    Args:
        q, k, v: [N, H, d_k].
        inv_two_sigma2: [N, H], :math:`1 / 2\sigma_i^2` per query and head (1/Å²).
        pair_i, pair_j: [P] query and key atom of each pair.
        d2: [P, R] squared distances to the images (Å²); unused when ``alpha`` is given
            without ``psi``.
        basis: [P, R, K] Gaussian basis of the distances, or None (no value term).
        psi: [H, d_k, K] value projection ``W`` per head, or None.
        alpha: [P, H] a precomputed bias (e.g. reciprocal space), or None (real space).

    Returns:
        y [N, H, d_k] and beta [P, H, d_k] (None without ``psi``).
    """
    use_psi = psi is not None and basis is not None
    exponent = None
    if alpha is None or use_psi:
        c = inv_two_sigma2.index_select(0, pair_i)  # [P, H]
        exponent = -d2.unsqueeze(1) * c.unsqueeze(-1)  # [P, H, R]
    if alpha is None:
        alpha = torch.logsumexp(exponent, dim=-1)  # [P, H]
    scores = (q.index_select(0, pair_i) * k.index_select(0, pair_j)).sum(-1)  # [P, H]
    scores = scores / math.sqrt(q.size(-1)) + alpha  # [P, H]
    weight = softmax(scores, pair_i, num_nodes=q.size(0))  # [P, H], softmax over j
    values = v.index_select(0, pair_j)  # [P, H, d_k]
    beta = None
    if use_psi:
        p = torch.softmax(exponent, dim=-1)  # [P, H, R], softmax over the images
        beta = torch.einsum("phk,hdk->phd", p @ basis, psi)  # [P, H, d_k]
        values = values + beta
    y = scatter(weight.unsqueeze(-1) * values, pair_i, dim=0, dim_size=q.size(0))
    return y, beta  # [N, H, d_k]


def edge_weights(q: torch.Tensor, k: torch.Tensor, inv_two_sigma2: torch.Tensor,
                 edge_i: torch.Tensor, edge_pair: torch.Tensor, pair_i: torch.Tensor,
                 pair_j: torch.Tensor, d2: torch.Tensor) -> torch.Tensor:
    r"""The attention weight of every edge (query atom, key image), a softmax per query:
    :math:`w_e = \operatorname{softmax}_{e \ni i}(q_i\cdot k_{j(e)}/\sqrt{d_k} -
    d_e^2/2\sigma_i^2)`. Arguments as :func:`edge_attention`. Returns [E, H]."""
    pair_scores = (q.index_select(0, pair_i) * k.index_select(0, pair_j)).sum(-1)  # [P, H]
    pair_scores = pair_scores / math.sqrt(q.size(-1))  # [P, H]
    scores = pair_scores.index_select(0, edge_pair) \
        - d2.unsqueeze(-1) * inv_two_sigma2.index_select(0, edge_i)  # [E, H]
    return softmax(scores, edge_i, num_nodes=q.size(0))  # [E, H]


def edge_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                   inv_two_sigma2: torch.Tensor, edge_i: torch.Tensor, edge_pair: torch.Tensor,
                   pair_i: torch.Tensor, pair_j: torch.Tensor, d2: torch.Tensor,
                   basis_pad: torch.Tensor | None, slot: torch.Tensor | None,
                   psi: torch.Tensor | None) -> torch.Tensor:
    r"""The production path: one softmax per query over its edges (atom images within the
    cutoff, self edge included),

    .. math::
        w_{e} = \operatorname{softmax}_{e \ni i}\Big(\frac{q_i\cdot k_{j(e)}}{\sqrt{d_k}}
                - \frac{d_e^2}{2\sigma_i^2}\Big),\qquad
        y_i = \sum_j \Big(\sum_{e \in (i,j)} w_e\Big) v_j
              + W \sum_{e \ni i} w_e\, b(d_e).

    ``q.k`` is computed once per atom pair (not per image) and the values are mixed per
    pair; the basis sum runs as one batched matmul over edges padded per query (``slot``).

    Args:
        q, k, v: [N, H, d_k].
        inv_two_sigma2: [N, H] (1/Å²).
        edge_i: [E] query atom of each edge (sorted).
        edge_pair: [E] atom pair of each edge (index into ``pair_i``, ``pair_j``).
        pair_i, pair_j: [P] query and key atom of each pair.
        d2: [E] squared edge lengths (Å²).
        basis_pad: [N, D, K] the basis of each query's edges, zero-padded to D per query;
            None: no value term.
        slot: [E] position of each edge in the flattened padded layout (``i D + rank``).
        psi: [H, d_k, K] value projection per head, or None.

    Returns:
        [N, H, d_k].
    """
    n_atoms = q.size(0)
    weight = edge_weights(q, k, inv_two_sigma2, edge_i, edge_pair, pair_i, pair_j, d2)
    pair_weight = scatter(weight, edge_pair, dim=0, dim_size=pair_i.size(0))  # [P, H]
    y = scatter(pair_weight.unsqueeze(-1) * v.index_select(0, pair_j), pair_i, dim=0,
                dim_size=n_atoms)  # [N, H, d_k]
    if psi is None or basis_pad is None or slot is None:
        return y
    n_heads, width = weight.size(1), basis_pad.size(1)
    padded = weight.new_zeros(n_atoms * width, n_heads)  # [N D, H]
    padded = padded.index_copy_(0, slot, weight).view(n_atoms, width, n_heads)  # [N, D, H]
    summed = torch.bmm(padded.transpose(1, 2), basis_pad)  # [N, H, K]
    return y + torch.einsum("nhk,hdk->nhd", summed, psi)  # [N, H, d_k]
