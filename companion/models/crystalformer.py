r"""Crystalformer: attention over infinitely many periodic images.

Taniai, Igarashi, Suzuki, Kanamori, Kanno, Kanamori, "Crystalformer: Infinitely Connected
Attention for Periodic Structure Encoding", ICLR 2024 (arXiv:2403.11686); the authors' code
is omron-sinicx/crystalformer (MIT). Every atom attends to every atom of the infinite
crystal with a weight that decays as a Gaussian of the distance, so the infinite sum
converges and can be truncated with a known error (:mod:`crystalformer_attention`):

.. math::
    y_i = \sum_{j,n} \operatorname{softmax}_{(j,n)}\Big(\frac{q_i\cdot k_j}{\sqrt{d_k}}
          - \frac{|p_j + nL - p_i|^2}{2\sigma_i^2}\Big)\big(v_j + \psi(|p_j + nL - p_i|)\big)

per head. The width comes from the query, :math:`\sigma_{ih}^{-2} = r_0^{-2}\,
\rho((q_{ih}\cdot w_h - m)/s)` with :math:`\rho(x) = (1-b)\mathrm{ELU}(ax/(1-b)) + 1`, so
:math:`\sigma < r_0/\sqrt{b}` (1.98 Å by default). :math:`m, s` are frozen statistics of
:math:`q\cdot w` (:meth:`Crystalformer.calibrate`, from the first training batch; 0 and 1
before, so a prediction never depends on the rest of its batch). :math:`\psi = W_h b(d)`
with K Gaussians up to ``r_max`` (``n_basis = 0``: the paper's simplified model).

Read top to bottom: :class:`CrystalformerConfig`, :class:`CrystalformerBlock` (attention +
feed-forward, post-residual, no LayerNorm: T-Fixup initialisation), :class:`Crystalformer`,
then :func:`rename_reference_key` (the authors' parameter names). Two paths compute the same
attention: ``"edges"`` (production: the radius graph of ``config.graph_options``, cutoff
``cutoff_sigmas * sigma_max``, self edges included) and ``"dense"`` (reference: every pair
over the box of translations ``-dense_range..dense_range``). Shapes: ``n_atoms`` N,
``n_graphs`` G, ``D`` model width, ``H`` heads, ``d_k`` head width, ``K`` basis size.

Example::

    model = Crystalformer()
    graph = to_graph(structure, **model.config.graph_options)
    e_form = model.predict(graph)   # [1], eV/atom once trained
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from companion.graphs import edge_vectors, graph_index, num_graphs
from companion.models.crystalformer_attention import (
    all_pairs,
    box_translations,
    dense_attention,
    edge_attention,
    edge_weights,
    gaussian_basis,
    reciprocal_alpha,
    width_rho,
)
from companion.nn import ScaleShift

__all__ = ["Crystalformer", "CrystalformerBlock", "CrystalformerConfig", "Geometry",
           "REFERENCE_NAMES", "rename_reference_key"]


@dataclass
class CrystalformerConfig:
    """Hyperparameters of :class:`Crystalformer` (defaults: the authors'
    ``params/latticeformer/default.json``).

    Attributes:
        n_layers: attention blocks.
        dim: model width D.
        n_heads: heads H (``dim / n_heads`` = d_k = 16).
        ff_dim: hidden width of the feed-forward layer (ReLU).
        n_species: length of the one-hot of Z (98: H..Cf).
        n_basis: K Gaussians of the value encoding psi; 0: the simplified model.
        r_max: Å, the last Gaussian center (``mu_k = k r_max / K``, width ``r_max / K``).
        r0: Å, the width scale ``r_0`` of the real-space Gaussians.
        rho_slope: ``a`` of rho (slope at 0).
        rho_floor: ``b`` of rho (``rho > b``, so ``sigma < r0 / sqrt(b)``).
        cutoff_sigmas: c, the production path keeps images within ``c * sigma_max``.
        dense_range: the dense path sums over translations ``-r..r`` on each axis.
        dual_space: the second half of the heads compute alpha in reciprocal space (the
            authors' ``domain="multihead"``; those heads have no value term).
        r0_reciprocal: Å, the width scale of the reciprocal heads (``sigma = r0' sqrt(rho)``).
        reciprocal_range: reciprocal vectors ``-r..r`` on each axis.
        head_dim: width of the hidden layer of the output MLP.
    """

    n_layers: int = 4
    dim: int = 128
    n_heads: int = 8
    ff_dim: int = 512
    n_species: int = 98
    n_basis: int = 64
    r_max: float = 14.0
    r0: float = 1.4
    rho_slope: float = 0.1
    rho_floor: float = 0.5
    cutoff_sigmas: float = 3.5
    dense_range: int = 2
    dual_space: bool = False
    r0_reciprocal: float = 2.2
    reciprocal_range: int = 2
    head_dim: int = 128

    def __post_init__(self) -> None:
        if self.dim % self.n_heads:
            raise ValueError(f"dim={self.dim} is not divisible by n_heads={self.n_heads}.")
        if self.dual_space and self.n_heads % 2:
            raise ValueError(f"dual_space splits the heads in two; n_heads={self.n_heads} "
                             "is odd.")
        if not 0 < self.rho_floor < 1 or self.r0 <= 0 or self.cutoff_sigmas <= 0:
            raise ValueError("need 0 < rho_floor < 1, r0 > 0 and cutoff_sigmas > 0.")

    @property
    def sigma_max(self) -> float:
        """Å, the widest real-space Gaussian, ``r0 / sqrt(rho_floor)``."""
        return self.r0 / math.sqrt(self.rho_floor)

    @property
    def cutoff(self) -> float:
        """Å, radius of the production path's neighbor list, ``cutoff_sigmas * sigma_max``."""
        return self.cutoff_sigmas * self.sigma_max

    @property
    def graph_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`companion.graphs.to_graph` for this model's graphs."""
        return {"policy": "radius", "cutoff": self.cutoff, "self_interaction": True}

    @property
    def real_heads(self) -> int:
        """Heads computing alpha in real space (all, or half with ``dual_space``)."""
        return self.n_heads // 2 if self.dual_space else self.n_heads


@dataclass
class Geometry:
    """What the attention needs of a batch, computed once per forward.

    Attributes:
        path: ``"edges"`` or ``"dense"``.
        pair_i, pair_j: [P] query and key atom of every ordered pair of a crystal.
        d2: [E] (edges) or [P, R] (dense) squared distances, Å².
        basis: dense: [P, R, K]; edges: [N, D_max, K] padded per query; None if K = 0.
        edge_i, edge_pair, slot: [E] each (edges path): query, pair, padded position.
        rel, cell: [P, 3] and [P, 3, 3] (dual space only): ``p_j - p_i`` and the lattice.
    """

    path: str
    pair_i: torch.Tensor
    pair_j: torch.Tensor
    d2: torch.Tensor
    basis: torch.Tensor | None = None
    edge_i: torch.Tensor | None = None
    edge_pair: torch.Tensor | None = None
    slot: torch.Tensor | None = None
    rel: torch.Tensor | None = None
    cell: torch.Tensor | None = None


class CrystalformerBlock(nn.Module):
    r"""One block: ``x <- x + A(x)``, then ``x <- x + W_2 ReLU(W_1 x + b_1) + b_2``.

    ``A`` is the periodic multi-head attention of the module docstring: ``q, k, v`` linear
    maps (with biases), per head the width vector ``w_h`` (``width_weight``) and the value
    projection ``psi`` [H, d_k, K], then ``out_proj``. ``width_norm`` holds the frozen
    ``(m, s, n)``: mean and standard deviation of :math:`q\cdot w` over the calibration
    batch and the number of values they came from (0 = not calibrated: m = 0, s = 1).

    Shapes: x [N, D] -> [N, D].
    """

    def __init__(self, config: CrystalformerConfig) -> None:
        super().__init__()
        c = self.config = config
        self.d_k = c.dim // c.n_heads
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(c.dim, c.dim) for _ in range(3))
        self.width_weight = nn.Parameter(torch.empty(c.n_heads, self.d_k))
        self.psi = nn.Parameter(torch.empty(c.real_heads, self.d_k, c.n_basis)) \
            if c.n_basis > 0 else None
        self.out_proj = nn.Linear(c.dim, c.dim)
        self.ff1, self.ff2 = nn.Linear(c.dim, c.ff_dim), nn.Linear(c.ff_dim, c.dim)
        self.width_norm = nn.Parameter(torch.tensor([0.0, 1.0, 0.0]), requires_grad=False)
        self.calibrating = False
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The authors' T-Fixup initialisation: Xavier, then ``v``, ``out`` and the
        feed-forward weights times ``0.67 L^{-1/4}``; ``w ~ N(0, 1/d_k)``."""
        fixup = 0.67 * self.config.n_layers ** -0.25
        for lin in (self.q_proj, self.k_proj, self.v_proj, self.out_proj, self.ff1, self.ff2):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
        for lin in (self.v_proj, self.out_proj, self.ff1, self.ff2):
            lin.weight.mul_(fixup)
        nn.init.normal_(self.width_weight, 0.0, self.d_k ** -0.5)
        if self.psi is not None:
            flat = self.psi.view(-1, self.psi.size(-1))  # [H d_k, K]
            nn.init.xavier_uniform_(flat, gain=self.psi.size(-1) ** -0.5)

    def widths(self, q: torch.Tensor) -> torch.Tensor:
        r""":math:`\rho((q\cdot w - m)/s)` per atom and head, [N, H] (calibrates m, s first
        when ``calibrating``)."""
        raw = (q * self.width_weight).sum(-1)  # [N, H]
        if self.calibrating:
            with torch.no_grad():
                self.width_norm.copy_(torch.stack([raw.mean(), raw.std(),
                                                   raw.new_tensor(float(raw.numel()))]))
        m, s = self.width_norm[0], self.width_norm[1]
        return width_rho((raw - m) / s, self.config.rho_slope, self.config.rho_floor)

    def _project(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """q, k, v [N, H, d_k] each, rho [N, H] and 1/(2 sigma^2) [N, H_real] (1/Å²)."""
        c, n = self.config, x.size(0)
        q = self.q_proj(x).view(n, c.n_heads, self.d_k)  # [N, H, d_k]
        k = self.k_proj(x).view(n, c.n_heads, self.d_k)  # [N, H, d_k]
        v = self.v_proj(x).view(n, c.n_heads, self.d_k)  # [N, H, d_k]
        rho = self.widths(q)  # [N, H]
        return q, k, v, rho, rho[:, :c.real_heads] / (2.0 * c.r0**2)

    def edge_weights(self, x: torch.Tensor, geo: Geometry) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention weight of every edge of the production path, [E, H_real] (edges in
        the order of ``geo``: grouped by query), and sigma per atom and head [N, H_real]."""
        q, k, _, _, inv = self._project(x)
        hr = self.config.real_heads
        w = edge_weights(q[:, :hr], k[:, :hr], inv, geo.edge_i, geo.edge_pair, geo.pair_i,
                         geo.pair_j, geo.d2)
        return w, (0.5 / inv).sqrt()

    def attention(self, x: torch.Tensor, geo: Geometry) -> tuple[torch.Tensor, Any]:
        """Multi-head periodic attention after ``out_proj``: [N, D] (and beta, dense path)."""
        c, n = self.config, x.size(0)
        q, k, v, rho, inv_two_sigma2 = self._project(x)
        hr = c.real_heads
        qr, kr, vr = q[:, :hr], k[:, :hr], v[:, :hr]
        beta = None
        if geo.path == "dense":
            y, beta = dense_attention(qr, kr, vr, inv_two_sigma2, geo.pair_i, geo.pair_j,
                                      geo.d2, geo.basis, self.psi)  # [N, H_real, d_k]
        else:
            y = edge_attention(qr, kr, vr, inv_two_sigma2, geo.edge_i, geo.edge_pair,
                               geo.pair_i, geo.pair_j, geo.d2, geo.basis, geo.slot, self.psi)
        if c.dual_space:
            sigma = c.r0_reciprocal * rho[:, hr:].sqrt()  # [N, H - H_real], Å
            alpha = reciprocal_alpha(geo.rel, geo.cell, sigma.index_select(0, geo.pair_i),
                                     c.reciprocal_range)  # [P, H - H_real]
            y_reci, _ = dense_attention(q[:, hr:], k[:, hr:], v[:, hr:], rho[:, hr:],
                                        geo.pair_i, geo.pair_j, None, None, None, alpha)
            y = torch.cat([y, y_reci], dim=1)  # [N, H, d_k]
        return self.out_proj(y.reshape(n, -1)), beta  # [N, D]

    def forward(self, x: torch.Tensor, geo: Geometry,
                record: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        attn, beta = self.attention(x, geo)  # [N, D]
        x = x + attn  # [N, D]
        out = x + self.ff2(torch.relu(self.ff1(x)))  # [N, D]
        if record is not None:
            record |= {"attn_out": attn, "after_attn": x, "out": out}
            if beta is not None:
                record["pe_values"] = beta
        return out


class Crystalformer(nn.Module):
    r"""Crystalformer (Taniai et al., ICLR 2024), the authors' default model.

    .. math::
        x_i^{(0)} = W_e\,\mathrm{onehot}(Z_i),\qquad x^{(l+1)} = \mathrm{Block}_l(x^{(l)}),
        \qquad \tilde y = W_2\,\mathrm{ReLU}\Big(W_1 \tfrac{1}{N}\textstyle\sum_i
        x_i^{(L)} + b_1\Big) + b_2,

    and :meth:`predict` returns ``scale_shift(y~)`` in the target's units. 853,517
    parameters with the defaults (853,505 trainable; the 12 frozen ones are the blocks'
    ``width_norm``). Float32 by default; ``model.double()`` for float64 (positions are then
    used in float64 too).

    Args:
        config: hyperparameters (default :class:`CrystalformerConfig`).

    Shapes:
        a graph or batch of ``config.graph_options`` (edges path) or any graph with ``z``,
        ``pos``, ``cell`` (dense path) -> [n_graphs] raw outputs.
    """

    config_class = CrystalformerConfig
    """The config dataclass (the registry builds ``Crystalformer(CrystalformerConfig(**c))``)."""

    train_defaults = {"lr": 5e-4, "beta1": 0.9, "beta2": 0.98, "weight_decay": 1e-5,
                      "decay_biases": False, "grad_clip": 1.0, "loss": "l1",
                      "schedule": "invsqrt", "schedule_steps": 4000, "warmup_epochs": 0.0,
                      "batch_size": 128}
    """The authors' recipe (``default.json``): :class:`companion.train.TrainConfig` fields
    that ``train_model`` and the command line use unless given (L1 on standardized
    targets, AdamW, ``lr sqrt(T / (T + t))`` with T = 4000 steps, gradient norm clipped at
    1, no weight decay on biases; the authors' own code leaves biases at AdamW's default
    decay of 0.01, an oversight we do not copy). Their ``swa_epochs`` = 50 of 500 epochs:
    pass ``swa_epochs`` for long runs."""

    def __init__(self, config: CrystalformerConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or CrystalformerConfig()
        self.embed = nn.Linear(c.n_species, c.dim, bias=False)  # one-hot of Z -> D
        self.blocks = nn.ModuleList([CrystalformerBlock(c) for _ in range(c.n_layers)])
        self.head = nn.Sequential(nn.Linear(c.dim, c.head_dim), nn.ReLU(),
                                  nn.Linear(c.head_dim, 1))
        self.scale_shift = ScaleShift(dtype=torch.float64)
        std = c.dim ** -0.5 * (9 * c.n_layers) ** -0.25  # T-Fixup embedding scale
        nn.init.normal_(self.embed.weight, 0.0, std)

    def atom_embedding(self, z: torch.Tensor) -> torch.Tensor:
        """[N] atomic numbers -> [N, D] (``W_e`` times the one-hot of ``Z - 1``)."""
        if int(z.min()) < 1 or int(z.max()) > self.config.n_species:
            raise ValueError(f"Crystalformer embeds Z = 1..{self.config.n_species}; got Z "
                             f"from {int(z.min())} to {int(z.max())}.")
        return self.embed.weight.t().index_select(0, z - 1)  # [N, D]

    def geometry(self, data: Data, path: str = "edges") -> Geometry:
        """Pairs, distances and basis of a batch for ``path`` (``"edges"`` or ``"dense"``)."""
        dtype = self.embed.weight.dtype
        c, graph = self.config, graph_index(data)
        ptr = getattr(data, "ptr", None)
        if ptr is None:
            ptr = torch.tensor([0, data.z.size(0)], device=data.z.device)
        pair_i, pair_j, pair_ptr = all_pairs(ptr)  # [P], [P], [G + 1]
        cell = data.cell.to(data.pos.dtype if dtype == torch.float32 else dtype)  # [G, 3, 3]
        pos = data.pos.to(cell.dtype)  # [N, 3]
        extra: dict[str, torch.Tensor] = {}
        if c.dual_space:
            extra = {"rel": (pos.index_select(0, pair_j) - pos.index_select(0, pair_i)).to(dtype),
                     "cell": cell.index_select(0, graph.index_select(0, pair_i)).to(dtype)}
        if path == "dense":
            shifts = box_translations(c.dense_range, cell.dtype, cell.device)  # [R, 3]
            images = torch.einsum("rk,gkl->grl", shifts, cell)  # [G, R, 3]
            rel = pos.index_select(0, pair_j) - pos.index_select(0, pair_i)  # [P, 3]
            vec = rel.unsqueeze(1) + images.index_select(0, graph.index_select(0, pair_i))
            d2 = (vec * vec).sum(-1)  # [P, R]
            basis = gaussian_basis(d2.sqrt(), c.n_basis, c.r_max).to(dtype) \
                if c.n_basis > 0 else None  # [P, R, K]
            return Geometry("dense", pair_i, pair_j, d2.to(dtype), basis, **extra)
        if path != "edges":
            raise ValueError(f"path must be 'edges' or 'dense', got {path!r}.")
        if "edge_index" not in data:
            raise ValueError("the edges path needs a radius graph: build it with "
                             "to_graph(structure, **model.config.graph_options).")
        src, dst = data.edge_index  # [E] each: key j, query i
        order = torch.argsort(dst, stable=True)  # [E] group the edges by query
        src, dst = src[order], dst[order]
        vec, _ = edge_vectors(Data(pos=pos, cell=cell, edge_index=data.edge_index,
                                   edge_shift=data.edge_shift, batch=getattr(data, "batch",
                                                                             None)))
        vec = vec.index_select(0, order)  # [E, 3]
        d2 = (vec * vec).sum(-1)  # [E]
        g = graph.index_select(0, dst)  # [E]
        n_g = (ptr[1:] - ptr[:-1]).index_select(0, g)  # [E]
        start = ptr.index_select(0, g)  # [E]
        edge_pair = pair_ptr.index_select(0, g) + (dst - start) * n_g + (src - start)  # [E]
        basis = slot = None
        if c.n_basis > 0:
            counts = torch.bincount(dst, minlength=data.z.size(0))  # [N]
            width = int(counts.max())
            first = counts.cumsum(0) - counts  # [N]
            rank = torch.arange(dst.size(0), device=dst.device) - first.index_select(0, dst)
            slot = dst * width + rank  # [E]
            b = gaussian_basis(d2.sqrt(), c.n_basis, c.r_max).to(dtype)  # [E, K]
            basis = b.new_zeros(data.z.size(0) * width, c.n_basis).index_copy_(0, slot, b)
            basis = basis.view(data.z.size(0), width, c.n_basis)  # [N, D_max, K]
        return Geometry("edges", pair_i, pair_j, d2.to(dtype), basis, dst, edge_pair, slot,
                        **extra)

    def encode(self, data: Data, path: str = "edges",
               record: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Atom features after the blocks, [N, D]. ``record`` (a dict) receives ``embed``
        and ``layer{l}.{attn_out, after_attn, out, pe_values}``."""
        geo = self.geometry(data, path)
        x = self.atom_embedding(data.z)  # [N, D]
        if record is not None:
            record["embed"] = x
        for index, block in enumerate(self.blocks):
            inner: dict[str, torch.Tensor] | None = {} if record is not None else None
            x = block(x, geo, inner)  # [N, D]
            if record is not None and inner is not None:
                record |= {f"layer{index}.{k}": v for k, v in inner.items()}
        return x

    def forward(self, data: Data, path: str = "edges",
                record: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        x = self.encode(data, path, record)  # [N, D]
        pooled = scatter(x, graph_index(data), dim=0, dim_size=num_graphs(data),
                         reduce="mean")  # [G, D]
        if record is not None:
            record["pooled"] = pooled
        return self.head(pooled)[:, 0]  # [G]

    def predict(self, data: Data, path: str = "edges") -> torch.Tensor:
        """The target in its units, ``scale_shift(forward)`` [n_graphs]."""
        return self.scale_shift(self(data, path))

    @torch.no_grad()
    def attention_weights(self, data: Data) -> list[dict[str, torch.Tensor]]:
        """Per block, the production path's weights: ``{"weight": [E, H_real], "sigma":
        [N, H_real] (Å)}`` with the edges in the order of ``data.edge_index`` (one graph or
        a batch). The weights of each query atom sum to 1 over its edges."""
        geo = self.geometry(data, "edges")
        order = torch.argsort(data.edge_index[1], stable=True)  # geometry's edge order
        x, out = self.atom_embedding(data.z), []
        for block in self.blocks:
            w, sigma = block.edge_weights(x, geo)
            out.append({"weight": torch.empty_like(w).index_copy_(0, order, w), "sigma": sigma})
            x = block(x, geo)
        return out

    @property
    def needs_calibration(self) -> bool:
        """True while a block's ``m, s`` are the placeholders 0, 1 (never calibrated)."""
        return any(float(b.width_norm[2]) == 0 for b in self.blocks)

    @torch.no_grad()
    def calibrate(self, data: Data, path: str = "edges") -> list[tuple[float, float]]:
        """Set and freeze every block's ``m, s`` from one batch (the authors' rule: mean and
        unbiased std of :math:`q\\cdot w` over all atoms and heads, block by block in one
        forward pass). Training calls it once, on the first training batch
        (:meth:`companion.train.tasks.Task.prepare`). Returns ``[(m, s)]`` per block."""
        for block in self.blocks:
            block.calibrating = True
        try:
            self(data, path)
        finally:
            for block in self.blocks:
                block.calibrating = False
        return [(float(b.width_norm[0]), float(b.width_norm[1])) for b in self.blocks]


REFERENCE_NAMES: dict[str, str] = {
    "input_embeddings.weight": "embed.weight",
    "mlp.0.weight": "head.0.weight", "mlp.0.bias": "head.0.bias",
    "mlp.3.weight": "head.2.weight", "mlp.3.bias": "head.2.bias",
    "linear1.weight": "ff1.weight", "linear1.bias": "ff1.bias",
    "linear2.weight": "ff2.weight", "linear2.bias": "ff2.bias",
    "self_attn.q_proj_weight": "q_proj.weight", "self_attn.k_proj_weight": "k_proj.weight",
    "self_attn.v_proj_weight": "v_proj.weight",
    "self_attn.out_proj.weight": "out_proj.weight", "self_attn.out_proj.bias": "out_proj.bias",
}
"""Authors' name -> ours (``encoder.layers.{l}.`` -> ``blocks.{l}.``). The rest is converted
by :func:`convert_reference_state`: ``in_proj_bias`` [3D] -> ``{q,k,v}_proj.bias``;
``lattice_pos_weights`` [D] -> ``width_weight`` [H, d_k]; ``pe_dist_proj`` [1, H, d_k, K]
-> ``psi`` [H, d_k, K]; ``gauss_scale = [1/s, -m]`` -> ``width_norm = [m, s, n]``;
``atten_scale`` (unused by the default ``norm_func_mode = 0``) is dropped."""


def rename_reference_key(key: str) -> str:
    """``encoder.layers.2.linear1.bias`` (authors) -> ``blocks.2.ff1.bias`` (ours)."""
    if key.startswith("encoder.layers."):
        _, _, index, rest = key.split(".", 3)
        return f"blocks.{index}.{REFERENCE_NAMES[rest]}"
    return REFERENCE_NAMES[key]


def convert_reference_state(state: dict[str, torch.Tensor], config: CrystalformerConfig,
                            n_calibration: float = 0.0) -> dict[str, torch.Tensor]:
    """The authors' ``state_dict`` (their names) as ours, for ``load_state_dict``.

    Args:
        state: the authors' tensors (e.g. ``../shared/reference/crystalformer/out``).
        config: our config of the same sizes.
        n_calibration: the third entry of ``width_norm`` (values behind m and s).
    """
    out: dict[str, torch.Tensor] = {}
    d_k = config.dim // config.n_heads
    for key, value in state.items():
        name = key.rsplit(".", 1)[-1]
        prefix = "blocks." + key.split(".")[2] + "." if key.startswith("encoder.") else ""
        if name == "in_proj_bias":
            for part, bias in zip("qkv", value.chunk(3), strict=True):
                out[f"{prefix}{part}_proj.bias"] = bias
        elif name == "lattice_pos_weights":
            out[prefix + "width_weight"] = value.view(config.n_heads, d_k)
        elif name == "pe_dist_proj":
            out[prefix + "psi"] = value[0]
        elif name == "gauss_scale":
            scale, shift = value.tolist()
            out[prefix + "width_norm"] = value.new_tensor([-shift, 1.0 / scale, n_calibration])
        elif name != "atten_scale":
            out[rename_reference_key(key)] = value
    return out
