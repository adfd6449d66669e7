"""GATv2 / JAT potential: the physics a potential must get right, on small float64 models.

Forces against finite differences, invariance under rotation, translation, permutation and
supercells, continuity across the cutoff (and the discontinuity a plain softmax would have),
stress against the strain derivative, energy conservation in NVE molecular dynamics, and
attention weights that sum to 1.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms, units
from ase.build import molecule
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet
from torch_geometric.data import Batch
from torch_geometric.utils import scatter, softmax

import companion.models.gatv2 as gatv2
from companion.calculator import PotentialCalculator
from companion.errors import StructureError
from companion.graphs import to_graph
from companion.models.gatv2 import GATv2Config, GATv2Potential, envelope_softmax
from companion.nn.envelope import (
    BesselBasis,
    CosineCutoff,
    PolynomialEnvelope,
    make_envelope,
)
from tests.conftest import random_rotation

CUTOFF = 3.0  # Å
SCALE = 10.0  # eV: energy scale of the random models, so that forces are ~0.1-1 eV/Å


@pytest.fixture(autouse=True)
def one_thread():
    """Graphs of a few atoms: OpenMP threads only add overhead (and stall on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_model(seed: int = 0, **overrides) -> GATv2Potential:
    """A small random float64 model (2.5k parameters)."""
    torch.manual_seed(seed)
    options = dict(species=(1, 6, 7, 8), embed_dim=16, n_layers=2, heads=2, hidden=16,
                   n_radial=6, cutoff=CUTOFF)
    model = GATv2Potential(GATv2Config(**{**options, **overrides})).double().eval()
    model.scale_shift.set(scale=SCALE)
    return model


@pytest.fixture
def model() -> GATv2Potential:
    return make_model()


def graph(atoms: Atoms, cutoff: float = CUTOFF):
    return to_graph(atoms, cutoff=cutoff, dtype=torch.float64, allow_isolated=True)


def evaluate(model: GATv2Potential, atoms: Atoms, stress: bool = False):
    """(energy eV, forces [n, 3] eV/Å, stress [3, 3] or None) as numpy."""
    out = model.energy_and_forces(graph(atoms, model.config.cutoff), stress=stress)
    s = out["stress"][0].detach().numpy() if stress else None
    return float(out["energy"][0]), out["forces"].detach().numpy(), s


def energy(model: GATv2Potential, atoms: Atoms) -> float:
    with torch.no_grad():
        return float(model(graph(atoms, model.config.cutoff))[0])


# ------------------------------------------------------------------ envelopes and basis
@pytest.mark.parametrize("name", ["polynomial", "cosine"])
def test_envelope_value_and_slope_vanish_at_cutoff(name):
    env = make_envelope(name, 2.5)
    r = torch.tensor([0.0, 1.0, 2.5 - 1e-9, 2.5, 3.0], dtype=torch.float64,
                     requires_grad=True)
    u = env(r)
    (du,) = torch.autograd.grad(u.sum(), r)
    u = u.detach()
    assert u[0] == pytest.approx(1.0)
    assert 0 < u[1] < 1
    assert abs(float(u[2])) < 1e-12 and abs(float(du[2])) < 1e-6
    assert u[3:].abs().max() == 0 and du[3:].abs().max() == 0
    assert isinstance(env, PolynomialEnvelope if name == "polynomial" else CosineCutoff)


def test_polynomial_envelope_is_dimenet_formula():
    p, c = 6, 4.0
    x = np.linspace(0.05, 0.95, 7)
    expected = (1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1)
                - p * (p + 1) / 2 * x ** (p + 2))
    got = PolynomialEnvelope(c, p)(torch.tensor(x * c, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_bessel_basis_vanishes_at_cutoff():
    rbf = BesselBasis(3.0, 5)
    out = rbf(torch.tensor([0.7, 3.0], dtype=torch.float64))
    assert out.shape == (2, 5)
    assert out[1].abs().max() < 1e-12
    n = np.arange(1, 6)
    np.testing.assert_allclose(out[0], (2 / 3) ** 0.5 * np.sin(n * np.pi * 0.7 / 3) / 0.7)


# ------------------------------------------------------------------ forces and stress
def test_forces_match_finite_differences(model, ethanol):
    _, forces, _ = evaluate(model, ethanol)
    h = 1e-4  # Å; central differences: error ~ h^2 E''' ~ 1e-9 relative
    fd = np.zeros_like(forces)
    for i in range(len(ethanol)):
        for k in range(3):
            plus, minus = ethanol.copy(), ethanol.copy()
            plus.positions[i, k] += h
            minus.positions[i, k] -= h
            fd[i, k] = -(energy(model, plus) - energy(model, minus)) / (2 * h)
    assert np.abs(forces).max() > 0.05  # a non-trivial potential
    assert np.linalg.norm(fd - forces) / np.linalg.norm(forces) < 1e-6


def test_forces_match_finite_differences_periodic(model, crystal):
    _, forces, _ = evaluate(model, crystal)
    h = 1e-4
    fd = np.zeros_like(forces)
    for i in range(len(crystal)):
        for k in range(3):
            plus, minus = crystal.copy(), crystal.copy()
            plus.positions[i, k] += h
            minus.positions[i, k] -= h
            fd[i, k] = -(energy(model, plus) - energy(model, minus)) / (2 * h)
    assert np.linalg.norm(fd - forces) / np.linalg.norm(forces) < 1e-6
    assert np.abs(forces.sum(axis=0)).max() < 1e-10  # Newton's third law: no net force


def strained(atoms: Atoms, eps: np.ndarray) -> Atoms:
    out = atoms.copy()
    out.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
    return out


def test_stress_matches_strain_derivative(model, crystal):
    _, _, stress = evaluate(model, crystal, stress=True)
    h, volume = 1e-5, crystal.get_volume()
    fd = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            eps = np.zeros((3, 3))
            eps[a, b] += h / 2
            eps[b, a] += h / 2
            de = energy(model, strained(crystal, eps)) - energy(model, strained(crystal, -eps))
            fd[a, b] = de / (2 * h) / volume
    np.testing.assert_allclose(stress, stress.T, atol=1e-14)
    assert np.abs(stress).max() > 1e-3  # eV/Å^3: a non-trivial stress
    assert np.linalg.norm(stress - fd) / np.linalg.norm(stress) < 1e-6


def test_stress_refused_for_molecules(model, ethanol):
    with pytest.raises(StructureError, match="periodic"):
        model.energy_and_forces(graph(ethanol), stress=True)


# ------------------------------------------------------------------ invariances
@pytest.mark.parametrize("periodic", [False, True])
def test_rotation(model, ethanol, crystal, periodic):
    atoms = crystal if periodic else ethanol
    e0, f0, s0 = evaluate(model, atoms, stress=periodic)
    rot = random_rotation(np.random.default_rng(7))
    turned = atoms.copy()
    turned.positions = atoms.positions @ rot.T
    if periodic:
        turned.set_cell(atoms.cell.array @ rot.T, scale_atoms=False)
    e1, f1, s1 = evaluate(model, turned, stress=periodic)
    assert e1 == pytest.approx(e0, abs=1e-10)
    np.testing.assert_allclose(f1, f0 @ rot.T, atol=1e-10)
    if periodic:
        np.testing.assert_allclose(s1, rot @ s0 @ rot.T, atol=1e-10)


@pytest.mark.parametrize("periodic", [False, True])
def test_translation(model, ethanol, crystal, periodic):
    atoms = crystal if periodic else ethanol
    e0, f0, _ = evaluate(model, atoms)
    moved = atoms.copy()
    moved.positions += np.array([1.3, -0.4, 7.9])
    if periodic:  # and an atom jumps to another image of itself
        moved.positions[1] += 2 * atoms.cell.array[0] - atoms.cell.array[2]
    e1, f1, _ = evaluate(model, moved)
    assert e1 == pytest.approx(e0, abs=1e-10)
    np.testing.assert_allclose(f1, f0, atol=1e-10)


@pytest.mark.parametrize("periodic", [False, True])
def test_permutation(model, ethanol, crystal, periodic):
    atoms = crystal if periodic else ethanol
    e0, f0, _ = evaluate(model, atoms)
    perm = np.random.default_rng(3).permutation(len(atoms))
    e1, f1, _ = evaluate(model, atoms[perm])
    assert e1 == pytest.approx(e0, abs=1e-10)
    np.testing.assert_allclose(f1, f0[perm], atol=1e-10)


def test_supercell(model, crystal):
    e0, f0, s0 = evaluate(model, crystal, stress=True)
    reps = (2, 1, 3)
    e1, f1, s1 = evaluate(model, crystal.repeat(reps), stress=True)
    assert e1 == pytest.approx(6 * e0, rel=1e-10)
    np.testing.assert_allclose(f1, np.tile(f0, (6, 1)), atol=1e-10)
    np.testing.assert_allclose(s1, s0, atol=1e-12)


def test_one_atom_cell(model):
    """Every neighbor is an image of the atom itself (a cell smaller than the cutoff): no
    force by symmetry, an isotropic stress for a cubic cell, extensive energy."""
    atoms = Atoms("C", positions=[[0.3, 0.2, 0.1]], cell=np.eye(3) * 1.9, pbc=True)
    g = graph(atoms)
    assert g.num_nodes == 1 and g.num_edges == 18  # 6 at 1.9 Å, 12 at 2.69 Å
    e0, f0, s0 = evaluate(model, atoms, stress=True)
    assert np.abs(f0).max() < 1e-12
    np.testing.assert_allclose(s0, np.eye(3) * s0[0, 0], atol=1e-12)
    e1, _, s1 = evaluate(model, atoms.repeat(2), stress=True)
    assert e1 == pytest.approx(8 * e0, rel=1e-12)
    np.testing.assert_allclose(s1, s0, atol=1e-12)


def test_batch_equals_single_graphs(model, ethanol, crystal):
    graphs = [graph(ethanol), graph(crystal), graph(crystal.repeat((1, 2, 1)))]
    out = model.energy_and_forces(Batch.from_data_list(graphs))
    start = 0
    for g in graphs:
        single = model.energy_and_forces(g)
        n = g.num_nodes
        assert out["energy"][graphs.index(g)] == pytest.approx(float(single["energy"][0]))
        torch.testing.assert_close(out["forces"][start:start + n], single["forces"])
        start += n
    periodic = Batch.from_data_list(graphs[1:])
    stress = model.energy_and_forces(periodic, stress=True)["stress"]  # [2, 3, 3]
    torch.testing.assert_close(stress[0], stress[1])


# ------------------------------------------------------------------ the cutoff
def crossing(r: float) -> Atoms:
    """C at the origin with an H 1.2 Å away; an O at distance r from C (crossing the cutoff
    of C and O, each keeping another neighbor), bonded to an H. The O-H pair moves rigidly,
    so the C...O pair is the only interaction that changes with r."""
    return Atoms("CHOH", positions=[[0, 0, 0], [-1.2, 0, 0], [r, 0, 0], [r + 1.0, 0.9, 0]])


def dimer(r: float) -> Atoms:
    """Two atoms: the last neighbor of each leaves at the cutoff."""
    return Atoms("CO", positions=[[0, 0, 0], [r, 0, 0]])


@pytest.mark.parametrize("system", [crossing, dimer])
def test_energy_and_forces_continuous_across_cutoff(model, system):
    jumps, force_jumps = [], []
    for delta in (1e-2, 1e-3, 1e-4):
        e_in, f_in, _ = evaluate(model, system(CUTOFF - delta))
        e_out, f_out, _ = evaluate(model, system(CUTOFF + delta))
        jumps.append(abs(e_in - e_out))
        force_jumps.append(np.abs(f_in - f_out).max())
    # Only the crossing pair changes, and its contribution is ~u(r) ~ (r_c - r)^3: the
    # energy jump falls 1e6-fold over two decades of delta (a discontinuity would not fall,
    # a kink would fall 1e2-fold) ...
    assert jumps[2] < 1e-5 * jumps[0] + 1e-14 and jumps[2] < 1e-10
    # ... and the force jump, ~u'(r) ~ (r_c - r)^2, 1e4-fold (continuous forces)
    assert force_jumps[2] < 1e-3 * force_jumps[0] + 1e-12 and force_jumps[2] < 1e-6


@pytest.mark.parametrize("system", [crossing, dimer])
def test_edge_at_cutoff_contributes_nothing(model, system):
    """Just inside the cutoff, removing the crossing edges changes E by O(delta^3) and the
    forces by O(delta^2): value, slope (and curvature) of the envelope vanish there."""
    de, df = [], []
    for delta in (1e-2, 1e-3):
        g = graph(system(CUTOFF - delta))
        far = (g.edge_index == 0).any(0) & (g.edge_index == 2 % g.num_nodes).any(0)
        assert int(far.sum()) == 2  # the pair crossing the cutoff, both directions
        cut = g.clone()
        cut.edge_index, cut.edge_shift = g.edge_index[:, ~far], g.edge_shift[~far]
        a, b = model.energy_and_forces(g), model.energy_and_forces(cut)
        de.append(float((a["energy"] - b["energy"]).abs()))
        df.append(float((a["forces"] - b["forces"]).abs().max()))
    assert de[1] < 3e-3 * de[0] + 1e-14  # cubic: a factor 1e-3 per decade
    assert df[1] < 3e-2 * df[0] + 1e-12  # quadratic


def test_plain_softmax_would_jump_at_cutoff(monkeypatch):
    """The reason for the envelope inside the softmax: with u only on the messages, the
    weights of the other neighbors jump when a neighbor enters (module docstring)."""
    def plain(logits, envelope, index, n_atoms):
        return envelope_softmax(logits, torch.ones_like(envelope), index, n_atoms)

    model = make_model()
    smooth = abs(energy(model, crossing(CUTOFF - 1e-6)) - energy(model, crossing(CUTOFF + 1e-6)))
    monkeypatch.setattr(gatv2, "envelope_softmax", plain)
    jump = abs(energy(model, crossing(CUTOFF - 1e-6)) - energy(model, crossing(CUTOFF + 1e-6)))
    assert smooth < 1e-6 and jump > 1e-3


def test_nve_energy_conservation(ethanol):
    """Velocity Verlet with dt = 0.25 fs conserves a smooth potential's total energy up to a
    bounded oscillation of relative size ~(omega dt)^2 (C-H stretch: period ~11 fs, so about
    2%) of the kinetic-energy fluctuations; a hard cutoff instead makes E_tot jump by about
    the energy of the crossing pair, as large as those fluctuations (measured: max |dE_tot| /
    std(E_kin) ~ 1 with a step-function envelope, ~0.01 with the polynomial one). The bound
    of 0.05 separates the two; the cutoff of 2.5 Å lies among ethanol's H...H and C...H
    distances, so pairs do cross it during the run (checked)."""
    cutoff = 2.5
    model = make_model(cutoff=cutoff)
    atoms = molecule("CH3CH2OH")
    atoms.calc = PotentialCalculator(model)
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    Stationary(atoms)
    dyn = VelocityVerlet(atoms, timestep=0.25 * units.fs)
    total, kinetic, n_pairs = [], [], []
    upper = np.triu_indices(len(atoms), 1)

    def record() -> None:
        total.append(atoms.get_potential_energy() + atoms.get_kinetic_energy())
        kinetic.append(atoms.get_kinetic_energy())
        n_pairs.append(int((atoms.get_all_distances()[upper] < cutoff).sum()))

    dyn.attach(record, interval=1)
    dyn.run(200)
    total, kinetic = np.array(total), np.array(kinetic)
    assert np.count_nonzero(np.diff(n_pairs)) >= 3  # pairs crossed the cutoff
    assert kinetic.std() > 0.01  # eV: the molecule moves
    assert np.abs(total - total[0]).max() < 0.05 * kinetic.std()


# ------------------------------------------------------------------ attention
def test_attention_weights_sum_to_one(model, ethanol, crystal):
    for atoms in (ethanol, crystal):
        g = graph(atoms)
        alphas = model.attention_weights(g)
        assert len(alphas) == model.config.n_layers
        has_neighbors = torch.bincount(g.edge_index[1], minlength=g.num_nodes) > 0
        for alpha in alphas:
            assert alpha.shape == (g.num_edges, model.config.heads)
            assert (alpha >= 0).all()
            sums = scatter(alpha, g.edge_index[1], dim=0, dim_size=g.num_nodes)
            torch.testing.assert_close(sums[has_neighbors], torch.ones_like(sums[has_neighbors]))


def test_envelope_softmax_generalizes_pyg_softmax():
    torch.manual_seed(0)
    logits = torch.randn(12, 3, dtype=torch.float64) * 5
    index = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4])
    ones = torch.ones(12, dtype=torch.float64)
    torch.testing.assert_close(envelope_softmax(logits, ones, index, 5), softmax(logits, index))
    u = torch.rand(12, dtype=torch.float64) + 0.01
    torch.testing.assert_close(envelope_softmax(logits, u, index, 5),
                               softmax(logits + u.log().unsqueeze(-1), index))
    u[:3] = 0.0  # all neighbors of atom 0 at the cutoff: zero weights, no NaN
    assert envelope_softmax(logits, u, index, 5)[:3].abs().max() == 0


