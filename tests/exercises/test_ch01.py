"""Self-checks of the notebook exercises: right answers pass, wrong ones get a hint, none raise."""

from __future__ import annotations

import numpy as np
import torch

from companion.exercises import NOT_ANSWERED, ch01
from companion.graphs import bond_cosines, edge_vectors, neighbor_list, to_graph
from tests.conftest import assert_correct, assert_hint, verdict


def test_rocksalt_neighbors(capsys):
    nacl = ch01.rocksalt()
    expected = int(neighbor_list(nacl, 4.0).counts(2)[0])
    assert expected == 6 + 12  # 6 Cl at a/2 = 2.82 Å, 12 Na at a/√2 = 3.99 Å
    assert_correct(verdict(capsys, ch01.check_rocksalt_neighbors, 18))
    assert_correct(verdict(capsys, ch01.check_rocksalt_neighbors, np.int64(18)))
    assert_hint(verdict(capsys, ch01.check_rocksalt_neighbors, 6), "first shell")
    assert_hint(verdict(capsys, ch01.check_rocksalt_neighbors, 12), "second shell")
    assert_hint(verdict(capsys, ch01.check_rocksalt_neighbors, 19), "own neighbor")
    assert_hint(verdict(capsys, ch01.check_rocksalt_neighbors, 18.5))
    # the expected value follows the cutoff: only the 6 Cl within 3 Å
    assert_correct(verdict(capsys, ch01.check_rocksalt_neighbors, 6, cutoff=3.0))


def test_rutile_is_rutile():
    tio2 = ch01.rutile()
    assert sorted(tio2.get_chemical_symbols()) == ["O"] * 4 + ["Ti"] * 2
    nl = neighbor_list(tio2, 2.1)
    assert nl.counts(6)[:2].tolist() == [6, 6]  # TiO6 octahedra
    assert nl.counts(6)[2:].tolist() == [3] * 4  # O bonded to 3 Ti


def test_symmetric_cutoff(capsys):
    tio2 = ch01.rutile()
    expected = ch01.knn_asymmetry_cutoff(tio2, 6)
    below = to_graph(tio2, "radius", cutoff=expected - 0.01, max_neighbors=6)
    at = to_graph(tio2, "radius", cutoff=expected + 1e-4, max_neighbors=6)
    assert ch01.is_symmetric(below) and not ch01.is_symmetric(at)
    assert ch01.is_symmetric(to_graph(tio2, "alignn"))  # ALIGNN symmetrizes
    assert_correct(verdict(capsys, ch01.check_symmetric_cutoff, expected))
    assert_correct(verdict(capsys, ch01.check_symmetric_cutoff, round(expected, 2)))
    assert_hint(verdict(capsys, ch01.check_symmetric_cutoff, expected - 0.3), "symmetric indeed")
    assert_hint(verdict(capsys, ch01.check_symmetric_cutoff, expected + 0.5), "already not")


def test_bond_angle(capsys):
    graph = to_graph(ch01.rutile(), "radius", cutoff=2.0, line_graph=True, backtracking=False,
                     dtype=torch.float64)
    for t in (0, 4, 9):
        cos = float(bond_cosines(edge_vectors(graph)[0], graph.lg_edge_index)[t])
        theta = float(np.degrees(np.arccos(cos)))
        assert_correct(verdict(capsys, ch01.check_bond_angle, theta, graph, t))
    t = 4  # 81.15°: not 90, so 180 - θ is a distinct wrong answer
    cos = float(bond_cosines(edge_vectors(graph)[0], graph.lg_edge_index)[t])
    theta = float(np.degrees(np.arccos(cos)))
    assert_hint(verdict(capsys, ch01.check_bond_angle, 180 - theta, graph, t), "-vec[e2]")
    assert_hint(verdict(capsys, ch01.check_bond_angle, np.radians(theta), graph, t), "radians")
    assert_hint(verdict(capsys, ch01.check_bond_angle, cos, graph, t), "cos")
    assert_hint(verdict(capsys, ch01.check_bond_angle, 45.0, graph, t))
    default = ch01._rutile_angle_graph()  # the default graph of the check, triplet 0
    cos0 = float(bond_cosines(edge_vectors(default)[0].double(), default.lg_edge_index)[0])
    assert_correct(verdict(capsys, ch01.check_bond_angle, float(np.degrees(np.arccos(cos0)))))


def test_cgcnn_edges(capsys):
    assert_correct(verdict(capsys, ch01.check_cgcnn_edges, lambda n: 12 * n))
    assert_hint(verdict(capsys, ch01.check_cgcnn_edges, lambda n: 6 * n), "directed")
    assert_hint(verdict(capsys, ch01.check_cgcnn_edges, lambda n: 12), "gives 24 edges")
    assert_hint(verdict(capsys, ch01.check_cgcnn_edges, 12), "function")

    def real_bonds_only(n):  # right for full neighborhoods, not for the Ar3 chain in a box
        return 12 * n if n != 3 else 6

    assert_hint(verdict(capsys, ch01.check_cgcnn_edges, real_bonds_only), "padding")
    out = verdict(capsys, ch01.check_cgcnn_edges, lambda n: ...)
    assert NOT_ANSWERED in out


def test_minimum_image(capsys):
    assert set(ch01.MINIMUM_IMAGE_CHOICES) == {"a", "b", "c", "d"}
    assert_correct(verdict(capsys, ch01.check_minimum_image, "b"))
    assert_correct(verdict(capsys, ch01.check_minimum_image, " (B) "))
    for wrong in "acd":
        assert_hint(verdict(capsys, ch01.check_minimum_image, wrong))
    assert_hint(verdict(capsys, ch01.check_minimum_image, "e"), "one letter")
