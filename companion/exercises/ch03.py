"""Self-checks for notebook 03, "ALIGNN: line graphs and bond angles".

Each ``check_*`` prints a green "correct" or a hint and never raises (see
:mod:`companion.exercises`). Expected values are computed here, at check time, with
:mod:`companion.graphs` and :mod:`companion.models.alignn`, from the structures, graphs,
configurations and training histories that the notebook passes in.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from companion.exercises import check, correct, hint, not_answered, unanswered

SKEW = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1]])
"""Integer matrix with determinant 1: ``SKEW @ cell`` is another cell of the same lattice."""

MIB = 2**20
"""Bytes in a MiB."""


# ----------------------------------------------------------------------------- helpers


def change_cell(structure: Any, matrix: np.ndarray = SKEW) -> tuple[np.ndarray, ...]:
    """The same crystal described by the cell ``matrix @ cell``, atoms wrapped into it.

    Args:
        structure: ``(z, pos, cell)`` arrays (e.g. ``dataset.arrays(i)``), pymatgen or ASE.
        matrix: [3, 3] integer matrix with determinant +-1 (a change of basis of the lattice).

    Returns:
        ``(z, pos, cell)`` of the new description: Å, lattice vectors as rows.

    Raises:
        ValueError: ``matrix`` is not integer or not unimodular (another lattice).
    """
    from companion.graphs.atoms import as_atoms_arrays

    matrix = np.asarray(matrix, dtype=np.float64)
    if not np.allclose(matrix, np.rint(matrix)) or round(abs(np.linalg.det(matrix))) != 1:
        raise ValueError("the matrix must be integer with determinant +-1 (same lattice).")
    atoms = as_atoms_arrays(structure)
    cell = matrix @ atoms.cell  # [3, 3]
    frac = atoms.pos @ np.linalg.inv(cell)  # [n_atoms, 3]
    return atoms.z.copy(), (frac - np.floor(frac)) @ cell, cell


def center_triplet_counts(graph: Any, backtracking: bool = False) -> tuple[np.ndarray, ...]:
    """Bonds and line-graph triplets centered at each atom.

    Returns:
        ``(bonds, triplets)``, both [n_atoms]: incoming edges of each atom, and triplets
        ``(k -> j, j -> i)`` whose shared atom is ``j``.
    """
    from companion.graphs import line_graph

    src, dst = (row.numpy() for row in graph.edge_index)
    lg = line_graph(graph.edge_index, graph.edge_shift, backtracking=backtracking)
    n = int(graph.num_nodes)
    return np.bincount(dst, minlength=n), np.bincount(dst[lg[0]], minlength=n)


def _sorted_cosines(structure: Any) -> np.ndarray:
    import torch

    from companion.graphs import bond_cosines, edge_vectors, to_graph

    graph = to_graph(structure, "alignn", line_graph=True, backtracking=False,
                     dtype=torch.float64)
    vec, _ = edge_vectors(graph)
    return np.sort(bond_cosines(vec, graph.lg_edge_index).numpy())


def _count_structures() -> list[tuple[str, Any, dict[str, Any]]]:
    """Small structures and graph options with 4, 6, 8, 14 and mixed numbers of bonds."""
    from ase.build import bulk

    from companion.exercises.ch01 import rocksalt, rutile

    return [
        ("diamond Si, 2.5 Å", bulk("Si", "diamond", a=5.43), {"cutoff": 2.5}),
        ("rock salt NaCl, 3 Å", rocksalt(), {"cutoff": 3.0}),
        ("CsCl, 3.6 Å", bulk("CsCl", "cesiumchloride", a=4.11), {"cutoff": 3.6}),
        ("CsCl, 4.2 Å", bulk("CsCl", "cesiumchloride", a=4.11), {"cutoff": 4.2}),
        ("rutile TiO2, ALIGNN graph", rutile(), {"policy": "alignn"}),
    ]


# ------------------------------------------------------ exercise 1: triplets of an atom


@check
def check_triplet_count(answer: Callable[[int], int]) -> bool | None:
    """Exercise 1: a function ``k -> triplets`` centered at an atom with ``k`` bonds
    (symmetric graph, line graph without backtracking).

    Args:
        answer: your function of the number of bonds ``k`` of the shared atom.
    """
    from companion.graphs import to_graph

    if not callable(answer):
        return hint("give a function, e.g. `lambda k: ...` or a def.")
    for name, structure, options in _count_structures():
        options = {"policy": "radius", **options}
        graph = to_graph(structure, **options)
        bonds, triplets = center_triplet_counts(graph)
        for k, expected in zip(bonds.tolist(), triplets.tolist(), strict=True):
            got = answer(k)
            if unanswered(got):
                return not_answered()
            if got == expected:
                continue
            if got == k * k:
                return hint(f"{name}: an atom with {k} bonds has {got} pairs (k -> j, j -> i) "
                            "only if a bond may pair with its own reverse (backtracking, "
                            "angle 0). Leave those out.")
            if got * 2 == expected:
                return hint(f"{name}: you count unordered pairs of bonds; the line graph is "
                            "directed: (k -> j, j -> i) and (i -> j, j -> k) are two triplets.")
            return hint(f"{name}: an atom with {k} bonds is the shared atom of {expected} "
                        f"triplets, your function gives {got}. Each of the k incoming bonds "
                        "pairs with the outgoing bonds that do not lead straight back.")
    return correct("k (k - 1): each of the k bonds into j pairs with the k bonds out of j, "
                   "minus its own reverse. Summed over the atoms, the line graph has "
                   "Σ_j d_j (d_j - 1) triplets, quadratic in the neighbors per atom.")


# --------------------------------------------- exercise 2: the angles of the same crystal


@check
def check_cell_invariance(answer: float, structure: Any = None,
                          matrix: np.ndarray = SKEW, tol: float = 1e-4) -> bool:
    """Exercise 2: largest difference between the sorted bond cosines of two descriptions of
    the same crystal (its own cell and ``change_cell(structure, matrix)``).

    Args:
        answer: your largest absolute difference (a float).
        structure: the structure of the exercise (``(z, pos, cell)``).
        matrix: the change of cell of the exercise.
        tol: largest difference accepted as "the same" (float32 rounding is ~1e-7).
    """
    if structure is None:
        return hint("pass the structure of the exercise: check_cell_invariance(answer, "
                    "arrays).")
    answer = float(answer)
    a, b = _sorted_cosines(structure), _sorted_cosines(change_cell(structure, matrix))
    if len(a) != len(b):
        return hint(f"the two graphs have {len(a)} and {len(b)} triplets: build both with "
                    "to_graph(..., 'alignn', line_graph=True, backtracking=False).")
    expected = float(np.abs(a - b).max()) if len(a) else 0.0
    if math.isfinite(answer) and 0.0 <= answer <= max(tol, 10 * expected):
        return correct(f"the {len(a)} cosines agree to {expected:.1e} once sorted: the edges "
                       "now point to other periodic images (edge_shift changed) and come in "
                       "another order, but every bond vector, and so every angle, is the same. "
                       "Angle features do not depend on the cell we choose to describe a "
                       "crystal in.")
    if answer > tol:
        return hint("that is far above rounding errors. Did you compare triplet by triplet? "
                    "The two line graphs list the triplets in different orders: sort each "
                    "array of cosines before comparing.")
    return hint("give the largest absolute difference, a number >= 0.")


# -------------------------------------- exercise 3: parameters that angles=False removes


def line_graph_parameters(config: Any) -> int:
    """Trainable parameters of ``ALIGNN(config)`` that ``angles=False`` removes."""
    from companion.models.alignn import ALIGNN, count_parameters

    full = dataclasses.replace(config, angles=True)
    ablated = dataclasses.replace(config, angles=False)
    return count_parameters(ALIGNN(full)) - count_parameters(ALIGNN(ablated))


@check
def check_line_graph_parameters(answer: int, config: Any = None) -> bool:
    """Exercise 3: parameters of the angle embedding and line-graph convolutions.

    Args:
        answer: your count (an integer).
        config: the :class:`~companion.models.alignn.ALIGNNConfig` of the exercise.
    """
    from companion.models.alignn import ALIGNNConfig

    config = ALIGNNConfig() if config is None else config
    expected = line_graph_parameters(config)
    h, emb, k = config.hidden_features, config.embedding_features, config.triplet_input_features
    conv = 5 * (h * h + h) + 2 * 2 * h  # 5 linear layers, 2 batch norms (weight and bias)
    embedding = (k * emb + emb) + 2 * emb + (emb * h + h) + 2 * h
    answer = int(answer) if float(answer) == int(answer) else answer
    if answer == expected:
        return correct(f"{expected:,} = {config.alignn_layers} x {conv:,} (a line-graph "
                       f"edge-gated convolution: 5 H x H linear layers with biases and 2 batch "
                       f"norms, H = {h}) + {embedding:,} (the angle embedding "
                       f"{k} -> {emb} -> {h}).")
    if answer == config.alignn_layers * conv:
        return hint("those are the line-graph convolutions; the angle embedding (the RBF "
                    "expansion of cos θ, then two mlp_blocks) is removed too.")
    if answer == embedding:
        return hint("that is the angle embedding; each ALIGNN layer also loses its "
                    "line-graph convolution.")
    no_bias = (config.alignn_layers * (5 * h * h + 4 * h)
               + (k * emb + 2 * emb) + (emb * h + 2 * h))
    if answer == no_bias:
        return hint("the linear layers have biases too (nn.Linear(H, H): H * H + H).")
    return hint("build ALIGNN(config) and ALIGNN(dataclasses.replace(config, angles=False)) "
                "and compare count_parameters; then explain the difference from the layers: "
                "EdgeGatedGraphConv has 5 linear layers H -> H and 2 batch norms.")


# --------------------------------------------- exercise 4: what the line graph costs


def mean_epoch_seconds(history: Any) -> float:
    """Mean wall time of an epoch (training + validation) of a :class:`History`, s."""
    times = [r["time_s"] for r in history.epochs]
    if not times:
        raise ValueError("the history has no epochs.")
    return float(np.mean(times))


@check
def check_line_graph_time(answer: float, with_angles: Any = None, without_angles: Any = None,
                          tol: float = 0.02) -> bool:
    """Exercise 4: fraction of ALIGNN's time per epoch spent on the angles, measured as
    ``1 - t_without / t_with`` from the mean epoch times of two training histories.

    Args:
        answer: your fraction (between 0 and 1).
        with_angles: :class:`~companion.train.History` of ALIGNN.
        without_angles: :class:`~companion.train.History` of the ablation.
        tol: accepted absolute error.
    """
    if with_angles is None or without_angles is None:
        return hint("pass the two histories: check_line_graph_time(answer, history_alignn, "
                    "history_ablation).")
    t_with, t_without = mean_epoch_seconds(with_angles), mean_epoch_seconds(without_angles)
    expected = 1.0 - t_without / t_with
    answer = float(answer)
    if abs(answer - expected) <= tol:
        return correct(f"{expected:.0%} of an epoch ({t_with:.1f} s with angles, "
                       f"{t_without:.1f} s without). The line graph has roughly d - 1 "
                       "triplets per bond (d = bonds of an atom), so the line-graph "
                       "convolutions work on about ten times more rows than the atom-graph "
                       "ones.")
    if abs(answer / 100 - expected) <= tol:
        return hint("give a fraction between 0 and 1, not a percentage.")
    if abs(answer - t_without / t_with) <= tol:
        return hint("that is the fraction of the time that remains without angles.")
    if abs(answer - t_with / t_without) <= 0.1 * t_with / t_without:
        return hint("that is how many times slower an epoch is with angles; give the "
                    "fraction of the time spent on them, 1 - t_without / t_with.")
    return hint("average history.epochs[n]['time_s'] over the epochs of each run, then "
                "compute 1 - t_without / t_with.")


# ----------------------------------------------- exercise 5: memory of the line graph


@check
def check_triplet_memory(answer: float, graphs: Sequence[Any] | None = None,
                         hidden: int = 256, rtol: float = 0.01) -> bool:
    """Exercise 5: MiB of one float32 tensor [n_triplets, hidden] for a batch of graphs.

    Args:
        answer: your size in MiB (2**20 bytes).
        graphs: the graphs of the batch (with ``lg_edge_index``).
        hidden: H, features per triplet.
        rtol: accepted relative error.
    """
    if not graphs:
        return hint("pass the graphs of the batch: check_triplet_memory(answer, graphs, "
                    "hidden).")
    n_triplets = sum(int(g.lg_edge_index.shape[1]) for g in graphs)
    n_edges = sum(int(g.edge_index.shape[1]) for g in graphs)
    expected = n_triplets * hidden * 4 / MIB
    answer = float(answer)

    def close(x: float) -> bool:
        return abs(answer - x) <= rtol * abs(x)

    if close(expected):
        return correct(f"{n_triplets:,} triplets x {hidden} features x 4 bytes = "
                       f"{expected:.1f} MiB, for {len(graphs)} structures. The backward pass "
                       "keeps several such tensors per line-graph layer, which is why ALIGNN "
                       "needs small batches on a laptop.")
    if close(expected * 1.048576):
        return hint("that is in MB (10**6 bytes); give MiB (2**20 bytes).")
    if close(expected * MIB):
        return hint("that is in bytes; divide by 2**20 for MiB.")
    if close(2 * expected):
        return hint("float32 takes 4 bytes per number, not 8.")
    if close(n_edges * hidden * 4 / MIB):
        return hint("that is the bond tensor [n_edges, H]; the angle features have one row "
                    "per triplet (lg_edge_index.shape[1]).")
    if close(expected / len(graphs)):
        return hint("that is one structure on average; sum over the whole batch.")
    return hint("sum lg_edge_index.shape[1] over the graphs, multiply by H and by 4 bytes, "
                "divide by 2**20.")


__all__ = [
    "MIB",
    "SKEW",
    "center_triplet_counts",
    "change_cell",
    "check_cell_invariance",
    "check_line_graph_parameters",
    "check_line_graph_time",
    "check_triplet_count",
    "check_triplet_memory",
    "line_graph_parameters",
    "mean_epoch_seconds",
]
