"""The ASE calculator: the model's numbers in ASE's units and conventions, geometry
optimization with BFGS, stress only for periodic cells, a clear error for unknown elements."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress
from ase.optimize import BFGS
from ase.stress import full_3x3_to_voigt_6_stress
from torch_geometric.data import Batch

from companion.calculator import PotentialCalculator
from companion.errors import StructureError
from companion.graphs import to_graph
from companion.models.gatv2 import GATv2Config, GATv2Potential

CUTOFF = 3.0  # Å


@pytest.fixture(autouse=True)
def one_thread():
    """Graphs of a few atoms: OpenMP threads only add overhead (and stall on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_model(seed: int = 0, cutoff: float = CUTOFF, **overrides) -> GATv2Potential:
    torch.manual_seed(seed)
    config = GATv2Config(species=(1, 6, 7, 8), embed_dim=16, n_layers=2, heads=2, hidden=16,
                         n_radial=6, cutoff=cutoff, **overrides)
    model = GATv2Potential(config).double().eval()
    model.scale_shift.set(scale=10.0)  # eV: forces of ~0.1-1 eV/Å
    return model


@pytest.fixture
def model() -> GATv2Potential:
    return make_model()


def test_matches_the_model(model, ethanol, crystal):
    for atoms in (ethanol, crystal):
        atoms.calc = PotentialCalculator(model)
        g = to_graph(atoms, cutoff=CUTOFF, dtype=torch.float64)
        out = model.energy_and_forces(g, stress=bool(atoms.pbc.all()))
        assert atoms.get_potential_energy() == pytest.approx(float(out["energy"][0]), abs=1e-12)
        assert atoms.calc.get_property("free_energy") == atoms.get_potential_energy()
        np.testing.assert_allclose(atoms.get_forces(), out["forces"].numpy(), atol=1e-12)
        if atoms.pbc.all():
            voigt = full_3x3_to_voigt_6_stress(out["stress"][0].numpy())
            np.testing.assert_allclose(atoms.get_stress(), voigt, atol=1e-12)


def test_forces_and_stress_match_ase_numerical_derivatives(model, crystal):
    crystal.calc = PotentialCalculator(model)
    numerical = calculate_numerical_forces(crystal, eps=1e-4)
    np.testing.assert_allclose(crystal.get_forces(), numerical, atol=1e-7)
    stress = crystal.get_stress()  # ASE: (1/V) dE/d(strain), positive = tensile
    assert np.abs(stress).max() > 1e-3
    np.testing.assert_allclose(stress, calculate_numerical_stress(crystal, eps=1e-5),
                               atol=1e-8)


def test_stress_only_for_periodic_cells(model, ethanol, crystal):
    crystal.calc = PotentialCalculator(model)
    assert crystal.get_stress().shape == (6,)
    ethanol.calc = PotentialCalculator(model)
    ethanol.get_forces()
    assert "stress" not in ethanol.calc.results
    with pytest.raises(PropertyNotImplementedError):
        ethanol.get_stress()


def test_unknown_species_error(model):
    atoms = Atoms("CH3Cl", positions=[[0, 0, 0], [1.1, 0, 0], [-0.4, 1.0, 0],
                                      [-0.4, -0.5, 0.9], [-0.6, -0.5, -1.6]])
    atoms.calc = PotentialCalculator(model)
    with pytest.raises(StructureError, match=r"knows only H, C, N, O; .* Cl \(atoms 4\)"):
        atoms.get_potential_energy()


def test_dissociated_atom_is_allowed(model):
    """An atom beyond the cutoff of all others (a molecule breaking up in MD) is fine: it
    has no force, and the energy is that of the two fragments."""
    far = Atoms("CHO", positions=[[0, 0, 0], [1.1, 0, 0], [8.0, 0, 0]])
    far.calc = PotentialCalculator(model)
    forces = far.get_forces()
    assert np.abs(forces[2]).max() == 0
    pair = Atoms("CH", positions=[[0, 0, 0], [1.1, 0, 0]])
    pair.calc = PotentialCalculator(model)
    single = Atoms("O", positions=[[0, 0, 0]])
    single.calc = PotentialCalculator(model)
    assert far.get_potential_energy() == pytest.approx(
        pair.get_potential_energy() + single.get_potential_energy(), abs=1e-12)


def test_model_mode_is_restored_and_eval_is_used(ethanol):
    model = make_model(dropout=0.5).train()
    ethanol.calc = PotentialCalculator(model)
    e1 = ethanol.get_potential_energy()
    assert model.training  # restored
    ethanol.calc.reset()
    assert ethanol.get_potential_energy() == e1  # no dropout inside the calculator


def test_float32_model(ethanol):
    ethanol.calc = PotentialCalculator(make_model())
    f64 = ethanol.get_forces()
    ethanol.calc = PotentialCalculator(make_model().float())
    f32 = ethanol.get_forces()
    assert f32.dtype == np.float64
    np.testing.assert_allclose(f32, f64, atol=1e-4 * np.abs(f64).max())


def fit_to_ethanol(data, n_configs: int = 32, steps: int = 150) -> GATv2Potential:
    """A small model fitted (Adam, energies + forces) to the first ethanol DFT
    configurations: enough for a minimum near the DFT geometry, which a random model lacks
    (its landscape may pull atoms together without bound)."""
    records = [data[i] for i in range(n_configs)]
    model = make_model(cutoff=4.0)
    iso = data.atomic_energies
    per_atom = np.mean([r.targets["energy"] - sum(iso[z] for z in r.numbers) for r in records])
    model.scale_shift.set(shift={z: e + per_atom / 9 for z, e in iso.items()}, scale=0.1)
    batch = Batch.from_data_list([to_graph(r.atoms, cutoff=4.0, dtype=torch.float64)
                                  for r in records])
    forces = torch.tensor(np.concatenate([r.labels["forces"] for r in records]))  # [n, 3]
    energy = torch.tensor([r.targets["energy"] for r in records])  # [n_configs]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        out = model.energy_and_forces(batch)
        loss = (out["forces"] - forces).pow(2).mean() + ((out["energy"] - energy) / 9).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def fitted():
    """(model fitted for ~3 s to 32 ethanol configurations, the 50-configuration ethanol
    fixture of data/, which needs no external data)."""
    from companion.data import load

    data = load("ethanol_sample")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fit_to_ethanol(data), data
    finally:
        torch.set_num_threads(threads)


def test_bfgs_relaxes_a_distorted_molecule(fitted):
    model, data = fitted
    atoms = data[40].atoms  # not among the 32 fitted configurations
    atoms.calc = None
    atoms.positions += np.random.default_rng(0).normal(scale=0.1, size=atoms.positions.shape)
    atoms.calc = PotentialCalculator(model)
    fmax0, e0 = np.linalg.norm(atoms.get_forces(), axis=1).max(), atoms.get_potential_energy()
    converged = BFGS(atoms, logfile=None).run(fmax=0.05, steps=200)
    fmax = np.linalg.norm(atoms.get_forces(), axis=1).max()
    assert converged and fmax < 0.05 < 0.1 * fmax0
    assert atoms.get_potential_energy() < e0 - 0.1  # eV
    distances = atoms.get_all_distances()[np.triu_indices(len(atoms), 1)]
    assert distances.min() > 0.85  # Å: still a molecule (O-H is 0.97 Å)