def test_distance_only_ablation_ignores_features(ethanol):
    """Distance-only weights do not change when the elements change; attention ones do."""
    other = ethanol.copy()
    other.numbers = np.where(ethanol.numbers == 1, 7, ethanol.numbers)  # H -> N
    for distance_only in (True, False):
        model = make_model(distance_only=distance_only)
        a0 = model.attention_weights(graph(ethanol))[0]
        a1 = model.attention_weights(graph(other))[0]
        assert torch.allclose(a0, a1) == distance_only
        _, forces, _ = evaluate(model, ethanol)
        assert np.isfinite(forces).all()


# ------------------------------------------------------------------ API
def test_unknown_species_message(model):
    atoms = Atoms("CSiH", positions=[[0, 0, 0], [1.5, 0, 0], [0, 1.1, 0]])
    with pytest.raises(StructureError, match=r"knows only H, C, N, O.*Si \(atoms 1\)"):
        model(graph(atoms))


def test_scale_shift_per_species(model, ethanol):
    e0 = energy(model, ethanol)
    model.scale_shift.set(shift={1: -13.6, 6: -1000.0})  # eV; O keeps 0
    assert energy(model, ethanol) == pytest.approx(e0 - 13.6 * 6 - 1000.0 * 2)
    e_atoms = model.atom_energies(graph(ethanol)).detach()
    assert float(e_atoms.sum()) == pytest.approx(energy(model, ethanol))
    model.scale_shift.set(scale=2 * SCALE)  # doubles the learned part only
    assert energy(model, ethanol) == pytest.approx(2 * e0 - 13.6 * 6 - 1000.0 * 2)
    with pytest.raises(ValueError, match="not in the model"):
        model.scale_shift.set(shift={14: 1.0})


