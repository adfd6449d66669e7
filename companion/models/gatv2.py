r"""GATv2 / JAT: a graph attention interatomic potential (energy, forces, stress).

- GATv2: Brody, Alon & Yahav, "How Attentive are Graph Attention Networks?", ICLR 2022.
- JAT (Jraph Attention neTworks): S. Hödl, master's thesis, TU Wien (2022), GATv2 message
  passing in place of the descriptors of NeuralIL.
- NeuralIL: Montes-Campos, Carrete, Bichelmaier, Varela & Madsen, J. Chem. Inf. Model. 62,
  88 (2022): atomic energies summed to the total, forces by automatic differentiation.

The model sees a structure as a radius graph (``to_graph(atoms, **config.graph_options)``,
schema in :mod:`companion.graphs.keys`; molecules and periodic cells alike). Each atom starts
from a learned embedding of its species; T GATv2 layers let it attend to its neighbors; an MLP
turns its final features into an atomic energy; the energy is their sum:

.. math::
    E = \sum_i \big(s_{Z_i}\, \mathrm{MLP}(h_i^{(T)}) + b_{Z_i}\big), \qquad
    \mathbf F_i = -\partial E / \partial \mathbf r_i, \qquad
    \sigma = \frac{1}{V} \frac{\partial E}{\partial \varepsilon}\Big|_{\varepsilon=0}

with per-species scale :math:`s_Z` and shift :math:`b_Z` (``model.scale_shift``, a
:class:`~companion.nn.ScaleShift` of buffers, e.g. the isolated-atom reference energies;
``model.scale_shift.set(scale=..., shift={Z: eV})``). Distances are recomputed from ``pos``
and ``cell`` inside ``forward``, so forces and stress come from autograd.

Read top to bottom: :class:`GATv2Config`, :func:`envelope_softmax`, :class:`GATv2Layer`,
:class:`GATv2Potential`. Dimension names in shape comments:
``n_atoms``, ``n_edges``, ``n_graphs`` (:mod:`companion.graphs.keys`), ``F`` = ``embed_dim``,
``H`` = ``heads``, ``C`` = ``F // H`` (channels per head), ``K`` = ``n_radial``.

Example::

    model = GATv2Potential(GATv2Config(species=(1, 6, 8))).double()
    graph = to_graph(atoms, **model.config.graph_options, dtype=torch.float64)
    out = model.energy_and_forces(graph)  # {"energy": [1] eV, "forces": [n_atoms, 3] eV/Å}
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.nn.functional as fn
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from companion.errors import StructureError
from companion.graphs import edge_vectors, graph_index, num_graphs
from companion.nn.envelope import BesselBasis, make_envelope
from companion.nn.scale_shift import ScaleShift

MAX_Z = 118
"""Largest atomic number the species lookup table covers."""

ACTIVATIONS = {"silu": fn.silu, "leaky_relu": partial(fn.leaky_relu, negative_slope=0.2)}
"""Nonlinearities of the attention logits."""


@dataclass
class GATv2Config:
    """Hyperparameters of :class:`GATv2Potential` (defaults: 37,697 parameters).

    Attributes:
        species: atomic numbers the model knows, e.g. ``(1, 6, 7, 8)`` for EAN and ethanol;
            other elements raise a :class:`~companion.errors.StructureError`.
        embed_dim: F, width of the atom features.
        n_layers: T, number of GATv2 message-passing layers.
        heads: H, attention heads (F must be divisible by H).
        hidden: width of the two hidden layers of the atomic-energy MLP.
        n_radial: K, Bessel functions describing an edge's length.
        cutoff: radius of the graph and of the envelope, Å.
        envelope: ``"polynomial"`` (DimeNet) or ``"cosine"`` (:mod:`companion.nn.envelope`).
        envelope_exponent: p of the polynomial envelope.
        activation: nonlinearity inside the attention logits, ``"silu"`` (smooth) or
            ``"leaky_relu"`` (GATv2's, slope 0.2: its kink makes the forces jump wherever a
            pre-activation changes sign, which molecular dynamics does not like).
        dropout: dropout on the attention weights while training (0 keeps forces exact).
        distance_only: ablation without attention: the weights depend only on the edge
            length (a learned radial filter, normalized over the neighbors), not on h_i, h_j.
    """

    species: tuple[int, ...] = (1, 6, 7, 8)
    embed_dim: int = 48
    n_layers: int = 4
    heads: int = 4
    hidden: int = 64
    n_radial: int = 8
    cutoff: float = 4.0
    envelope: str = "polynomial"
    envelope_exponent: int = 6
    activation: str = "silu"
    dropout: float = 0.0
    distance_only: bool = False

    def __post_init__(self) -> None:
        self.species = tuple(int(z) for z in self.species)
        if not self.species or len(set(self.species)) != len(self.species) \
                or not all(1 <= z <= MAX_Z for z in self.species):
            raise ValueError(f"species must be distinct atomic numbers, got {self.species}.")
        if self.embed_dim % self.heads:
            raise ValueError(f"embed_dim={self.embed_dim} is not divisible by heads={self.heads}.")
        if self.n_layers < 1 or self.cutoff <= 0:
            raise ValueError(f"need n_layers >= 1 and cutoff > 0 Å, got {self.n_layers}, "
                             f"{self.cutoff}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}.")

    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def graph_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`companion.graphs.to_graph` for this model's graphs."""
        return {"policy": "radius", "cutoff": self.cutoff}


