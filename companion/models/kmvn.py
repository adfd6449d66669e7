r"""k-MVN: a virtual-node e3nn network that predicts full phonon band structures.

R. Okabe, A. Chotrattanapituk, A. Boonkird et al., "Virtual node graph neural network for
full phonon prediction", Nature Computational Science 4, 522 (2024), arXiv:2301.02197;
authors' code RyotaroOKabe/phonon_prediction (MIT). This file is written anew and reproduces
the authors' pretrained model number for number (``tests/models/test_kmvn_reference.py``).

Graph (:func:`companion.graphs.virtual_nodes.kmvn_graph`): ``N`` atoms with a 4 Å radius
list (self edges included) plus ``N^2 n_s`` virtual nodes, node ``(j, i, s)`` receiving a
copy of the real edge ``i -> j(s)`` and carrying atom ``j``'s features.

Network (e3nn). Inputs: ``x = ReLU(W_x onehot(Z) m_Z)`` (one-hot scaled by the atomic mass,
features) and ``a = ReLU(W_a onehot(Z))`` (node attributes), 32 each; edges:
``Y(r_ij)`` spherical harmonics to ``l = 2`` ('component', normalized) and 10 Gaussians of
``|r_ij|`` on [0, 4] Å. Each convolution:

.. math::
    f_v = \frac{L_{in}(x_v, a_v)}{\sqrt{d_v}}, \quad
    m_j = \frac{1}{\sqrt{d_j}} \sum_{i \to j} \big(f_i \otimes_{w(|r_{ij}|)} Y(r_{ij})\big),
    \quad
    x'_j = \sin\tfrac{\pi}{8}\, S(x_j, a_j) + c\, L_{out}(m_j, a_j)

with ``L``, ``S`` fully connected tensor products with ``a`` (``S`` the self-connection),
``w`` a radial MLP [10, 100, n_w] (SiLU, no biases), ``d`` the in-degree (at least 1), and
``c = cos(pi/8)`` on the irreps ``S`` can produce and ``c = 1`` on the others (the authors'
rule, where ``S`` is zero). Two convolutions are followed by gates over hidden irreps
``4 x (0o, 0e, 1o, 1e, 2o, 2e)`` (those reachable), the last one outputs
``2x0e + 2x1e + 2x2e``: per virtual node the first ``(0e, 1e, 2e)`` copy is the real part
and the second the imaginary part of a 3 x 3 block (:func:`companion.nn.phonons
.irreps_to_block_basis`). Blocks fill ``H_s[3j + a, 3i + b]`` and
``H(q) = sum_s H_s exp(2 pi i q.s)``; frequencies come from its eigenvalues, in the authors'
unit (1000 cm^-1; :func:`companion.nn.phonons.to_thz`).

Two modes (``KMVNConfig.mode``):

- ``"faithful"``: the authors' choices. Complex blocks, the general eigen-solver and
  ``Re sqrt(lambda + eps)``; virtual nodes without an edge still contribute (their
  self-connection). Reproduces the pretrained model.
- ``"physical"``: the real copy only, its Cartesian-symmetric part (``0e + 2e``; the
  antisymmetric ``1e`` part is dropped), blocks of unconnected virtual nodes set to zero,
  ``H_s[j, i]`` and ``H_{-s}[i, j]^T`` averaged (so ``H(q)`` is Hermitian and
  ``H(-q) = conj H(q)``), and the on-site blocks replaced by the acoustic-sum-rule value
  ``H_0[j, j] = - sum_{(i, s) != (j, 0)} sqrt(m_i / m_j) H_s[j, i]`` (``H`` read as the
  mass-weighted dynamical matrix), so the three acoustic modes vanish at Gamma;
  ``eigvalsh``, and imaginary modes as negative frequencies. Locality also makes the bands
  of a supercell fold exactly. The pretrained weights were not trained for this mode.

Dimension names: ``n_atoms``, ``n_edges``, ``n_vnodes``, ``n_nodes = n_atoms + n_vnodes``,
``n_s`` translations, ``n_q`` q-points, ``N`` atoms of one material.

Example::

    model = KMVN(KMVNConfig()).double().eval()
    model.load_authors_state_dict(load("okabe_phonon_weights"))
    graph = kmvn_graph(structure, qpoints=q)          # q [n_q, 3] reduced
    bands = model.bands(Batch.from_data_list([graph]))  # list of [n_q, 3N] (1000 cm^-1)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from ase.data import atomic_masses
from e3nn import o3
from e3nn.math import soft_one_hot_linspace
from e3nn.nn import FullyConnectedNet, Gate
from torch import nn

from companion.errors import StructureError
from companion.nn.phonons import (
    dynamical_matrix,
    frequencies_faithful,
    frequencies_physical,
    irreps_to_block_basis,
    real_space_blocks,
)

__all__ = ["KMVN", "KMVNConfig", "KMVNConv", "NodeContext", "authors_to_companion",
           "pretrained_kmvn"]

MAX_Z = 118


@dataclass
class KMVNConfig:
    """Hyperparameters (defaults: the authors' pretrained ``kmvn_241026-182158``).

    Attributes:
        mul: multiplicity of each hidden irrep.
        lmax: largest ``l`` of the spherical harmonics and hidden irreps.
        n_layers: gated convolutions before the last one.
        cutoff: neighbor radius and end of the radial basis, Å.
        n_basis: Gaussian radial functions.
        radial_neurons: hidden width of the radial MLPs.
        embed_dim: width of the two input embeddings.
        mode: ``"faithful"`` or ``"physical"`` (see the module docstring).
        dtype: ``"float64"`` or ``"float32"``: the parameters' dtype. e3nn bakes some
            constants into its compiled modules at construction in the default dtype, so the
            model is built under this dtype (a float32-built model cast with ``.double()``
            differs from the authors' by about 1e-7 relative).
    """

    mul: int = 4
    lmax: int = 2
    n_layers: int = 2
    cutoff: float = 4.0
    n_basis: int = 10
    radial_neurons: int = 100
    embed_dim: int = 32
    mode: Literal["faithful", "physical"] = "faithful"
    dtype: Literal["float64", "float32"] = "float64"

    def __post_init__(self) -> None:
        if self.mode not in ("faithful", "physical"):
            raise ValueError(f"KMVNConfig.mode={self.mode!r}; use 'faithful' or 'physical'")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"KMVNConfig.dtype={self.dtype!r}; use 'float64' or 'float32'")

    @property
    def graph_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`companion.graphs.virtual_nodes.kmvn_graph`."""
        return {"cutoff": self.cutoff}


@dataclass(frozen=True)
class NodeContext:
    """The computed nodes' graph, as :meth:`KMVN.node_irreps` builds it (for blocks that a
    subclass inserts between layers).

    Attributes:
        src, dst: [n_msg] messages: the real edges, then their copies to virtual nodes.
        vec: [n_msg, 3] edge vectors (source atom -> destination image), Å.
        radial: [n_msg, n_basis] Gaussian basis of the edge lengths.
        graph: [n_computed] the material (index in the batch) of each computed node.
    """

    src: torch.Tensor
    dst: torch.Tensor
    vec: torch.Tensor
    radial: torch.Tensor
    graph: torch.Tensor


def _reachable(irreps_in: o3.Irreps, irreps_sh: o3.Irreps, ir: o3.Irrep | str) -> bool:
    """Whether some ``ir_in x ir_sh`` product contains ``ir``."""
    ir = o3.Irrep(ir)
    return any(ir in a * b for _, a in irreps_in for _, b in irreps_sh)


class KMVNConv(nn.Module):
    """One convolution (module docstring): self-connection plus a tensor-product message."""

    def __init__(self, irreps_in: o3.Irreps, irreps_attr: o3.Irreps, irreps_sh: o3.Irreps,
                 irreps_out: o3.Irreps, n_basis: int, radial_neurons: int) -> None:
        super().__init__()
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.linear_in = o3.FullyConnectedTensorProduct(irreps_in, irreps_attr, irreps_in)
        self.self_connection = o3.FullyConnectedTensorProduct(irreps_in, irreps_attr,
                                                              irreps_out)
        mid, instructions = [], []
        for i, (mul, ir_in) in enumerate(self.irreps_in):
            for j, (_, ir_sh) in enumerate(irreps_sh):
                for ir in ir_in * ir_sh:
                    if ir in self.irreps_out:
                        instructions.append((i, j, len(mid), "uvu", True))
                        mid.append((mul, ir))
        irreps_mid, perm, _ = o3.Irreps(mid).sort()
        instructions = [(i, j, perm[k], m, t) for i, j, k, m, t in instructions]
        self.edge_tp = o3.TensorProduct(irreps_in, irreps_sh, irreps_mid, instructions,
                                        internal_weights=False, shared_weights=False)
        self.radial = FullyConnectedNet([n_basis, radial_neurons, self.edge_tp.weight_numel],
                                        torch.nn.functional.silu)
        self.linear_out = o3.FullyConnectedTensorProduct(irreps_mid, irreps_attr, irreps_out)
        mask = self.self_connection.output_mask  # [dim_out], 1 where S can be nonzero
        self.register_buffer("conv_weight", 1 - mask + math.cos(math.pi / 8) * mask,
                             persistent=False)

    def forward(self, x: torch.Tensor, attr: torch.Tensor, deg: torch.Tensor,
                src: torch.Tensor, dst: torch.Tensor, sh: torch.Tensor, radial: torch.Tensor
                ) -> torch.Tensor:
        """Args: x [n_nodes, dim_in], attr [n_nodes, 32], deg [n_nodes, 1], src/dst
        [n_msg], sh [n_msg, dim_sh], radial [n_msg, n_basis]. Returns [n_nodes, dim_out]."""
        f = self.linear_in(x, attr) / deg.sqrt()  # [n_nodes, dim_in]
        msg = self.edge_tp(f[src], sh, self.radial(radial))  # [n_msg, dim_mid]
        agg = torch.zeros(x.shape[0], msg.shape[1], dtype=msg.dtype, device=msg.device)
        agg = agg.index_add_(0, dst, msg) / deg.sqrt()  # [n_nodes, dim_mid]
        out = self.linear_out(agg, attr)  # [n_nodes, dim_out]
        return math.sin(math.pi / 8) * self.self_connection(x, attr) + self.conv_weight * out


class KMVN(nn.Module):
    """k-MVN (module docstring): virtual-node blocks -> ``H(q)`` -> phonon bands."""

    config_class = KMVNConfig
    task = "phonon_bands"  # companion.train.tasks.task_of

    def __init__(self, config: KMVNConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or KMVNConfig()
        previous = torch.get_default_dtype()
        torch.set_default_dtype(getattr(torch, config.dtype))
        try:
            self._build(config)
        finally:
            torch.set_default_dtype(previous)

    def _build(self, config: KMVNConfig) -> None:
        dim = config.embed_dim
        self.embed_x = nn.Linear(MAX_Z, dim)  # mass-scaled one-hot -> features
        self.embed_attr = nn.Linear(MAX_Z, dim)  # one-hot -> node attributes
        self.irreps_sh = o3.Irreps.spherical_harmonics(config.lmax)
        attr = o3.Irreps(f"{dim}x0e")
        hidden = o3.Irreps([(config.mul, (lv, p)) for lv in range(config.lmax + 1)
                            for p in (-1, 1)])
        acts = {1: torch.nn.functional.silu, -1: torch.tanh}
        gate_acts = {1: torch.sigmoid, -1: torch.tanh}
        self.convs, self.gates = nn.ModuleList(), nn.ModuleList()
        irreps = attr
        for _ in range(config.n_layers):
            scalars = o3.Irreps([(m, ir) for m, ir in hidden
                                 if ir.l == 0 and _reachable(irreps, self.irreps_sh, ir)])
            gated = o3.Irreps([(m, ir) for m, ir in hidden
                               if ir.l > 0 and _reachable(irreps, self.irreps_sh, ir)])
            g_ir = "0e" if _reachable(irreps, self.irreps_sh, "0e") else "0o"
            gates = o3.Irreps([(m, g_ir) for m, _ in gated])
            gate = Gate(scalars, [acts[ir.p] for _, ir in scalars],
                        gates, [gate_acts[ir.p] for _, ir in gates], gated)
            self.convs.append(KMVNConv(irreps, attr, self.irreps_sh, gate.irreps_in,
                                       config.n_basis, config.radial_neurons))
            self.gates.append(gate)
            irreps = gate.irreps_out
        self.convs.append(KMVNConv(irreps, attr, self.irreps_sh, o3.Irreps("2x0e+2x1e+2x2e"),
                                   config.n_basis, config.radial_neurons))
        self.register_buffer("block_basis", irreps_to_block_basis(), persistent=False)
        self.register_buffer("masses", torch.tensor(atomic_masses[:MAX_Z + 1],
                                                    dtype=torch.float64), persistent=False)

    # --------------------------------------------------------------- virtual-node output
    def node_irreps(self, data: Any) -> torch.Tensor:
        """The last convolution's output on the virtual nodes, [n_vnodes, 18]
        (``2x0e + 2x1e + 2x2e``; E(3)-equivariant).

        Virtual nodes without an incoming edge all compute the same function of their atom
        j's features, so they are computed once per atom and gathered: the same numbers as
        the full graph (the reproduction test checks it) with ``N + E + N`` nodes instead of
        ``N + N^2 n_s`` (10x fewer for an 8-atom cell)."""
        x, a, r, graph = self.atom_inputs(data)
        # Nodes computed: the atoms, one node per real edge (its connected virtual node) and
        # one node per atom standing for all of that atom's virtual nodes without an edge
        # (they all compute the same function of atom j's features: S(x_j, a_j), gated).
        n_atoms, n_edges = x.shape[0], r.shape[0]
        src, dst = data.edge_index
        edge_id = torch.arange(n_edges, device=x.device)
        out = self.propagate(torch.cat([x, x[dst], x]), torch.cat([a, a[dst], a]),
                             torch.cat([src, src]), torch.cat([dst, n_atoms + edge_id]),
                             r, torch.cat([graph, graph[dst], graph]))  # [n_computed, 18]
        row = n_atoms + n_edges + data.vnode_atom  # [n_vnodes] unconnected: the atom's node
        row = row.index_put((data.edge_vnode,), n_atoms + edge_id)  # connected: its edge's
        return out[row]  # [n_vnodes, 18]

    def atom_inputs(self, data: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                              torch.Tensor]:
        """Per atom the features ``x`` and attributes ``a`` [n_atoms, 32], per real edge its
        vector ``r`` [n_edges, 3] (source atom -> destination image, Å), and the material
        of each atom [n_atoms]."""
        z = data.z
        if int(z.min()) < 1 or int(z.max()) > MAX_Z:
            raise StructureError(f"atomic numbers must be in 1..{MAX_Z}; got {z.tolist()}")
        dtype = self.embed_x.weight.dtype
        onehot = nn.functional.one_hot(z - 1, MAX_Z).to(dtype)  # [n_atoms, 118]
        x = torch.relu(self.embed_x(onehot * self.masses[z].to(dtype)[:, None]))
        a = torch.relu(self.embed_attr(onehot))  # [n_atoms, 32]
        src, dst = data.edge_index
        graph = self._graph_of_atom(data)  # [n_atoms] material of each atom
        cell = data.cell.to(dtype)[graph[src]]  # [n_edges, 3, 3]
        pos = data.pos.to(dtype)
        r = pos[dst] - pos[src] - torch.einsum("ea,eab->eb", data.edge_shift.to(dtype), cell)
        return x, a, r, graph

    def propagate(self, x: torch.Tensor, a: torch.Tensor, msg_src: torch.Tensor,
                  msg_dst: torch.Tensor, r: torch.Tensor, node_graph: torch.Tensor
                  ) -> torch.Tensor:
        """The network on a node set: ``x``, ``a`` [n_nodes, 32], messages ``msg_src ->
        msg_dst`` [2 n_edges] (the real edges, then their copies to virtual nodes, both with
        the edge vectors ``r`` [n_edges, 3]), ``node_graph`` [n_nodes] the material of each
        node. Returns the last convolution's output [n_nodes, 18]."""
        deg = torch.bincount(msg_dst, minlength=x.shape[0]).clamp(min=1)
        deg = deg.to(x.dtype)[:, None]  # [n_nodes, 1]
        r = torch.cat([r, r])  # [2 n_edges, 3]
        sh = o3.spherical_harmonics(self.irreps_sh, r, True, normalization="component")
        radial = soft_one_hot_linspace(r.norm(dim=1), 0.0, self.config.cutoff,
                                       self.config.n_basis, basis="gaussian", cutoff=False)
        ctx = NodeContext(msg_src, msg_dst, r, radial, node_graph)
        for k, (conv, gate) in enumerate(zip(self.convs[:-1], self.gates, strict=True)):
            x = self.after_gate(k, gate(conv(x, a, deg, msg_src, msg_dst, sh, radial)), ctx)
        return self.convs[-1](x, a, deg, msg_src, msg_dst, sh, radial)

    def after_gate(self, layer: int, x: torch.Tensor, ctx: NodeContext) -> torch.Tensor:
        """What happens to the node features after gated layer ``layer``: nothing in
        k-MVN; a subclass inserts a block here (:class:`companion.models.vgnna.VGNNA`).
        ``x`` [n_computed, dim]; returns the same shape."""
        return x

    @staticmethod
    def _graph_of_atom(data: Any) -> torch.Tensor:
        batch = getattr(data, "batch", None)
        return torch.zeros_like(data.z) if batch is None else batch

    def blocks(self, data: Any) -> torch.Tensor:
        """3 x 3 blocks of the virtual nodes, [n_vnodes, 3, 3] (complex in faithful mode,
        real and Cartesian-symmetric with zeros for unconnected nodes in physical mode)."""
        out = self.node_irreps(data)  # [n_vnodes, 18]
        re = out[:, [0, 2, 3, 4, 8, 9, 10, 11, 12]]  # [n_vnodes, 9]
        basis = self.block_basis.to(out.dtype)  # [9, 3, 3]
        if self.config.mode == "physical":
            b = torch.einsum("vk,kab->vab", re, basis)
            b = 0.5 * (b + b.transpose(1, 2))  # [n_vnodes, 3, 3] drops the 1e part
            return b * data.vnode_connected.to(b.dtype)[:, None, None]
        im = out[:, [1, 5, 6, 7, 13, 14, 15, 16, 17]]  # [n_vnodes, 9]
        cplx = torch.complex(re, im)  # [n_vnodes, 9]
        return torch.einsum("vk,kab->vab", cplx, basis.to(cplx.dtype))  # [n_vnodes, 3, 3]

    def real_space(self, data: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per material ``(H_s [n_s, 3N, 3N], shifts [n_s, 3])``."""
        blocks = self.blocks(data)
        n_atoms = torch.bincount(self._graph_of_atom(data)).tolist()
        n_v, n_s = data.n_vnodes.tolist(), data.n_shifts.tolist()
        out, v0, s0, a0 = [], 0, 0, 0
        for n, nv, ns in zip(n_atoms, n_v, n_s, strict=True):
            hs = real_space_blocks(blocks[v0:v0 + nv], n, ns)  # [n_s, 3N, 3N]
            shifts = data.shifts[s0:s0 + ns]  # [n_s, 3]
            if self.config.mode == "physical":
                hs = self._physical(hs, shifts, data.z[a0:a0 + n])
            out.append((hs, shifts))
            v0, s0, a0 = v0 + nv, s0 + ns, a0 + n
        return out

    def _physical(self, hs: torch.Tensor, shifts: torch.Tensor, z: torch.Tensor
                  ) -> torch.Tensor:
        """Hermitian pairing of ``H_s`` with ``H_{-s}^T`` and the on-site sum rule."""
        key = {tuple(s): k for k, s in enumerate(shifts.tolist())}
        minus = torch.tensor([key[tuple(-v for v in s)] for s in shifts.tolist()],
                             device=hs.device)
        hs = 0.5 * (hs + hs[minus].transpose(1, 2))  # [n_s, 3N, 3N]
        n = z.shape[0]
        w = self.masses[z].to(hs.dtype).sqrt()  # [N]
        b = hs.reshape(-1, n, 3, n, 3)  # [n_s, N, 3, N, 3]
        home = key[(0, 0, 0)]
        idx = torch.arange(n, device=hs.device)
        b = b.clone()
        b[home, idx, :, idx, :] = 0.0
        onsite = -torch.einsum("sjaib,i->jab", b, w) / w[:, None, None]  # [N, 3, 3]
        b[home, idx, :, idx, :] = onsite
        return b.reshape(hs.shape)

    # ----------------------------------------------------------------------------- bands
    def bands(self, data: Any, qpoints: list[torch.Tensor] | None = None
              ) -> list[torch.Tensor]:
        """Phonon frequencies per material, [n_q, 3N] each, in 1000 cm^-1.

        Args:
            data: a batch of :class:`~companion.graphs.virtual_nodes.KMVNGraph`.
            qpoints: per material [n_q, 3] reduced q-points; default the graphs'
                ``qpoints``. In faithful mode all q-points of a material are evaluated
                together (``eps`` depends on them).
        """
        if qpoints is None:
            if getattr(data, "qpoints", None) is None:
                raise ValueError("no q-points: build the graphs with kmvn_graph(..., "
                                 "qpoints=q) or pass qpoints=[...] per material")
            qpoints = list(torch.split(data.qpoints, data.n_qpoints.tolist()))
        solve = frequencies_faithful if self.config.mode == "faithful" else frequencies_physical
        return [solve(dynamical_matrix(hs, s, q.to(hs.real.dtype)))
                for (hs, s), q in zip(self.real_space(data), qpoints, strict=True)]

    def forward(self, data: Any) -> list[torch.Tensor]:
        """Same as :meth:`bands` with the graphs' own q-points."""
        return self.bands(data)

    # ------------------------------------------------------------------ authors' weights
    def load_authors_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load a state dict of the authors' ``GraphNetwork_kMVN`` (strictly).

        Their module names map onto ours: ``emx`` -> ``embed_x``, ``emz`` -> ``embed_attr``,
        ``layers.k.first`` -> ``convs.k``, ``layers.k.second`` -> ``gates.k``, the last
        ``layers.n`` -> ``convs.n``; inside a convolution ``linear_input`` -> ``linear_in``,
        ``linear_mask`` -> ``self_connection``, ``tensor_edge`` -> ``edge_tp``,
        ``edge2weight`` -> ``radial``, ``linear_output`` -> ``linear_out``. The layouts of
        e3nn 0.5.0 (theirs) and 0.6.0 (ours) agree, so no tensor is converted.
        """
        self.load_state_dict(authors_to_companion(state, self.config.n_layers), strict=True)


def pretrained_kmvn(name: str = "kmvn_241026-182158", mode: str = "faithful",
                    dtype: str = "float64") -> KMVN:
    """The authors' pretrained k-MVN (registered set ``kmvn_weights``), in eval mode.

    Args:
        name: checkpoint (:data:`companion.data.sets.phonon_prediction.MODELS`, a k-MVN).
        mode: ``"faithful"`` (reproduces the authors) or ``"physical"``.
        dtype: ``"float64"`` (exact reproduction) or ``"float32"`` (faster).
    """
    from companion.data.sets.phonon_prediction import load_kmvn_weights

    model = KMVN(KMVNConfig(mode=mode, dtype=dtype))  # type: ignore[arg-type]
    model.load_authors_state_dict(load_kmvn_weights(name))
    return model.eval()


_CONV_NAMES = {"linear_input": "linear_in", "linear_mask": "self_connection",
               "tensor_edge": "edge_tp", "edge2weight": "radial",
               "linear_output": "linear_out"}


def authors_to_companion(state: Mapping[str, torch.Tensor], n_layers: int = 2
                         ) -> dict[str, torch.Tensor]:
    """Rename the keys of the authors' k-MVN state dict to :class:`KMVN`'s."""
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] in ("emx", "emz"):
            parts[0] = "embed_x" if parts[0] == "emx" else "embed_attr"
        elif parts[0] == "layers":
            k = int(parts[1])
            if k < n_layers:
                kind = "convs" if parts[2] == "first" else "gates"
                parts = [kind, str(k), *parts[3:]]
            else:
                parts = ["convs", str(k), *parts[2:]]
            if parts[0] == "convs":
                parts[2] = _CONV_NAMES.get(parts[2], parts[2])
        else:
            raise KeyError(f"unexpected key {key!r} in the authors' k-MVN state dict")
        out[".".join(parts)] = value
    return out