def test_force_loss_trains_parameters(model, ethanol, crystal):
    """In train mode the forces keep their graph: a force loss reaches every weight."""
    model.train()
    out = model.energy_and_forces(Batch.from_data_list([graph(ethanol), graph(crystal)]))
    assert out["energy"].shape == (2,) and out["forces"].shape == (len(ethanol) + 4, 3)
    loss = out["forces"].pow(2).mean() + out["energy"].pow(2).mean()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.layers[0].lin_edge.weight.grad.abs().max() > 0


def test_float32_model_on_float64_graph(ethanol):
    model64 = make_model()
    model32 = make_model().float()
    e64, f64, _ = evaluate(model64, ethanol)
    e32, f32, _ = evaluate(model32, ethanol)
    assert f32.dtype == np.float64  # forces in the dtype of the positions
    assert e32 == pytest.approx(e64, abs=1e-4)
    np.testing.assert_allclose(f32, f64, atol=1e-4 * np.abs(f64).max())


def test_config_defaults_and_graph_options():
    config = GATv2Config()
    model = GATv2Potential(config)
    n_params = sum(p.numel() for p in model.parameters())
    assert 30_000 < n_params < 50_000  # the ~40k-parameter model of the benchmark
    assert config.graph_options == {"policy": "radius", "cutoff": config.cutoff}
    assert GATv2Config(species=[8, 1]).species == (8, 1)
    with pytest.raises(ValueError, match="divisible"):
        GATv2Config(embed_dim=10, heads=4)