def envelope_softmax(logits: torch.Tensor, envelope: torch.Tensor, index: torch.Tensor,
                     n_atoms: int) -> torch.Tensor:
    r"""Softmax over the incoming edges of each atom, each term weighted by its envelope.

    .. math::
        \alpha_{ij} = \frac{u(d_{ij})\, \exp(e_{ij})}{\sum_{k \in N(i)} u(d_{ik})\,
        \exp(e_{ik})}
        = \mathrm{softmax}_j\big(e_{ij} + \log u(d_{ij})\big)

    With ``u = 1`` this is ``torch_geometric.utils.softmax(logits, index)``. The weights of
    each atom still sum to 1, but a neighbor at the cutoff (u = 0) has no share of the
    denominator, so the weights of the others do not jump when it enters or leaves.

    Args:
        logits: [n_edges, H] attention logits e_ij.
        envelope: [n_edges] u(d_ij) in [0, 1].
        index: [n_edges] center atom i of each edge (``edge_index[1]``).
        n_atoms: number of atoms.

    Returns:
        [n_edges, H] attention weights alpha_ij.
    """
    # Subtracting each center's largest logit (a constant per softmax) avoids overflow.
    top = scatter(logits.detach(), index, dim=0, dim_size=n_atoms, reduce="max")  # [n_atoms, H]
    w = envelope.unsqueeze(-1) * torch.exp(logits - top[index])  # [n_edges, H]
    total = scatter(w, index, dim=0, dim_size=n_atoms, reduce="sum")  # [n_atoms, H]
    return w / total.clamp_min(torch.finfo(w.dtype).tiny)[index]  # [n_edges, H]


