"""ALIGNN (companion.models.alignn): shapes, invariances, batching, gradients, ablation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure
from torch_geometric.data import Batch

from companion.errors import StructureError
from companion.graphs import to_graph
from companion.models.alignn import (
    ALIGNN,
    GRAPH_KWARGS,
    ALIGNNConfig,
    EdgeGatedGraphConv,
    RBFExpansion,
    count_parameters,
)
from tests.conftest import random_rotation

SMALL = {"alignn_layers": 2, "gcn_layers": 1, "hidden_features": 16, "embedding_features": 8,
         "edge_input_features": 20, "triplet_input_features": 10}
"""A config that runs in milliseconds."""

REFERENCE_PARAMETERS = 4_026_753
"""Trainable parameters of the reference code's default ALIGNN (``alignn`` 2026.8.11,
counted by instantiating ``alignn.models.alignn.ALIGNN(ALIGNNConfig(name="alignn"))``)."""


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one torch thread (two threads contend on a busy 2-core machine and
    made this module 5x slower); restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def graph(obj, **kwargs):
    return to_graph(obj, **{**GRAPH_KWARGS, "dtype": torch.float64, **kwargs})


def warmed(config: ALIGNNConfig, structures, seed: int = 0) -> ALIGNN:
    """A float64 model in eval mode whose batch norms have non-trivial running statistics."""
    torch.manual_seed(seed)
    model = ALIGNN(config).double().train()
    batch = Batch.from_data_list([graph(s) for s in structures])
    with torch.no_grad():
        for _ in range(3):
            model(batch)
    return model.eval()


@pytest.fixture
def cscl():
    """CsCl, a 2-atom cubic cell."""
    return Structure(Lattice.cubic(4.12), ["Cs", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.fixture
def model(nacl, skewed, cscl):
    return warmed(ALIGNNConfig(**SMALL), [nacl, skewed, cscl])


def predict(model: ALIGNN, obj) -> torch.Tensor:
    with torch.no_grad():
        return model(graph(obj))


# ------------------------------------------------------------------ parameters, shapes

def test_default_parameter_count_matches_reference():
    full = ALIGNN()
    assert count_parameters(full) == REFERENCE_PARAMETERS
    no_angles = ALIGNN(ALIGNNConfig(angles=False))
    conv = count_parameters(EdgeGatedGraphConv(256))  # 5 * (256^2 + 256) + 2 * 2 * 256
    angle_embedding = (40 * 64 + 64 + 2 * 64) + (64 * 256 + 256 + 2 * 256)
    assert conv == 329_984
    assert count_parameters(full) - count_parameters(no_angles) == 4 * conv + angle_embedding


def test_shapes_on_a_two_atom_cell(cscl):
    g = to_graph(cscl, **GRAPH_KWARGS)
    model = ALIGNN(ALIGNNConfig(**SMALL))
    out = model(g)
    assert out.shape == (1,) and out.dtype == torch.float32
    bonds, angles = model.bond_and_angle_inputs(g)
    assert bonds.shape == (g.edge_index.shape[1], 20)
    assert angles.shape == (g.lg_edge_index.shape[1], 10)
    assert model.crystal_features(g).shape == (1, 16)
    multi = ALIGNN(ALIGNNConfig(**SMALL, output_features=3))
    assert multi(g).shape == (1, 3)
    clf = ALIGNN(ALIGNNConfig(**SMALL, classification=True, num_classes=3)).eval()
    with torch.no_grad():
        proba = clf.predict(g)
    assert proba.shape == (1, 3)
    torch.testing.assert_close(proba.sum(-1), torch.ones(1))


def test_rbf_centers_and_width():
    rbf = RBFExpansion(0.0, 8.0, 80)
    assert rbf.centers.shape == (80,) and rbf.centers[-1] == 8.0
    x = torch.tensor([rbf.centers[3].item()])
    out = rbf(x)  # [1, 80]
    assert out[0, 3] == 1.0
    torch.testing.assert_close(out[0, 4], torch.exp(torch.tensor(-8.0 / 79)))


def test_graph_kwargs_match_the_config():
    assert ALIGNNConfig().graph_options == GRAPH_KWARGS
    assert ALIGNNConfig(angles=False).graph_options["line_graph"] is False
    with pytest.raises(ValueError, match="CGCNN"):
        ALIGNNConfig(atom_input_features=10)


# ------------------------------------------------------------------ invariances

def test_rotation_and_translation_invariance(model, skewed, rng):
    rot = random_rotation(rng)
    moved = Structure(Lattice(skewed.lattice.matrix @ rot.T), skewed.species,
                      skewed.cart_coords @ rot.T + np.array([3.3, -7.1, 0.4]),
                      coords_are_cartesian=True)
    torch.testing.assert_close(predict(model, moved), predict(model, skewed),
                               atol=1e-10, rtol=0)


def test_permutation_invariance(model, skewed, nacl, rng):
    for s in (skewed, nacl):
        perm = rng.permutation(len(s))
        permuted = Structure(s.lattice, [s.species[p] for p in perm], s.frac_coords[perm])
        torch.testing.assert_close(predict(model, permuted), predict(model, s),
                                   atol=1e-10, rtol=0)


@pytest.mark.parametrize("scaling", [[2, 1, 1], [1, 2, 3]])
def test_supercell_invariance(model, skewed, cscl, scaling):
    for s in (skewed, cscl):
        big = s.make_supercell(scaling, in_place=False)
        torch.testing.assert_close(predict(model, big), predict(model, s),
                                   atol=1e-10, rtol=0)


def test_angle_features_do_not_depend_on_the_image_of_an_atom(model, skewed):
    g = graph(skewed)
    moved = g.clone()
    n = torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64)  # lattice translation
    moved.pos[0] += n @ g.cell[0]
    src, dst = g.edge_index
    moved.edge_shift[src == 0] -= n  # the same bonds, seen from the moved image
    moved.edge_shift[dst == 0] += n
    assert not torch.equal(moved.edge_shift, g.edge_shift)
    with torch.no_grad():
        bonds, angles = model.bond_and_angle_inputs(g)
        bonds_m, angles_m = model.bond_and_angle_inputs(moved)
        torch.testing.assert_close(angles_m, angles, atol=1e-12, rtol=0)
        torch.testing.assert_close(bonds_m, bonds, atol=1e-12, rtol=0)
        torch.testing.assert_close(model(moved), model(g), atol=1e-12, rtol=0)


# ------------------------------------------------------------------ batching

def test_batch_of_three_equals_three_single_predictions(model, nacl, skewed, cscl):
    structures = [nacl, skewed, cscl]
    graphs = [graph(s) for s in structures]
    batch = Batch.from_data_list(graphs)
    assert batch.lg_edge_index.max() >= graphs[0].edge_index.shape[1]  # offsets by edges
    with torch.no_grad():
        together = model(batch)
        alone = torch.cat([model(g) for g in graphs])
    assert together.shape == (3,)
    torch.testing.assert_close(together, alone, atol=1e-12, rtol=0)


def test_batch_of_one(model, skewed):
    g = graph(skewed)
    with torch.no_grad():
        out = model(Batch.from_data_list([g]))
    assert out.shape == (1,)
    torch.testing.assert_close(out, predict(model, skewed), atol=1e-12, rtol=0)


# ------------------------------------------------------------------ small graphs

@pytest.mark.parametrize("backtracking", [False, True])
def test_dimer_with_a_single_neighbor_per_atom(model, backtracking):
    from ase import Atoms

    dimer = Atoms("N2", positions=[[0, 0, 0], [0, 0, 1.1]])
    g = graph(dimer, backtracking=backtracking)
    assert g.edge_index.shape == (2, 2)
    # no angles without backtracking; with it, each bond pairs with its own reverse (cos 1)
    assert g.lg_edge_index.shape == (2, 2 if backtracking else 0)
    with torch.no_grad():
        _, angles = model.bond_and_angle_inputs(g)
        out = model(g)
    assert angles.shape == (g.lg_edge_index.shape[1], 10)
    assert out.shape == (1,) and torch.isfinite(out).all()
    model.train()
    model(Batch.from_data_list([g, g])).sum().backward()  # batch norm over 0 triplets
    assert all(torch.isfinite(b).all() for b in model.buffers())


def test_graph_without_edges_runs(model):
    from ase import Atoms

    far = Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 9.0]])
    g = to_graph(far, "radius", cutoff=3.0, line_graph=True, allow_isolated=True,
                 dtype=torch.float64)
    assert g.edge_index.shape == (2, 0) and g.lg_edge_index.shape == (2, 0)
    with torch.no_grad():
        assert torch.isfinite(model(g)).all()


def test_nearest_neighbor_graph_without_triplets(model, nacl):
    g = to_graph(nacl, "radius", cutoff=4.0, max_neighbors=1, line_graph=True,
                 backtracking=False, dtype=torch.float64)
    with torch.no_grad():
        assert model(g).shape == (1,)


# ------------------------------------------------------------------ gradients, ablation

def test_gradient_with_respect_to_positions(model, skewed, rng):
    g = graph(skewed)
    g.pos.requires_grad_(True)
    (grad,) = torch.autograd.grad(model(g).sum(), g.pos)
    assert torch.isfinite(grad).all() and grad.abs().max() > 0
    step = torch.as_tensor(rng.normal(size=g.pos.shape))  # [n_atoms, 3]
    h = 1e-5
    with torch.no_grad():
        plus, minus = g.clone(), g.clone()
        plus.pos += h * step
        minus.pos -= h * step
        numeric = (model(plus) - model(minus)) / (2 * h)
    torch.testing.assert_close(numeric, (grad * step).sum().reshape(1), rtol=1e-5, atol=1e-8)


def test_every_parameter_is_trained_but_the_unused_last_edge_norms(nacl, skewed):
    model = ALIGNN(ALIGNNConfig(**SMALL))
    model(Batch.from_data_list([to_graph(s, **GRAPH_KWARGS) for s in (nacl, skewed)])
          ).sum().backward()
    without = {n for n, p in model.named_parameters() if p.grad is None}
    # edge outputs of the last line-graph and the last atom-graph convolution go nowhere
    assert without == {f"{prefix}.bn_edges.{w}" for w in ("weight", "bias")
                       for prefix in ("alignn_layers.1.line_conv", "gcn_layers.0")}
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.angle_embedding[0][0].weight.grad.abs().sum() > 0


def test_ablation_without_angles(nacl, skewed):
    model = warmed(ALIGNNConfig(**SMALL, angles=False), [nacl, skewed])
    assert model.angle_embedding is None
    assert all(layer.line_conv is None for layer in model.alignn_layers)
    with_lg = graph(skewed)
    without_lg = graph(skewed, line_graph=False)
    assert "lg_edge_index" not in without_lg
    with torch.no_grad():
        a, b = model(with_lg), model(without_lg)
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    with pytest.raises(StructureError, match="line_graph=True"):
        ALIGNN(ALIGNNConfig(**SMALL))(to_graph(skewed, "alignn"))
