"""Self-checks of notebook 04: right answers pass, wrong ones get a specific hint, none raise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import units
from ase.build import molecule
from torch_geometric.utils import scatter

from companion.calculator import PotentialCalculator
from companion.exercises import CORRECT, ch04
from companion.graphs import to_graph
from companion.models.gatv2 import GATv2Config, GATv2Potential
from tests.conftest import assert_correct, assert_hint, verdict
from tests.exercises.test_contract import ATTENTION, DISTANCE

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model() -> GATv2Potential:
    torch.manual_seed(0)
    m = GATv2Potential(GATv2Config(species=(1, 6, 8), embed_dim=16, n_layers=2, heads=2,
                                   hidden=16, n_radial=6, cutoff=4.0)).double().eval()
    m.scale_shift.set(scale=10.0)  # forces of order 1 eV/Å
    return m


@pytest.fixture
def atoms():
    return molecule("CH3CH2OH")


@pytest.fixture
def graph(model, atoms):
    return to_graph(atoms, **model.config.graph_options, dtype=torch.float64)


def finite_difference_force(model, atoms, atom: int, h: float = 1e-3) -> np.ndarray:
    out = []
    for alpha in range(3):
        energies = []
        for step in (h, -h):
            moved = atoms.copy()
            moved.calc = PotentialCalculator(model)
            moved.positions[atom, alpha] += step
            energies.append(moved.get_potential_energy())
        out.append(-(energies[0] - energies[1]) / (2 * h))
    return np.array(out)


def test_finite_difference_force(capsys, model, atoms):
    f = finite_difference_force(model, atoms, atom=2)
    assert np.abs(f).max() > 0.05  # a real force, not ~0
    assert_correct(verdict(capsys, ch04.check_finite_difference_force, f, model, atoms, 2))
    assert_correct(verdict(capsys, ch04.check_finite_difference_force, f.tolist(), model,
                           atoms, 2))
    assert_hint(verdict(capsys, ch04.check_finite_difference_force, -f, model, atoms, 2),
                "sign")
    assert_hint(verdict(capsys, ch04.check_finite_difference_force, f + 0.02, model, atoms,
                        2), "float64")
    assert_hint(verdict(capsys, ch04.check_finite_difference_force, f + 5.0, model, atoms,
                        2), "-(E+ - E-)")
    # the expected value is the model's: another atom's force does not pass
    other = finite_difference_force(model, atoms, atom=0)
    assert CORRECT not in verdict(capsys, ch04.check_finite_difference_force, other, model,
                                  atoms, 2)


def test_attention_sums(capsys, model, graph):
    alpha = model.attention_weights(graph)[1]
    sums = scatter(alpha, graph.edge_index[1], dim=0, dim_size=graph.num_nodes, reduce="sum")
    np.testing.assert_allclose(sums.numpy(), 1.0, atol=1e-12)
    assert_correct(verdict(capsys, ch04.check_attention_sums, sums, model, graph, 1))
    assert_correct(verdict(capsys, ch04.check_attention_sums, sums.numpy(), model, graph, 1))
    by_source = scatter(alpha, graph.edge_index[0], dim=0, dim_size=graph.num_nodes,
                        reduce="sum")
    assert_hint(verdict(capsys, ch04.check_attention_sums, by_source, model, graph, 1),
                "edge_index[1]")
    assert_hint(verdict(capsys, ch04.check_attention_sums, sums.sum(1), model, graph, 1),
                "shape")
    assert_hint(verdict(capsys, ch04.check_attention_sums, 2 * sums, model, graph, 1),
                "scatter")


def test_attention_sums_with_an_isolated_atom(capsys, model):
    from ase import Atoms

    atoms = Atoms("COH", positions=[[0, 0, 0], [1.4, 0, 0], [10.0, 0, 0]])
    graph = to_graph(atoms, **model.config.graph_options, dtype=torch.float64,
                     allow_isolated=True)
    sums = ch04.attention_sums(model, graph)
    np.testing.assert_allclose(sums, [[1, 1], [1, 1], [0, 0]], atol=1e-12)
    assert_correct(verdict(capsys, ch04.check_attention_sums, sums, model, graph))


def test_kcal_per_mol(capsys):
    mae = 2.0  # meV/atom
    expected = mae * 9 / 1000 / (units.kcal / units.mol)  # 0.415 kcal/mol
    assert expected == pytest.approx(0.41508, rel=1e-4)
    assert_correct(verdict(capsys, ch04.check_kcal_per_mol, expected, mae))
    assert_hint(verdict(capsys, ch04.check_kcal_per_mol, expected / 9, mae), "per atom")
    assert_hint(verdict(capsys, ch04.check_kcal_per_mol, mae * 9 / 1000 * 0.0433641, mae),
                "direction")
    assert_hint(verdict(capsys, ch04.check_kcal_per_mol, 1000 * expected, mae), "meV -> eV")
    assert_hint(verdict(capsys, ch04.check_kcal_per_mol, 7.0, mae), "kcal")
    assert_correct(verdict(capsys, ch04.check_kcal_per_mol, 3 * 5 / 1000 / 0.0433641, 3.0,
                           n_atoms=5))


def test_ablation_ratio(capsys):
    assert_correct(verdict(capsys, ch04.check_ablation_ratio, 1.2, ATTENTION, DISTANCE))
    out = verdict(capsys, ch04.check_ablation_ratio, 1.2, ATTENTION, DISTANCE)
    assert "attention helps" in out and "17 %" in out
    assert_hint(verdict(capsys, ch04.check_ablation_ratio, 50 / 60, ATTENTION, DISTANCE),
                "inverse")
    assert_hint(verdict(capsys, ch04.check_ablation_ratio, 2.0, ATTENTION, DISTANCE),
                "divide")
    out = verdict(capsys, ch04.check_ablation_ratio, 0.8, DISTANCE | {"force_mae": 50.0},
                  {"force_mae": 40.0})
    assert CORRECT in out and "as good or better" in out


def test_distance_only(capsys):
    assert_correct(verdict(capsys, ch04.check_distance_only, "b"))
    assert_correct(verdict(capsys, ch04.check_distance_only, "(B) "))
    for wrong, word in (("a", "embedding"), ("c", "autograd"), ("d", "softmax")):
        assert_hint(verdict(capsys, ch04.check_distance_only, wrong), word)
    assert_hint(verdict(capsys, ch04.check_distance_only, "e"), "letters")


def test_distance_only_answer_is_true_of_the_model():
    """Choice (b): with distance_only the weights depend on the distances alone, so two
    neighbors of a center at the same distance get the same weight whatever their element;
    (d) is false: they still sum to 1."""
    from ase import Atoms

    torch.manual_seed(0)
    m = GATv2Potential(GATv2Config(species=(1, 8), embed_dim=8, n_layers=1, heads=2, hidden=8,
                                   cutoff=4.0, distance_only=True)).double()
    atoms = Atoms("OHO", positions=[[0, 0, 0], [1.5, 0, 0], [-1.5, 0, 0]])
    graph = to_graph(atoms, **m.config.graph_options, dtype=torch.float64)
    alpha = m.attention_weights(graph)[0]  # [n_edges, 2]
    src, dst = graph.edge_index
    into_0 = alpha[dst == 0]  # from H1 and O2, both at 1.5 Å
    assert src[dst == 0].tolist() == [1, 2]
    torch.testing.assert_close(into_0[0], into_0[1])
    torch.testing.assert_close(into_0.sum(0), torch.ones(2, dtype=torch.float64))


# ------------------------------------------- figures of notebook 04 (companion.viz.attention)

def test_attention_figure_draws_every_edge_once(model, graph):
    from companion.viz.attention import attention_arrays, attention_figure

    alphas = model.attention_weights(graph)
    arrays = attention_arrays(graph, alphas, layer=1, head=1)
    assert len(arrays["alpha"]) == graph.num_edges
    np.testing.assert_allclose(arrays["alpha"], alphas[1][:, 1].numpy())
    fig = attention_figure(graph, alphas, layer=1, head=1)
    lines = [t for t in fig.data if t.mode == "lines"]
    n_segments = sum(sum(x is None for x in t.x) for t in lines)
    assert n_segments == graph.num_edges  # one half bond per directed edge
    widths = [t.line.width for t in lines if len(t.x)]
    assert widths == sorted(widths)  # larger weights, wider lines
    centered = attention_figure(graph, alphas, center=2)
    n_into = int((graph.edge_index[1] == 2).sum())
    assert sum(sum(x is None for x in t.x) for t in centered.data if t.mode == "lines") == n_into


def test_attention_figures_share_one_scale(model, graph):
    """Every layer and head on one 0-1 scale: a head that spreads its weight evenly must not
    look as strong as one that concentrates it."""
    from companion.viz.attention import attention_figure

    alphas = model.attention_weights(graph)
    for layer, head in ((0, 0), (1, 1)):
        fig = attention_figure(graph, alphas, layer=layer, head=head)
        scales = [t.marker.cmax for t in fig.data if t.marker and t.marker.showscale]
        assert scales == [1.0]
        widths = [t.line.width for t in fig.data if t.mode == "lines" and len(t.x)]
        assert max(widths) <= 14.0 * float(alphas[layer][:, head].max()) + 14.0 / 8
    both = attention_figure(graph, alphas, head=[0, 1])
    assert {t.scene for t in both.data} == {"scene", "scene2"}  # side by side
    assert sum(bool(t.marker and t.marker.showscale) for t in both.data) == 1  # one colorbar
    assert "head 1, head 2" in both.layout.title.text and "0 to 1" in both.layout.title.text


def test_attention_explorer_shows_the_centers_weights(model, atoms):
    from companion.viz.attention import attention_explorer

    explorer = attention_explorer(model, atoms)
    center = explorer.center.value
    assert atoms.numbers[center] != 1  # a heavy atom by default, not all 72 half bonds
    label = dict((v, k) for k, v in explorer.center.options)[center]
    assert f"edges into {label} (atom {center})" in explorer.figure.layout.title.text
    n_in = int((explorer.graph.edge_index[1] == center).sum())
    bars = explorer.bars.data
    assert len(bars) == explorer.alphas[0].shape[1] and len(bars[0].y) == n_in
    assert sum(bars[0].y) == pytest.approx(1.0)  # the weights into a center sum to 1
    assert all(t for t in bars[0].text) and not any(bars[1].text)  # numbers of the head shown
    explorer.head.value = 1
    assert any(bars[1].text) and not any(bars[0].text)
    assert explorer.figure.layout.width + explorer.bars.layout.width <= 960  # one row


def test_attention_arrays_follow_periodic_images():
    from ase.build import bulk

    from companion.viz.attention import attention_arrays

    torch.manual_seed(0)
    m = GATv2Potential(GATv2Config(species=(14,), embed_dim=8, n_layers=1, heads=2, hidden=8,
                                   cutoff=3.0)).double()
    si = bulk("Si", "diamond", a=5.43)
    g = to_graph(si, **m.config.graph_options, dtype=torch.float64)
    arrays = attention_arrays(g, m.attention_weights(g))
    lengths = np.linalg.norm(arrays["end"] - arrays["start"], axis=1)
    np.testing.assert_allclose(lengths, 5.43 * np.sqrt(3) / 4, rtol=1e-9)  # Si-Si bond


def test_attention_explorer_redraws(model, atoms):
    from companion.viz.attention import attention_explorer

    explorer = attention_explorer(model, atoms)
    before = [list(t.x) for t in explorer.figure.data]
    explorer.center.value = 2
    explorer.layer.value = 1
    assert "atom 2" in explorer.figure.layout.title.text
    assert "layer 2" in explorer.figure.layout.title.text
    assert [list(t.x) for t in explorer.figure.data] != before


def test_energy_drift_and_parity_figures():
    from companion.viz.attention import energy_drift_figure, force_parity_figure

    t = np.arange(100) * 0.5  # fs
    total = -100.0 + 2e-6 * t  # eV: +2 meV/ps for the whole system
    fig = energy_drift_figure(t, total, total - 1.0, np.ones_like(t), n_atoms=2)
    name = fig.data[-1].name
    assert "drift +1 meV/atom/ps" in name, name
    np.testing.assert_allclose(fig.data[-1].y, 1000 * 2e-6 * t / 2, atol=1e-9)
    rng = np.random.default_rng(0)
    f = rng.normal(size=(10, 3))
    fig = force_parity_figure([f[:4], f[4:]], [f[:4] + 0.01, f[4:] + 0.01])
    # the legend in the axes' unit, with the meV/Å figure the notebook quotes
    assert "MAE 0.0100 eV/Å (10.0 meV/Å)" in fig.data[0].name