class GATv2Layer(nn.Module):
    r"""One message-passing step with GATv2 dynamic attention and a smooth cutoff.

    For each edge ``j -> i`` of length :math:`d_{ij}` with Bessel features
    :math:`\phi(d_{ij})` and envelope :math:`u_{ij} = u(d_{ij})`, per head:

    .. math::
        e_{ij} = a^\top \mathrm{act}\big(W [h_i \,\|\, h_j \,\|\, \phi(d_{ij})]\big)
               = a^\top \mathrm{act}\big(W_t h_i + W_s h_j + W_e \phi(d_{ij})\big),

        \alpha_{ij} = \frac{u_{ij} \exp e_{ij}}{\sum_k u_{ik} \exp e_{ik}}, \qquad
        m_i = \sum_j \alpha_{ij}\, u_{ij}\, \big(W_s h_j + W_e \phi(d_{ij})\big),

        h_i' = \mathrm{LayerNorm}\big(h_i + \mathrm{SiLU}(W_o [m_i^1 \| \dots \| m_i^H])\big).

    GATv2 applies the nonlinearity *before* the attention vector :math:`a` ("dynamic"
    attention: the ranking of neighbors can depend on the center :math:`h_i`), unlike GAT's
    :math:`\mathrm{LeakyReLU}(a^\top [W h_i \| W h_j])`, whose ranking is the same for every
    center. The values are GATv2's source projection :math:`W_s h_j` plus the edge term
    :math:`W_e \phi(d_{ij})` already computed for the logits (edge features in the values, as
    PyG's ``TransformerConv``): without it, in a one-element crystal every neighbor would
    send the same value in the first layer, and the geometry would enter only through H
    scalars :math:`\sum_j \alpha_{ij} u_{ij}`.

    **Why the envelope, and why twice.** A plain softmax is *not* continuous across the
    cutoff: when atom k enters the sphere of i, the term :math:`\exp e_{ik}` (of order one,
    whatever :math:`d_{ik}`) appears in the denominator at once, so every weight
    :math:`\alpha_{ij}` of the other neighbors jumps, and with them the energy. Multiplying
    only the message of k by :math:`u_{ik}` does not help, because the others' weights still
    jump. Multiplying the *exponential* of the logit by :math:`u_{ik}` does: the new term
    enters the denominator with weight :math:`u_{ik} \to 0`, and since :math:`u` has zero
    value and slope at the cutoff, energy and forces stay continuous. One case remains: when
    the *last* neighbor of i leaves, its weight is 1 up to the cutoff (it is alone in the
    softmax); the extra factor :math:`u_{ij}` on the message makes that message vanish too.

    With ``distance_only=True`` the logits are :math:`a^\top \mathrm{act}(W_e \phi(d_{ij}))`:
    a radial filter without attention to the features (the ablation of the notebook).

    Args:
        dim: F, width of the atom features.
        heads: H.
        n_radial: K.
        activation: key of :data:`ACTIVATIONS`.
        dropout: dropout on alpha while training.
        distance_only: logits from the edge length only.

    Shapes:
        h [n_atoms, F], edge_index [2, n_edges], rbf [n_edges, K], envelope [n_edges]
        -> h' [n_atoms, F], alpha [n_edges, H].
    """

    def __init__(self, dim: int, heads: int, n_radial: int, activation: str = "silu",
                 dropout: float = 0.0, distance_only: bool = False) -> None:
        super().__init__()
        self.heads, self.channels = heads, dim // heads
        self.distance_only = distance_only
        self.act = ACTIVATIONS[activation]
        self.lin_src = nn.Linear(dim, dim)  # W_s: keys and values
        self.lin_dst = None if distance_only else nn.Linear(dim, dim, bias=False)  # W_t
        self.lin_edge = nn.Linear(n_radial, dim, bias=False)  # W_e
        self.att = nn.Parameter(torch.empty(heads, self.channels))  # a, one per head
        nn.init.xavier_uniform_(self.att)
        self.dropout = nn.Dropout(dropout)
        self.lin_out = nn.Linear(dim, dim)  # W_o
        self.norm = nn.LayerNorm(dim)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, rbf: torch.Tensor,
                envelope: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        src, dst = edge_index  # [n_edges] each: j (neighbor), i (center)
        n_atoms, shape = h.size(0), (-1, self.heads, self.channels)
        radial = self.lin_edge(rbf)  # [n_edges, F]
        value = self.lin_src(h).index_select(0, src) + radial  # [n_edges, F]
        if self.lin_dst is None:
            z = radial  # [n_edges, F]
        else:
            z = value + self.lin_dst(h).index_select(0, dst)  # [n_edges, F]
        logits = self.act(z) @ self._att_matrix()  # [n_edges, H]
        alpha = envelope_softmax(logits, envelope, dst, n_atoms)  # [n_edges, H]
        weight = self.dropout(alpha) * envelope.unsqueeze(-1)  # [n_edges, H]
        msg = (weight.unsqueeze(-1) * value.view(shape)).flatten(1)  # [n_edges, F]
        m = h.new_zeros(n_atoms, msg.size(1)).index_add_(0, dst, msg)  # [n_atoms, F]
        return self.norm(h + fn.silu(self.lin_out(m))), alpha  # [n_atoms, F], [n_edges, H]

    def _att_matrix(self) -> torch.Tensor:
        """The H vectors a as a block-diagonal [F, H] matrix: all logits in one product."""
        eye = torch.eye(self.heads, dtype=self.att.dtype, device=self.att.device)  # [H, H]
        return (self.att.unsqueeze(-1) * eye.unsqueeze(1)).flatten(0, 1)  # [F, H]


