"""Self-checks of notebook 06 (first half): right answers pass, wrong ones get a hint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from companion.exercises import CORRECT, ch06
from companion.graphs.virtual_nodes import kmvn_graph
from companion.nn.phonons import irreps_to_block_basis
from tests.conftest import assert_correct, assert_hint, verdict


@pytest.fixture(scope="module")
def nacl():
    """Rock salt NaCl, 2-atom primitive cell."""
    return Structure(Lattice.from_parameters(3.99, 3.99, 3.99, 60, 60, 60), ["Na", "Cl"],
                     [[0, 0, 0], [0.5, 0.5, 0.5]])


def blocks_context():
    """Random real-space blocks of a 2-atom cell and one q-point (what the notebook passes)."""
    g = torch.Generator().manual_seed(0)
    shifts = torch.tensor([[0, 0, 0], [1, 0, 0], [-1, 0, 0]])
    hs = torch.randn(3, 6, 6, generator=g, dtype=torch.float64)
    return hs, shifts, np.array([0.1, 0.2, -0.3])


def test_virtual_node_count(capsys, nacl):
    g = kmvn_graph(nacl)
    n = int(g.n_vnodes)
    assert_correct(verdict(capsys, ch06.check_virtual_node_count, n, nacl))
    assert_hint(verdict(capsys, ch06.check_virtual_node_count, 4, nacl), "translation")
    assert_hint(verdict(capsys, ch06.check_virtual_node_count, g.edge_index.shape[1], nacl),
                "real edges")
    assert_hint(verdict(capsys, ch06.check_virtual_node_count, 2.5, nacl), "whole")


def test_block(capsys):
    c = np.arange(1.0, 10.0)
    block = np.einsum("k,kab->ab", c, irreps_to_block_basis().numpy())
    assert_correct(verdict(capsys, ch06.check_block, block, c))
    assert_hint(verdict(capsys, ch06.check_block, block.T, c), "sign")
    assert_hint(verdict(capsys, ch06.check_block, np.zeros((3, 3)), c), "irreps_to_block")


def test_dynamical_matrix(capsys):
    hs, shifts, q = blocks_context()
    phase = np.exp(2j * np.pi * shifts.numpy() @ q)
    h = np.einsum("s,sab->ab", phase, hs.numpy())
    assert_correct(verdict(capsys, ch06.check_dynamical_matrix, h, hs, shifts, q))
    assert_hint(verdict(capsys, ch06.check_dynamical_matrix, h.conj(), hs, shifts, q), "sign")
    assert_hint(verdict(capsys, ch06.check_dynamical_matrix, hs.sum(0).numpy(), hs, shifts, q),
                "Gamma")


def test_acoustic_reason(capsys):
    assert_correct(verdict(capsys, ch06.check_acoustic_reason, "b"))
    for wrong in "acd":
        assert_hint(verdict(capsys, ch06.check_acoustic_reason, wrong))
    assert_hint(verdict(capsys, ch06.check_acoustic_reason, "z"), "letters")


def test_attention_inputs(capsys):
    assert CORRECT in verdict(capsys, ch06.check_attention_inputs, "b")
    for wrong, words in (("a", "bias"), ("c", "scalar"), ("d", "oriented")):
        out = verdict(capsys, ch06.check_attention_inputs, wrong)
        assert CORRECT not in out and words in out


def test_computed_nodes(capsys):
    assert CORRECT in verdict(capsys, ch06.check_computed_nodes, (432, 48), 4, 27, 40)
    assert "N * N * n_s" in verdict(capsys, ch06.check_computed_nodes, (108, 48), 4, 27, 40)
    assert "authors' graph" in verdict(capsys, ch06.check_computed_nodes, (432, 436), 4, 27,
                                       40)
    assert CORRECT not in verdict(capsys, ch06.check_computed_nodes, (432, 44), 4, 27, 40)
