"""The contract every self-check of every notebook keeps (one parametrized test).

An unanswered exercise (``None`` or ``...``) prints "not answered yet"; a wrong type or a
nonsense value never raises and is never called correct. The chapter files test the
right answers and the specific hints.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
import torch

from companion.exercises import CORRECT, NOT_ANSWERED, ch01, ch02, ch03, ch04, ch05, ch06
from tests.conftest import verdict


@cache
def _potential_context() -> tuple[Any, Any, Any]:
    """A small float64 GATv2 potential, ethanol, and its graph (what notebook 04 passes)."""
    from ase.build import molecule

    from companion.graphs import to_graph
    from companion.models.gatv2 import GATv2Config, GATv2Potential

    torch.manual_seed(0)
    model = GATv2Potential(GATv2Config(species=(1, 6, 8), embed_dim=16, n_layers=2, heads=2,
                                       hidden=16, n_radial=6, cutoff=4.0)).double().eval()
    model.scale_shift.set(scale=10.0)
    atoms = molecule("CH3CH2OH")
    return model, atoms, to_graph(atoms, **model.config.graph_options, dtype=torch.float64)


def _model_atoms() -> tuple:
    model, atoms, _ = _potential_context()
    return model, atoms


def _model_graph() -> tuple:
    model, _, graph = _potential_context()
    return model, graph


def _none() -> tuple:
    return ()


def _nacl() -> Any:
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice.from_parameters(3.99, 3.99, 3.99, 60, 60, 60), ["Na", "Cl"],
                     [[0, 0, 0], [0.5, 0.5, 0.5]])


def _blocks() -> tuple:
    from tests.exercises.test_ch06 import blocks_context

    return blocks_context()


ATTENTION = {"force_mae": 50.0, "energy_mae": 2.0}
DISTANCE = {"force_mae": 60.0, "energy_mae": 2.5}

# Each check with a function that gives the extra arguments the notebook passes.
CASES: list[tuple[Callable[..., None], Callable[[], tuple]]] = [
    *[(c, _none) for c in (ch01.check_rocksalt_neighbors, ch01.check_symmetric_cutoff,
                           ch01.check_bond_angle, ch01.check_cgcnn_edges,
                           ch01.check_minimum_image)],
    *[(c, _none) for c in (ch02.check_conv_parameters, ch02.check_pooling,
                           ch02.check_ungated, ch02.check_batchnorm)],
    *[(c, _none) for c in (ch03.check_triplet_count, ch03.check_cell_invariance,
                           ch03.check_line_graph_parameters, ch03.check_line_graph_time,
                           ch03.check_triplet_memory)],
    (ch04.check_finite_difference_force, _model_atoms),
    (ch04.check_attention_sums, _model_graph),
    (ch04.check_kcal_per_mol, lambda: (2.0,)),
    (ch04.check_ablation_ratio, lambda: (ATTENTION, DISTANCE)),
    (ch04.check_distance_only, _none),
    *[(c, _none) for c in (ch05.check_doubled_cell, ch05.check_sigma_bound,
                           ch05.check_image_count)],
    (ch06.check_virtual_node_count, lambda: (_nacl(),)),
    (ch06.check_block, lambda: (list(range(9)),)),
    (ch06.check_dynamical_matrix, lambda: _blocks()),
    (ch06.check_acoustic_reason, _none),
    (ch06.check_attention_inputs, _none),
    (ch06.check_computed_nodes, lambda: (4, 27, 40)),
]
IDS = [f"{c.__module__.rsplit('.', 1)[-1]}.{c.__name__}" for c, _ in CASES]


@pytest.mark.parametrize(("check", "extra"), CASES, ids=IDS)
@pytest.mark.parametrize("answer", [None, ...], ids=["None", "Ellipsis"])
def test_unanswered_prints_not_answered(capsys, check, extra, answer):
    out = verdict(capsys, check, answer, *extra())
    assert NOT_ANSWERED in out and CORRECT not in out


@pytest.mark.parametrize(("check", "extra"), CASES, ids=IDS)
@pytest.mark.parametrize("answer", ["nonsense", object(), [1, 2], -1, float("nan"), 3.5],
                         ids=["str", "object", "list", "negative", "nan", "float"])
def test_nothing_raises_on_garbage(capsys, check, extra, answer):
    out = verdict(capsys, check, answer, *extra())
    assert CORRECT not in out, out


def test_every_check_is_covered():
    """A new check in ``companion.exercises`` must be added to CASES above."""
    covered = {c.__name__ for c, _ in CASES}
    for module in (ch01, ch02, ch03, ch04, ch05, ch06):
        public = {n for n in dir(module) if n.startswith("check_")}
        assert public <= covered, f"{module.__name__}: add {sorted(public - covered)} to CASES"