class GATv2Potential(nn.Module):
    r"""GATv2 / JAT interatomic potential: ``model(data) -> energy [n_graphs]`` (eV).

    .. math::
        h_i^{(0)} = \mathrm{Embed}(Z_i), \qquad
        h^{(t+1)} = \mathrm{GATv2Layer}(h^{(t)}), \qquad
        E = \sum_i s_{Z_i}\, \mathrm{MLP}(h_i^{(T)}) + b_{Z_i}

    where the MLP is ``F -> hidden -> hidden -> 1`` with SiLU. :meth:`energy_and_forces`
    adds forces (and, for periodic cells, the stress) by automatic differentiation; both work
    on a single graph or a ``torch_geometric`` batch. Energies are continuous and
    differentiable when atoms cross the cutoff (see :class:`GATv2Layer`).

    Args:
        config: hyperparameters (default :class:`GATv2Config`).

    Shapes:
        a graph or batch of the ``"radius"`` policy -> [n_graphs] energies, eV.
    """

    config_class = GATv2Config
    """The config dataclass (the registry builds ``GATv2Potential(GATv2Config(**config))``)."""

    def __init__(self, config: GATv2Config | None = None) -> None:
        super().__init__()
        self.config = c = config or GATv2Config()
        lookup = torch.full((MAX_Z + 1,), -1, dtype=torch.long)  # [119]
        lookup[list(c.species)] = torch.arange(c.n_species)
        self.register_buffer("species_lookup", lookup, persistent=False)  # Z -> index
        self.embed = nn.Embedding(c.n_species, c.embed_dim)
        self.rbf = BesselBasis(c.cutoff, c.n_radial)
        self.envelope = make_envelope(c.envelope, c.cutoff, c.envelope_exponent)
        self.layers = nn.ModuleList([
            GATv2Layer(c.embed_dim, c.heads, c.n_radial, c.activation, c.dropout,
                       c.distance_only) for _ in range(c.n_layers)])
        self.readout = nn.Sequential(
            nn.Linear(c.embed_dim, c.hidden), nn.SiLU(), nn.Linear(c.hidden, c.hidden),
            nn.SiLU(), nn.Linear(c.hidden, 1))
        # per-species s_Z, b_Z (eV), set by companion.train's EnergyForceTask or by hand
        self.scale_shift = ScaleShift(c.species)  # buffers [n_species] each

    def species_index(self, z: torch.Tensor) -> torch.Tensor:
        """[n_atoms] atomic numbers -> [n_atoms] row of the embedding; raises on unknown Z."""
        index = self.species_lookup[z.clamp(0, MAX_Z)]  # [n_atoms]
        if bool((index < 0).any()):
            raise StructureError(unknown_species_message(z.tolist(), self.config.species))
        return index

    def _features(self, data: Data, dist: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Final atom features [n_atoms, F], species index [n_atoms], alphas T x [n_edges, H]."""
        species = self.species_index(data.z)  # [n_atoms]
        dist = dist.to(self.embed.weight.dtype)  # [n_edges]
        rbf = self.rbf(dist)  # [n_edges, K]
        envelope = self.envelope(dist)  # [n_edges]
        h = self.embed(species)  # [n_atoms, F]
        alphas = []
        for layer in self.layers:
            h, alpha = layer(h, data.edge_index, rbf, envelope)  # [n_atoms, F], [n_edges, H]
            alphas.append(alpha)
        return h, species, alphas

    def atom_energies(self, data: Data) -> torch.Tensor:
        """[n_atoms] atomic energies E_i (eV), in the dtype of the model."""
        _, dist = edge_vectors(data)  # [n_edges], Å
        h, species, _ = self._features(data, dist)  # [n_atoms, F]
        out = self.readout(h).squeeze(-1)  # [n_atoms]
        return self.scale_shift(out, species)  # [n_atoms], s_Z out + b_Z

    def forward(self, data: Data) -> torch.Tensor:
        e_atom = self.atom_energies(data)  # [n_atoms]
        return scatter(e_atom, graph_index(data), dim=0, dim_size=num_graphs(data),
                       reduce="sum")  # [n_graphs]

    def energy_and_forces(self, data: Data, stress: bool = False,
                          create_graph: bool | None = None) -> dict[str, torch.Tensor | None]:
        r"""Energies, forces :math:`-\partial E/\partial r` and (optionally) the stress.

        The stress follows ASE: a symmetric strain :math:`\varepsilon` (zero, but tracked by
        autograd) deforms positions and cell, ``pos' = pos (I + eps)``, ``cell' = cell (I +
        eps)``, and :math:`\sigma = V^{-1} \partial E / \partial \varepsilon` (eV/Å³,
        positive = tensile, as ``atoms.get_stress(voigt=False)``).

        Args:
            data: a graph or batch (``data.batch``) of the schema.
            stress: also return the stress; every graph must be a periodic cell.
            create_graph: keep the graph of the derivatives, so a loss on forces can be
                backpropagated to the parameters (default: ``self.training``).

        Returns:
            ``{"energy": [n_graphs] eV, "forces": [n_atoms, 3] eV/Å, "stress": [n_graphs,
            3, 3] eV/Å³ or None}``; positions, forces and stress in the dtype of ``pos``.
        """
        create_graph = self.training if create_graph is None else create_graph
        if stress and bool((torch.linalg.det(data.cell).abs() < 1e-9).any()):
            raise StructureError("stress needs periodic cells with a volume; a graph of the "
                                 "batch has none (a molecule?).")
        pos = data.pos.detach().requires_grad_(True)  # [n_atoms, 3]
        strained = copy.copy(data)  # shallow: shares every tensor but pos and cell
        inputs = [pos]
        if stress:
            strain = torch.zeros_like(data.cell, requires_grad=True)  # [n_graphs, 3, 3]
            eps = 0.5 * (strain + strain.transpose(1, 2))  # [n_graphs, 3, 3]
            strained.cell = data.cell + data.cell @ eps  # [n_graphs, 3, 3]
            pos = pos + torch.einsum("ni,nij->nj", pos, eps[graph_index(data)])
            inputs.append(strain)
        strained.pos = pos
        energy = self(strained)  # [n_graphs]
        grads = torch.autograd.grad(energy.sum(), inputs, create_graph=create_graph)
        if not create_graph:
            energy = energy.detach()
        out: dict[str, torch.Tensor | None] = {"energy": energy, "forces": -grads[0],
                                               "stress": None}
        if stress:
            volume = torch.linalg.det(data.cell).abs()  # [n_graphs], Å^3
            out["stress"] = grads[1] / volume[:, None, None]  # [n_graphs, 3, 3]
        return out

    @torch.no_grad()
    def attention_weights(self, data: Data) -> list[torch.Tensor]:
        """Attention weights alpha_ij of every layer, for visualization.

        Returns:
            T tensors [n_edges, H], aligned with ``data.edge_index``; for each layer, head
            and atom with neighbors, the weights of its incoming edges sum to 1 (the
            envelope factor on the messages is not included).
        """
        _, dist = edge_vectors(data)  # [n_edges]
        return self._features(data, dist)[2]


def unknown_species_message(z: list[int], species: tuple[int, ...]) -> str:
    """Error text naming the unknown elements, where they are, and the model's species."""
    from ase.data import chemical_symbols

    bad = [i for i, zi in enumerate(z) if zi not in species]
    names = sorted({chemical_symbols[z[i]] if 0 < z[i] <= MAX_Z else f"Z={z[i]}" for i in bad})
    known = ", ".join(chemical_symbols[s] for s in species)
    where = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
    return (f"the model knows only {known}; the structure has {', '.join(names)} "
            f"(atoms {where}). Train a model whose config.species includes them.")
