"""Self-checks of notebook 03: right answers pass, wrong ones get a hint, none raise."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from companion.exercises import NOT_ANSWERED, ch03
from companion.graphs import bond_cosines, edge_vectors, to_graph
from companion.models.alignn import ALIGNN, ALIGNNConfig, count_parameters
from companion.train import History
from tests.conftest import assert_correct, assert_hint, verdict

SMALL = ALIGNNConfig(alignn_layers=1, gcn_layers=3, hidden_features=32, embedding_features=32,
                     max_neighbors=8)



@pytest.fixture(scope="module")
def perovskite():
    """Cubic CaTiO3 (a = 3.89 Å), 5 atoms: Ti at the corner, Ca in the center."""
    a = 3.89
    z = np.array([20, 22, 8, 8, 8])
    frac = np.array([[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
    return z, frac * a, np.eye(3) * a


def history(*seconds: float) -> History:
    return History([{"epoch": n + 1, "time_s": s} for n, s in enumerate(seconds)])




# ------------------------------------------------------------------- exercise 1


def test_triplet_count(capsys):
    assert_correct(verdict(capsys, ch03.check_triplet_count, lambda k: k * (k - 1)))
    assert_hint(verdict(capsys, ch03.check_triplet_count, lambda k: k * k), "backtracking")
    assert_hint(verdict(capsys, ch03.check_triplet_count, lambda k: k * (k - 1) // 2),
                "directed")
    assert_hint(verdict(capsys, ch03.check_triplet_count, lambda k: k - 1), "your function")
    assert NOT_ANSWERED in verdict(capsys, ch03.check_triplet_count, lambda k: None)


def test_center_counts_follow_k_times_k_minus_1(perovskite):
    graph = to_graph(perovskite, "alignn")  # symmetric, whole shells
    bonds, triplets = ch03.center_triplet_counts(graph)
    assert (triplets == bonds * (bonds - 1)).all()
    _, with_back = ch03.center_triplet_counts(graph, backtracking=True)
    assert (with_back == bonds**2).all()


# ------------------------------------------------------------------- exercise 2


def test_change_cell_keeps_the_crystal(perovskite):
    z, pos, cell = ch03.change_cell(perovskite)
    np.testing.assert_allclose(cell, ch03.SKEW @ perovskite[2])
    frac = pos @ np.linalg.inv(cell)
    assert ((frac >= -1e-12) & (frac < 1 + 1e-12)).all()
    assert abs(np.linalg.det(cell)) == pytest.approx(abs(np.linalg.det(perovskite[2])))
    with pytest.raises(ValueError, match="determinant"):
        ch03.change_cell(perovskite, 2 * np.eye(3))


def test_cell_invariance(capsys, perovskite):
    graphs = [to_graph(s, "alignn", line_graph=True, backtracking=False, dtype=torch.float64)
              for s in (perovskite, ch03.change_cell(perovskite))]
    cos = [bond_cosines(edge_vectors(g)[0], g.lg_edge_index) for g in graphs]
    assert not torch.equal(graphs[0].edge_shift, graphs[1].edge_shift)  # other images
    unsorted = float((cos[0] - cos[1]).abs().max())
    sorted_ = float((cos[0].sort().values - cos[1].sort().values).abs().max())
    assert sorted_ < 1e-10 < 0.1 < unsorted  # the order of the triplets changes
    assert_correct(verdict(capsys, ch03.check_cell_invariance, sorted_, perovskite))
    assert_correct(verdict(capsys, ch03.check_cell_invariance, 3e-7, perovskite))
    assert_hint(verdict(capsys, ch03.check_cell_invariance, unsorted, perovskite), "sort")
    assert_hint(verdict(capsys, ch03.check_cell_invariance, 0.0), "pass the structure")


# ------------------------------------------------------------------- exercise 3


def test_line_graph_parameters(capsys):
    expected = ch03.line_graph_parameters(SMALL)
    ablated = ALIGNN(dataclasses.replace(SMALL, angles=False))
    assert expected == count_parameters(ALIGNN(SMALL)) - count_parameters(ablated)
    assert expected == 1 * (5 * (32 * 32 + 32) + 4 * 32) + (40 * 32 + 32 + 64 + 32 * 32 + 32 + 64)
    assert_correct(verdict(capsys, ch03.check_line_graph_parameters, expected, SMALL))
    assert_correct(verdict(capsys, ch03.check_line_graph_parameters, float(expected), SMALL))
    assert_hint(verdict(capsys, ch03.check_line_graph_parameters, 5408, SMALL), "embedding")
    assert_hint(verdict(capsys, ch03.check_line_graph_parameters, 2496, SMALL), "convolution")
    assert_hint(verdict(capsys, ch03.check_line_graph_parameters, expected + 1, SMALL))
    # the default (paper) configuration: 4 layers at H = 256
    default = ch03.line_graph_parameters(ALIGNNConfig())
    assert_correct(verdict(capsys, ch03.check_line_graph_parameters, default))


# ------------------------------------------------------------------- exercise 4


def test_line_graph_time(capsys):
    with_angles, without = history(10.0, 12.0), history(2.5, 3.0, 3.5)  # 11 s and 3 s
    assert ch03.mean_epoch_seconds(with_angles) == 11.0
    fraction = 1 - 3.0 / 11.0
    assert_correct(verdict(capsys, ch03.check_line_graph_time, fraction, with_angles, without))
    assert_hint(verdict(capsys, ch03.check_line_graph_time, 100 * fraction, with_angles,
                        without), "percentage")
    assert_hint(verdict(capsys, ch03.check_line_graph_time, 3 / 11, with_angles, without),
                "remains")
    assert_hint(verdict(capsys, ch03.check_line_graph_time, 11 / 3, with_angles, without),
                "times slower")
    assert_hint(verdict(capsys, ch03.check_line_graph_time, fraction), "pass the two")


# ------------------------------------------------------------------- exercise 5


def test_triplet_memory(capsys, perovskite):
    from ase.build import bulk

    graphs = [to_graph(s, "alignn", line_graph=True) for s in
              (perovskite, bulk("Si", "diamond", a=5.43), bulk("Cu", "fcc", a=3.61))]
    n_triplets = sum(g.lg_edge_index.shape[1] for g in graphs)
    mib = n_triplets * 256 * 4 / 2**20
    assert_correct(verdict(capsys, ch03.check_triplet_memory, mib, graphs, 256))
    assert_hint(verdict(capsys, ch03.check_triplet_memory, mib * 2**20, graphs, 256), "bytes")
    assert_hint(verdict(capsys, ch03.check_triplet_memory, mib * 1.048576, graphs, 256), "MB")
    assert_hint(verdict(capsys, ch03.check_triplet_memory, 2 * mib, graphs, 256), "4 bytes")
    assert_hint(verdict(capsys, ch03.check_triplet_memory, mib / 3, graphs, 256), "batch")
    n_edges = sum(g.edge_index.shape[1] for g in graphs)
    assert_hint(verdict(capsys, ch03.check_triplet_memory, n_edges * 256 * 4 / 2**20, graphs,
                        256), "triplet")
    assert_correct(verdict(capsys, ch03.check_triplet_memory, n_triplets * 64 * 4 / 2**20,
                           graphs, 64))
