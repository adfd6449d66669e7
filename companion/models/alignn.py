"""ALIGNN: the atomistic line graph neural network.

Choudhary & DeCost, "Atomistic Line Graph Neural Network for improved materials property
predictions", npj Comput. Mater. 7, 185 (2021).

CGCNN sees bond lengths only. ALIGNN also sees bond *angles*: besides the atom graph (atoms
as nodes, bonds as edges) it convolves over the line graph (bonds as nodes, pairs of bonds
that share an atom as edges, carrying the cosine of the angle between them). Each ALIGNN
layer first updates bonds and angles on the line graph, then atoms and bonds on the atom
graph, so angle information flows into the atoms through the bonds.

Graphs: ``to_graph(structure, **GRAPH_KWARGS)`` (the 12 nearest neighbors keeping the whole
12th shell, symmetrized, with the line graph; schema in :mod:`companion.graphs.keys`,
triplet convention in :mod:`companion.graphs.line_graph`). Distances and angle cosines are
recomputed from ``pos``/``cell`` in ``forward``, so gradients reach the positions.

Memory: line graphs grow as edges x neighbors. Atom ``j`` with ``d_j`` bonds contributes
``d_j ** 2`` triplets (backtracking pairs included): on the FLLA training crystals 11.7
atoms, 156 edges and 2104 triplets per structure on average (13 per edge, 180 per atom).
The line-graph convolutions keep several ``[n_triplets, H]`` tensors for the backward pass:
one training epoch of the default model at batch 64 peaks at 6.6 GB resident memory on CPU,
a small one (H = 64, 2 + 2 layers) at 2.0 GB (``benchmarks/train_alignn.py``). Graphs with
their line graphs are built per structure and concatenated per batch
(:class:`companion.graphs.dataset.GraphDataset` with a ``DataLoader``; ``lg_edge_index`` is
offset by the number of edges), so memory is bounded by the batch, never by the data set:
lower ``batch_size`` or ``hidden_features`` to fit.

Read top to bottom: :class:`ALIGNNConfig`, :class:`RBFExpansion`,
:class:`EdgeGatedGraphConv`, :class:`ALIGNNLayer`, :class:`ALIGNN`. Dimension names in shape
comments: ``n_atoms``, ``n_edges``, ``n_triplets``, ``n_graphs`` (:mod:`companion.graphs.keys`),
``H`` = ``hidden_features``, ``E`` = ``embedding_features``, ``K`` = number of basis
functions.

Example::

    model = ALIGNN(ALIGNNConfig()).eval()
    graph = to_graph(structure, **model.config.graph_options)
    with torch.no_grad():
        y = model.predict(graph)  # [1], target units
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as fn
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from companion.errors import StructureError
from companion.graphs import bond_cosines, edge_vectors, graph_index, num_graphs
from companion.graphs.features import CGCNN_DIM
from companion.nn import CGCNNAtomTable, ScaleShift

GRAPH_KWARGS: dict[str, Any] = {"policy": "alignn", "cutoff": 8.0, "max_neighbors": 12,
                                "line_graph": True, "backtracking": True}
"""Keyword arguments of :func:`companion.graphs.to_graph` for the default model (cutoff in
Å: the first search radius, raised until every atom has 12 neighbors)."""

GATE_EPS = 1e-6
"""Added to the sum of the gates of an atom before dividing by it (dimensionless)."""

COS_RANGE = (-1.0, 1.0)
"""Range of the angle basis: cosines of bond angles."""


@dataclass
class ALIGNNConfig:
    """Hyperparameters of :class:`ALIGNN` (defaults: the paper's, about 4.03 M parameters).

    Attributes:
        alignn_layers: ALIGNN layers (line-graph then atom-graph edge-gated convolution).
        gcn_layers: further edge-gated convolutions on the atom graph only.
        atom_input_features: width of the atom encoding (the 92-d CGCNN table).
        edge_input_features: K, Gaussians of the bond-length expansion on
            [``rbf_min``, ``rbf_max``].
        triplet_input_features: K, Gaussians of the angle-cosine expansion on [-1, 1].
        embedding_features: E, width between the basis and ``hidden_features`` in the bond
            and angle embeddings.
        hidden_features: H, width of atom, bond and angle features in all layers.
        output_features: outputs of a regression model (1: ``forward`` gives [n_graphs]).
        classification: log-probabilities of ``num_classes`` classes instead.
        num_classes: classes of a classification model.
        angles: False for the ablation without angles: the line-graph convolutions and the
            angle embedding are not built (each ALIGNN layer keeps only its atom-graph
            convolution, so the model is ``alignn_layers + gcn_layers`` edge-gated
            convolutions on the atom graph, the same depth); no line graph is needed.
        rbf_min: first Gaussian center of the bond lengths, Å.
        rbf_max: last Gaussian center of the bond lengths, Å.
        cutoff: first neighbor search radius of the graphs, Å.
        max_neighbors: neighbors per atom of the graphs (the whole shell of the last kept).
    """

    alignn_layers: int = 4
    gcn_layers: int = 4
    atom_input_features: int = CGCNN_DIM
    edge_input_features: int = 80
    triplet_input_features: int = 40
    embedding_features: int = 64
    hidden_features: int = 256
    output_features: int = 1
    classification: bool = False
    num_classes: int = 2
    angles: bool = True
    rbf_min: float = 0.0
    rbf_max: float = 8.0
    cutoff: float = 8.0
    max_neighbors: int = 12

    def __post_init__(self) -> None:
        if self.atom_input_features != CGCNN_DIM:
            raise ValueError(f"atom_input_features={self.atom_input_features}, but the atoms "
                             f"are encoded with the {CGCNN_DIM}-d CGCNN table.")
        if self.alignn_layers < 0 or self.gcn_layers < 0:
            raise ValueError(f"need alignn_layers >= 0 and gcn_layers >= 0, got "
                             f"{self.alignn_layers}, {self.gcn_layers}.")

    @property
    def graph_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`companion.graphs.to_graph` for this model's graphs."""
        return {**GRAPH_KWARGS, "cutoff": self.cutoff, "max_neighbors": self.max_neighbors,
                "line_graph": self.angles}


class RBFExpansion(nn.Module):
    r"""Gaussian basis with ``K`` centers evenly spaced from ``vmin`` to ``vmax`` inclusive:

    .. math::
        f_k(x) = \exp\big(-(x - \mu_k)^2 / \Delta\big), \qquad
        \mu_k = v_{min} + k \Delta, \quad \Delta = (v_{max} - v_{min}) / (K - 1),

    the width convention of the ALIGNN code (:math:`\gamma = 1/\Delta`, so a Gaussian's
    standard width is :math:`\sqrt{\Delta}`: 0.32 Å for 80 bond centers on [0, 8] Å, 0.23 for
    40 cosine centers on [-1, 1]).

    Shapes:
        [...] values -> [..., K].
    """

    def __init__(self, vmin: float, vmax: float, bins: int) -> None:
        super().__init__()
        if bins < 2 or vmax <= vmin:
            raise ValueError(f"need bins >= 2 and vmin < vmax, got {bins}, {vmin}, {vmax}.")
        self.register_buffer("centers", torch.linspace(vmin, vmax, bins))  # [K]
        self.spacing = (vmax - vmin) / (bins - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        diff = x.unsqueeze(-1) - self.centers.to(x.dtype)  # [..., K]
        return torch.exp(-(diff**2) / self.spacing)  # [..., K]


def mlp_block(n_in: int, n_out: int) -> nn.Sequential:
    """``SiLU(BN(W x + b))``: the embedding block of ALIGNN. [n, n_in] -> [n, n_out]."""
    return nn.Sequential(nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.SiLU())


class EdgeGatedGraphConv(nn.Module):
    r"""Edge-gated graph convolution (Choudhary & DeCost 2021, after Bresson & Laurent's
    residual gated graph ConvNets), updating node and edge features together.

    For each edge ``j -> i`` (``i`` = target = ``edge_index[1]``, ``j`` = source):

    .. math::
        m_{ij} = A h_i + B h_j + C e_{ij}, \qquad \sigma_{ij} = \mathrm{sigmoid}(m_{ij}),

        h_i' = h_i + \mathrm{SiLU}\Big(\mathrm{BN}\Big(U h_i + \frac{\sum_j \sigma_{ij}
               \odot V h_j}{\sum_j \sigma_{ij} + \epsilon}\Big)\Big), \qquad
        e_{ij}' = e_{ij} + \mathrm{SiLU}\big(\mathrm{BN}(m_{ij})\big),

    with :math:`\epsilon` = :data:`GATE_EPS` and the normalization elementwise over the
    channels. Modules: ``A`` = ``dst_gate``, ``B`` = ``src_gate``, ``C`` = ``edge_gate``,
    ``U`` = ``dst_update``, ``V`` = ``src_update``, each named after the node it acts on (the
    ALIGNN code names ``U`` and ``V`` the other way round). On the line graph the "nodes"
    are bonds and the "edges" angle triplets (:class:`ALIGNNLayer`).

    Args:
        features: width of node and edge features (input = output, for the residuals).

    Shapes:
        x [n_nodes, H], edge_index [2, n_edges], edge_attr [n_edges, H]
        -> (x' [n_nodes, H], edge_attr' [n_edges, H]).
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.dst_gate = nn.Linear(features, features)
        self.src_gate = nn.Linear(features, features)
        self.edge_gate = nn.Linear(features, features)
        self.bn_edges = nn.BatchNorm1d(features)
        self.dst_update = nn.Linear(features, features)
        self.src_update = nn.Linear(features, features)
        self.bn_nodes = nn.BatchNorm1d(features)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        src, dst = edge_index  # [n_edges] each: j, i
        # index_select: the same gather as x[src], with a faster backward on CPU
        m = (self.dst_gate(x).index_select(0, dst) + self.src_gate(x).index_select(0, src)
             + self.edge_gate(edge_attr))  # [n_edges, H]
        sigma = torch.sigmoid(m)  # [n_edges, H]
        n = x.size(0)
        weighted = sigma * self.src_update(x).index_select(0, src)  # [n_edges, H]
        num = scatter(weighted, dst, dim=0, dim_size=n, reduce="sum")  # [n_nodes, H]
        den = scatter(sigma, dst, dim=0, dim_size=n, reduce="sum")  # [n_nodes, H]
        h = self.dst_update(x) + num / (den + GATE_EPS)  # [n_nodes, H]
        x = x + fn.silu(self.bn_nodes(h))  # [n_nodes, H]
        edge_attr = edge_attr + fn.silu(self.bn_edges(m))  # [n_edges, H]
        return x, edge_attr


class ALIGNNLayer(nn.Module):
    r"""One ALIGNN layer: a line-graph convolution, then an atom-graph convolution.

    .. math::
        (e', t') = \mathrm{EGGC}_{\mathrm{line}}(e, t; L(G)), \qquad
        (h', e'') = \mathrm{EGGC}_{\mathrm{atom}}(h, e'; G),

    with atom features ``h``, bond features ``e`` (nodes of the line graph ``L(G)``) and
    angle features ``t`` (edges of ``L(G)``). With ``angles=False`` only the atom-graph
    convolution is built, and ``t`` passes through unchanged (None).

    Args:
        features: H, width of atom, bond and angle features.
        angles: build the line-graph convolution.

    Shapes:
        h [n_atoms, H], e [n_edges, H], t [n_triplets, H] or None, edge_index [2, n_edges],
        lg_edge_index [2, n_triplets] or None -> (h', e'', t') of the same shapes.
    """

    def __init__(self, features: int, angles: bool = True) -> None:
        super().__init__()
        self.line_conv = EdgeGatedGraphConv(features) if angles else None
        self.atom_conv = EdgeGatedGraphConv(features)

    def forward(self, h: torch.Tensor, e: torch.Tensor, t: torch.Tensor | None,
                edge_index: torch.Tensor, lg_edge_index: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if self.line_conv is not None:
            e, t = self.line_conv(e, lg_edge_index, t)  # [n_edges, H], [n_triplets, H]
        h, e = self.atom_conv(h, edge_index, e)  # [n_atoms, H], [n_edges, H]
        return h, e, t


class ALIGNN(nn.Module):
    r"""Atomistic line graph neural network (Choudhary & DeCost, npj Comput. Mater. 7, 185,
    2021).

    .. math::
        h_i = \mathrm{MLP}(a(Z_i)), \qquad
        e_{ij} = \mathrm{MLP}_2(\mathrm{RBF}(d_{ij})), \qquad
        t_{kji} = \mathrm{MLP}_2(\mathrm{RBF}(\cos\theta_{kji})),

        (h, e, t) \leftarrow \mathrm{ALIGNNLayer}(h, e, t) \ \ (N \times), \qquad
        (h, e) \leftarrow \mathrm{EGGC}(h, e) \ \ (M \times), \qquad
        y = W \tfrac{1}{n}\textstyle\sum_i h_i + b,

    where ``MLP`` is :func:`mlp_block` (92 -> H), ``MLP_2`` two of them (K -> E -> H),
    :math:`a(Z)` the 92-d CGCNN table (a fixed buffer), ``RBF`` :class:`RBFExpansion` (80
    centers on [0, 8] Å for bonds, 40 on [-1, 1] for cosines), EGGC
    :class:`EdgeGatedGraphConv`; the mean runs over the atoms of each crystal. ``d`` and
    :math:`\cos\theta_{kji}` (angle at ``j`` between bonds to ``k`` and ``i``) are recomputed
    from ``pos`` and ``cell``. Classification: log-softmax over ``num_classes``.

    Args:
        config: hyperparameters (default :class:`ALIGNNConfig`).

    Shapes:
        a graph or batch (``GRAPH_KWARGS``; ``lg_edge_index`` needed unless ``angles=False``)
        -> [n_graphs] (one regression output, normalized target), [n_graphs,
        output_features], or [n_graphs, num_classes] log-probabilities. :meth:`predict`
        returns the target in its units.
    """

    config_class = ALIGNNConfig
    """The config dataclass (the registry builds ``ALIGNN(ALIGNNConfig(**config))``)."""

    def __init__(self, config: ALIGNNConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or ALIGNNConfig()
        self.atom_table = CGCNNAtomTable()  # Z -> [92], fixed
        h, k_emb = c.hidden_features, c.embedding_features
        self.atom_embedding = mlp_block(c.atom_input_features, h)
        self.edge_rbf = RBFExpansion(c.rbf_min, c.rbf_max, c.edge_input_features)
        self.edge_embedding = nn.Sequential(mlp_block(c.edge_input_features, k_emb),
                                            mlp_block(k_emb, h))
        self.angle_rbf = self.angle_embedding = None
        if c.angles:
            self.angle_rbf = RBFExpansion(*COS_RANGE, c.triplet_input_features)
            self.angle_embedding = nn.Sequential(mlp_block(c.triplet_input_features, k_emb),
                                                 mlp_block(k_emb, h))
        self.alignn_layers = nn.ModuleList(
            [ALIGNNLayer(h, c.angles) for _ in range(c.alignn_layers)])
        self.gcn_layers = nn.ModuleList([EdgeGatedGraphConv(h) for _ in range(c.gcn_layers)])
        self.head = nn.Linear(h, c.num_classes if c.classification else c.output_features)
        # Output units (regression): predict() returns scale * out + shift (target mean/std).
        self.scale_shift = ScaleShift(dtype=torch.float64)

    def atom_features(self, z: torch.Tensor) -> torch.Tensor:
        """[n_atoms] atomic numbers -> [n_atoms, 92] CGCNN encoding."""
        return self.atom_table(z)  # [n_atoms, 92]

    def bond_and_angle_inputs(self, data: Data
                              ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Basis expansions of the bond lengths and (with ``angles``) the angle cosines,
        recomputed from ``pos`` and ``cell`` (differentiable).

        Returns:
            [n_edges, K_bond] and [n_triplets, K_angle] (None without angles), in the dtype
            of the parameters.
        """
        dtype = self.head.weight.dtype
        vec, dist = edge_vectors(data)  # [n_edges, 3], [n_edges], Å
        bonds = self.edge_rbf(dist).to(dtype)  # [n_edges, K_bond]
        if self.angle_rbf is None:
            return bonds, None
        cos = bond_cosines(vec, _line_graph(data))  # [n_triplets]
        return bonds, self.angle_rbf(cos).to(dtype)  # [n_triplets, K_angle]

    def crystal_features(self, data: Data) -> torch.Tensor:
        """All convolutions and the mean over the atoms of each crystal: [n_graphs, H]."""
        bonds, angles = self.bond_and_angle_inputs(data)
        h = self.atom_embedding(self.atom_features(data.z).to(bonds.dtype))  # [n_atoms, H]
        e = self.edge_embedding(bonds)  # [n_edges, H]
        t = None if angles is None else self.angle_embedding(angles)  # [n_triplets, H]
        lg_edge_index = _line_graph(data) if t is not None else None
        for layer in self.alignn_layers:
            h, e, t = layer(h, e, t, data.edge_index, lg_edge_index)
        for conv in self.gcn_layers:
            h, e = conv(h, data.edge_index, e)  # [n_atoms, H], [n_edges, H]
        return scatter(h, graph_index(data), dim=0, dim_size=num_graphs(data),
                       reduce="mean")  # [n_graphs, H]

    def forward(self, data: Data) -> torch.Tensor:
        out = self.head(self.crystal_features(data))  # [n_graphs, n_out]
        if self.config.classification:
            return fn.log_softmax(out, dim=-1)  # [n_graphs, num_classes]
        return out[:, 0] if out.size(1) == 1 else out  # [n_graphs] or [n_graphs, n_out]

    def predict(self, data: Data) -> torch.Tensor:
        """The target in its units: ``scale_shift(forward)``, or class
        probabilities [n_graphs, num_classes]. Call in ``eval()`` mode (batch norm with
        running statistics) and under ``torch.no_grad()``."""
        out = self(data)  # [n_graphs] or [n_graphs, n_out]
        if self.config.classification:
            return out.exp()  # [n_graphs, num_classes]
        return self.scale_shift(out)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (buffers such as the atom table not counted).

    The default :class:`ALIGNNConfig` gives 4,026,753, the same as the reference code's
    default ALIGNN (``alignn`` 2026.8.11): the paper's "about 4 million".
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _line_graph(data: Data) -> torch.Tensor:
    """[2, n_triplets] ``lg_edge_index`` of a graph or batch, or a clear error."""
    lg = getattr(data, "lg_edge_index", None)
    if lg is None:
        raise StructureError("ALIGNN needs the line graph: build graphs with "
                             "to_graph(..., line_graph=True) (see GRAPH_KWARGS), or use "
                             "ALIGNNConfig(angles=False).")
    return lg
