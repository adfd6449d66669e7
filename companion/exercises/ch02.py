"""Self-checks for notebook 02, "CGCNN".

Each ``check_*`` prints a green "correct" or a hint and never raises (see
:mod:`companion.exercises`). Expected values are computed here, at check time, from
:class:`companion.models.cgcnn.CGCNNConv` and :class:`~companion.models.cgcnn.CGCNN` on
small seeded inputs; nothing is stored.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as fn
from torch_geometric.utils import scatter

from companion.exercises import check, correct, hint

POOLINGS = ("sum", "mean", "max")
"""Pooling operations of the pooling exercise (``reduce`` of ``torch_geometric.utils.scatter``)."""

BATCHNORM_CHOICES = {
    "a": "In training, each of the 2F channels of z W + b is shifted and scaled by the mean "
         "and variance of that channel over all edges of the batch, every crystal of the batch "
         "together; in eval mode by running averages collected during training.",
    "b": "Each atom's 12 incoming edges are normalized among themselves, so that the messages "
         "of one atom have zero mean.",
    "c": "Each edge's 2F channels are normalized among themselves (zero mean, unit variance "
         "across the channels of one edge), like layer norm.",
    "d": "The edges of each crystal are normalized separately, so crystals of one batch never "
         "influence each other.",
}
"""Choices of the batch-norm exercise (answer with the letter)."""


# ----------------------------------------------------- exercise 1: parameter count


@check
def check_conv_parameters(answer: int, atom_fea_len: int = 64, nbr_fea_len: int = 41) -> bool:
    """Exercise 1: trainable parameters of one ``CGCNNConv(atom_fea_len, nbr_fea_len)``.

    Args:
        answer: your count (an integer).
        atom_fea_len: F.
        nbr_fea_len: K.
    """
    from companion.models.cgcnn import CGCNNConv

    layer = CGCNNConv(atom_fea_len, nbr_fea_len)
    expected = sum(p.numel() for p in layer.parameters() if p.requires_grad)
    lin = sum(p.numel() for p in layer.lin.parameters())
    buffers = sum(b.numel() for b in layer.buffers())
    f, k = atom_fea_len, nbr_fea_len
    if float(answer) != int(answer):
        return hint("a number of parameters is a whole number.")
    answer = int(answer)
    if answer == expected:
        return correct(f"{lin} in the linear map (a ({2 * f} + {k}) x {2 * f} weight and "
                       f"{2 * f} biases) + {expected - lin} scales and shifts of the two batch "
                       f"norms. The paper's W_f and W_s side by side are this one weight.")
    if answer == lin:
        return hint("that is the linear layer alone. The two batch norms have a trainable "
                    "scale and shift per channel (layer.bn_edge.weight, .bias; bn_atom too).")
    if answer == expected + buffers:
        return hint("the running mean, variance and batch counter of the batch norms are "
                    "buffers, updated by statistics, not by the optimizer: leave them out.")
    if answer == lin - 2 * f:
        return hint("you left out the biases of the linear layer (2F of them).")
    if answer == (f + k) * 2 * f + 2 * f + 6 * f or answer == (f + k) * 2 * f + 2 * f:
        return hint("z_ij = v_i ⊕ v_j ⊕ u_ij holds both atoms' features: its length is 2F + K.")
    return hint(f"z_ij has 2F + K = {2 * f + k} entries and maps to 2F = {2 * f} (filter and "
                "core); add the biases and the batch norms' scales and shifts. Check with "
                "sum(p.numel() for p in CGCNNConv(64, 41).parameters()).")


# -------------------------------------------------------- exercise 2: pooling


def rocksalt_cells(a: float = 5.64) -> tuple[Any, Any]:
    """Rock-salt NaCl as its 2-atom primitive cell and a 2x2x2 supercell (ASE ``Atoms``)."""
    from ase.build import bulk

    unit = bulk("NaCl", "rocksalt", a=a)
    return unit, unit.repeat((2, 2, 2))


def pooled_output(model: Any, graph: Any, reduce: str) -> torch.Tensor:
    """``model(graph)`` of a :class:`~companion.models.cgcnn.CGCNN` with its mean pooling
    replaced by ``reduce`` (``"sum"``, ``"mean"`` or ``"max"``): [n_graphs]."""
    x = model.embed(model.atom_features(graph.z))  # [n_atoms, F]
    edge_attr = model.edge_features(graph)  # [n_edges, K]
    for conv in model.convs:
        x = conv(x, graph.edge_index, edge_attr)  # [n_atoms, F]
    batch = getattr(graph, "batch", None)
    if batch is None:
        batch = torch.zeros(graph.num_nodes, dtype=torch.long)  # [n_atoms]
    n_graphs = int(batch.max()) + 1 if batch.numel() else 0
    pooled = scatter(x, batch, dim=0, dim_size=n_graphs, reduce=reduce)  # [n_graphs, F]
    h = fn.softplus(model.to_hidden(fn.softplus(pooled)))  # [n_graphs, H]
    for lin in model.hidden:
        h = fn.softplus(lin(h))  # [n_graphs, H]
    return model.head(h)[:, 0]  # [n_graphs]


def intensive_poolings(seed: int = 0, rtol: float = 1e-4) -> set[str]:
    """Poolings for which a seeded CGCNN gives a 2x2x2 supercell of NaCl the prediction of
    its unit cell (computed, not stored)."""
    from companion.graphs import to_graph
    from companion.models.cgcnn import CGCNN, CGCNNConfig

    torch.manual_seed(seed)
    model = CGCNN(CGCNNConfig(atom_fea_len=16, n_conv=2, h_fea_len=32)).double().eval()
    unit, supercell = (to_graph(s, **model.config.graph_options, dtype=torch.float64)
                       for s in rocksalt_cells())
    same = set()
    with torch.no_grad():
        for reduce in POOLINGS:
            a, b = (float(pooled_output(model, g, reduce)[0]) for g in (unit, supercell))
            if abs(a - b) <= rtol * max(1.0, abs(a)):
                same.add(reduce)
    return same


def _names(answer: Any) -> set[str]:
    if isinstance(answer, str):
        answer = answer.replace(",", " ").split()
    if not isinstance(answer, Iterable):
        raise TypeError("give a set of names, e.g. {\"sum\"}")
    return {str(a).strip().lower() for a in answer}


@check
def check_pooling(answer: set[str]) -> bool:
    """Exercise 2: the poolings that give a supercell the prediction of its unit cell.

    Args:
        answer: a set of names among ``"sum"``, ``"mean"``, ``"max"``.
    """
    names = _names(answer)
    unknown = names - set(POOLINGS)
    if unknown:
        return hint(f"unknown pooling {sorted(unknown)}; choose among {', '.join(POOLINGS)}.")
    expected = intensive_poolings()
    if names == expected:
        return correct(f"{' and '.join(sorted(expected))}: a supercell repeats the same atoms "
                       "with the same neighborhoods, so their features repeat, and a mean or "
                       "a maximum over repeated values does not change. A sum grows with the "
                       "number of atoms: an extensive quantity (total energy), not a per-atom "
                       "one.")
    if "sum" in names:
        return hint("a 2x2x2 supercell has 8 times the atoms, each with the same features as "
                    "in the unit cell. What happens to their sum?")
    missing = sorted(expected - names)
    return hint(f"{missing[0]} pooling of 8 copies of the same set of vectors: is it the same "
                "as for one copy?")


# --------------------------------------------------------- exercise 3: no gate


def ungated_reference(layer: Any, x: torch.Tensor, edge_index: torch.Tensor,
                      edge_attr: torch.Tensor) -> torch.Tensor:
    """``layer`` (a :class:`~companion.models.cgcnn.CGCNNConv`) with the gate
    :math:`\\sigma(\\cdot)` replaced by 1: ``softplus(x + BN(sum_j softplus(s_ij)))``."""
    src, dst = edge_index  # [n_edges] each
    z = torch.cat([x[dst], x[src], edge_attr], dim=-1)  # [n_edges, 2F + K]
    _, core = layer.bn_edge(layer.lin(z)).chunk(2, dim=-1)  # [n_edges, F]
    summed = scatter(fn.softplus(core), dst, dim=0, dim_size=x.size(0),
                     reduce="sum")  # [n_atoms, F]
    return fn.softplus(x + layer.bn_atom(summed))  # [n_atoms, F]


def _variants(layer: Any, x: torch.Tensor, edge_index: torch.Tensor,
              edge_attr: torch.Tensor) -> dict[str, torch.Tensor]:
    """Common slips, to recognize them: the gated layer, no final softplus, no batch norms."""
    src, dst = edge_index
    z = torch.cat([x[dst], x[src], edge_attr], dim=-1)  # [n_edges, 2F + K]
    _, core = layer.bn_edge(layer.lin(z)).chunk(2, dim=-1)  # [n_edges, F]
    summed = scatter(fn.softplus(core), dst, dim=0, dim_size=x.size(0), reduce="sum")
    _, raw = layer.lin(z).chunk(2, dim=-1)  # [n_edges, F]
    plain = scatter(fn.softplus(raw), dst, dim=0, dim_size=x.size(0), reduce="sum")
    return {"gated": layer(x, edge_index, edge_attr),
            "no softplus": x + layer.bn_atom(summed),
            "no batch norm": fn.softplus(x + plain)}


def _conv_case(seed: int, atom_fea_len: int = 6, nbr_fea_len: int = 5) -> tuple[Any, ...]:
    """A seeded CGCNNConv (non-trivial running statistics) and a 5-atom, 14-edge graph."""
    from companion.models.cgcnn import CGCNNConv

    g = torch.Generator().manual_seed(seed)
    layer = CGCNNConv(atom_fea_len, nbr_fea_len).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64))
        for bn in (layer.bn_edge, layer.bn_atom):
            bn.running_mean.copy_(0.3 * torch.randn(bn.num_features, generator=g,
                                                    dtype=torch.float64))
            bn.running_var.copy_(0.5 + torch.rand(bn.num_features, generator=g,
                                                  dtype=torch.float64))
    x = torch.randn(5, atom_fea_len, generator=g, dtype=torch.float64)  # [n_atoms, F]
    edge_index = torch.tensor([[1, 2, 0, 2, 3, 0, 1, 4, 2, 4, 3, 0, 1, 2],
                               [0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4]])  # [2, n_edges]
    edge_attr = torch.rand(edge_index.size(1), nbr_fea_len, generator=g,
                           dtype=torch.float64)  # [n_edges, K]
    return layer.eval(), x, edge_index, edge_attr


@check
def check_ungated(answer: Callable[..., torch.Tensor]) -> bool | None:
    """Exercise 3: your ``ungated_conv(layer, x, edge_index, edge_attr)`` (the gate σ -> 1).

    Compared with :func:`ungated_reference` on a seeded 5-atom graph, in eval mode (running
    statistics) and in train mode (batch statistics).

    Args:
        answer: your function; it returns the new atom features [n_atoms, F].
    """
    if not callable(answer):
        return hint("give the function itself: check_ungated(ungated_conv), no parentheses.")
    for seed in (0, 1):
        for train in (False, True):
            layer, x, edge_index, edge_attr = _conv_case(seed)
            layer.train(train)
            reference = copy.deepcopy(layer)  # train-mode batch norm updates its statistics
            with torch.no_grad():
                got = answer(layer, x, edge_index, edge_attr)
                expected = ungated_reference(reference, x, edge_index, edge_attr)
                variants = _variants(copy.deepcopy(reference), x, edge_index, edge_attr)
            if got is None or got is Ellipsis:
                from companion.exercises import not_answered

                return not_answered()
            got = torch.as_tensor(got, dtype=torch.float64)
            if got.shape != expected.shape:
                return hint(f"the layer returns new atom features, shape {tuple(expected.shape)}"
                            f" ([n_atoms, F]); yours has shape {tuple(got.shape)}.")
            if torch.allclose(got, expected, atol=1e-8):
                continue
            for name, value in variants.items():
                if torch.allclose(got, value, atol=1e-8):
                    return hint({
                        "gated": "this is the gated layer unchanged: replace σ(f_ij) by 1, "
                                 "keep softplus of the core s_ij.",
                        "no softplus": "the package layer ends with softplus(v_i + BN(...)); "
                                       "keep it.",
                        "no batch norm": "keep the two batch norms (layer.bn_edge after the "
                                         "linear map, layer.bn_atom on the summed messages).",
                    }[name])
            mode = "train" if train else "eval"
            return hint(f"in {mode} mode your output differs from the layer without its gate "
                        f"by up to {float((got - expected).abs().max()):.3g}. Start from "
                        "CGCNNConv.forward (CGCNNConv?? shows it) and change one line.")
    return correct("without the gate every neighbor contributes softplus(s_ij) > 0 with the "
                   "same weight; the gate σ(f_ij) in (0, 1) lets each pair decide how much "
                   "its message counts (and half of the linear layer is now unused).")


# ---------------------------------------------------- exercise 4: batch norm over edges


@check
def check_batchnorm(answer: str) -> bool:
    """Exercise 4: what ``bn_edge`` does (a letter of :data:`BATCHNORM_CHOICES`)."""
    letter = str(answer).strip().lower().strip("()")
    if letter not in BATCHNORM_CHOICES:
        return hint(f"answer with one letter: {', '.join(BATCHNORM_CHOICES)}.")
    if letter == "a":
        return correct("nn.BatchNorm1d on a [n_edges, 2F] tensor takes the statistics of each "
                       "column over all rows: every edge of every crystal in the batch. So in "
                       "train mode a crystal's output depends on the other crystals of its "
                       "batch, and you must call model.eval() before predicting.")
    reasons = {
        "b": "the layer sees one [n_edges, 2F] tensor and does not know which atom an edge "
             "belongs to. Which axis does BatchNorm1d average over?",
        "c": "that is layer norm (statistics over the channels of one row). BatchNorm1d "
             "averages each channel over the rows.",
        "d": "the tensor holds the edges of all crystals of the batch, without a crystal "
             "index. Run the demonstration below: does crystal A change when B joins its "
             "batch in train mode?",
    }
    return hint(reasons[letter])


__all__ = [
    "BATCHNORM_CHOICES",
    "POOLINGS",
    "check_batchnorm",
    "check_conv_parameters",
    "check_pooling",
    "check_ungated",
    "intensive_poolings",
    "pooled_output",
    "rocksalt_cells",
    "ungated_reference",
]
