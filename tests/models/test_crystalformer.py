"""Crystalformer: the authors' outputs reproduced, the two paths, closed forms, convergence,
invariances and parameter counts (float64 unless stated, width statistics frozen)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from companion.graphs import CrystalGraph, to_graph
from companion.models.crystalformer import (
    Crystalformer,
    CrystalformerConfig,
    convert_reference_state,
)
from companion.models.crystalformer_attention import (
    box_translations,
    dense_attention,
    real_alpha,
    reciprocal_alpha,
)
from companion.models.registry import MODELS
from tests.conftest import SHARED_DATA, random_rotation

pytestmark = pytest.mark.usefixtures("one_thread")

REFERENCE = SHARED_DATA.parent / "reference" / "crystalformer" / "out"
"""Outputs of the authors' code (README.md beside it says how they were made)."""


def reference_file(name: str):
    path = REFERENCE / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: the Crystalformer reference lives in "
                    "../shared/reference/crystalformer (CI's shared folder); check it out "
                    "beside the repository.")
    return path


@pytest.fixture(scope="module")
def reference():
    """(model with the authors' weights, float64, eval; their 8 crystals; their outputs)."""
    state = torch.load(reference_file("state_dict.pt"), weights_only=True)
    model = Crystalformer().double()
    missing, unexpected = model.load_state_dict(convert_reference_state(state, model.config),
                                                strict=False)
    assert sorted(missing) == ["scale_shift.scale", "scale_shift.shift"] and not unexpected
    structures = json.loads(reference_file("structures.json").read_text())
    graphs = [graph_of(s["atomic_numbers"], s["cart_coords"], s["lattice"], model)
              for s in structures]
    return model.eval(), graphs, np.load(reference_file("outputs.npz"))


def graph_of(z, pos, cell, model: Crystalformer) -> CrystalGraph:
    return to_graph((np.asarray(z), np.asarray(pos, float), np.asarray(cell, float)),
                    **model.config.graph_options, dtype=torch.float64)


def box_graph(graph: CrystalGraph, n_range: int) -> CrystalGraph:
    """The same crystal with every (pair, translation) of the box as an edge."""
    n = graph.z.size(0)
    shifts = box_translations(n_range)  # [R, 3]
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    i, j = i.reshape(-1).repeat_interleave(len(shifts)), j.reshape(-1).repeat_interleave(
        len(shifts))
    out = graph.clone()
    out.edge_index = torch.stack([j, i])
    out.edge_shift = shifts.repeat(n * n, 1)
    return out


def small_model(**kwargs) -> Crystalformer:
    torch.manual_seed(0)
    config = CrystalformerConfig(n_layers=2, dim=32, n_heads=4, ff_dim=64, head_dim=32,
                                 **kwargs)
    return Crystalformer(config).double().eval()


@pytest.fixture
def skewed_graph(skewed):
    model = small_model()
    return to_graph(skewed, **model.config.graph_options, dtype=torch.float64)


# ------------------------------------------------------------------ the authors' outputs

def test_reproduces_every_stored_tensor_with_the_dense_path(reference):
    model, graphs, ref = reference
    for s, graph in enumerate(graphs):
        record: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            pred = model(graph, "dense", record)
        for key, value in record.items():
            stored = ref[f"s{s}/{key}"]
            err = np.abs(value.numpy().reshape(stored.shape) - stored).max()
            assert err < 1e-10, (s, key, err)
        assert abs(pred.item() - ref["pred_single"][s, 0]) < 1e-10
    with torch.no_grad():
        batch = model(Batch.from_data_list(graphs), "dense").numpy()
    assert np.abs(batch - ref["pred_batch"][:, 0]).max() < 1e-10


def test_production_path_within_its_truncation_error(reference):
    """The authors' box (-2..2) truncates more than the 3.5 sigma_max = 6.93 Å radius for
    small cells; measured difference 2.3e-7 (their box of 343 moves it by 1.6e-7)."""
    model, graphs, ref = reference
    with torch.no_grad():
        pred = model(Batch.from_data_list(graphs)).numpy()
    assert np.abs(pred - ref["pred_batch"][:, 0]).max() < 1e-6


def test_calibration_reproduces_the_authors_width_statistics(reference):
    model, graphs, _ = reference
    meta = json.loads(reference_file("meta.json").read_text())["gauss_scale"]
    fresh = Crystalformer().double()
    fresh.load_state_dict(model.state_dict())
    for block in fresh.blocks:
        block.width_norm.data = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    stats = fresh.calibrate(Batch.from_data_list(graphs), "dense")
    for (m, s), layer in zip(stats, meta.values(), strict=True):
        assert m == pytest.approx(-layer["shift"], rel=1e-9)
        assert s == pytest.approx(1 / layer["scale"], rel=1e-9)
    assert all(float(b.width_norm[2]) > 0 for b in fresh.blocks)
    assert not any(b.width_norm.requires_grad for b in fresh.blocks)


# ------------------------------------------------------------------ the two paths

@pytest.mark.parametrize("options", [{}, {"n_basis": 0}, {"dual_space": True}])
def test_dense_and_edge_paths_agree_on_the_same_images(skewed_graph, nacl, options):
    model = small_model(**options)
    graphs = [skewed_graph, to_graph(nacl, **model.config.graph_options, dtype=torch.float64)]
    batch = Batch.from_data_list([box_graph(g, model.config.dense_range) for g in graphs])
    with torch.no_grad():
        dense, edges = model(batch, "dense"), model(batch, "edges")
    assert torch.allclose(dense, edges, rtol=0, atol=1e-12), (dense - edges).abs().max()


@pytest.mark.parametrize("sigma", [1.0, 1.5, 2.0])
def test_real_and_reciprocal_alpha_agree(sigma):
    cell = torch.tensor([[3.1, 0.0, 0.0], [0.7, 2.9, 0.0], [0.4, -0.5, 3.4]],
                        dtype=torch.float64)
    rel = torch.tensor([[0.0, 0.0, 0.0], [0.9, 1.3, -0.4], [2.0, 0.1, 1.7]],
                       dtype=torch.float64)  # [P, 3]
    images = box_translations(6) @ cell  # [R, 3]
    d2 = ((rel[:, None] + images[None]) ** 2).sum(-1)  # [P, R]
    sig = torch.full((3, 1), sigma, dtype=torch.float64)
    real = real_alpha(d2, 1 / (2 * sig**2))
    reci = reciprocal_alpha(rel, cell.expand(3, 3, 3), sig, 8)
    assert torch.allclose(real, reci, rtol=0, atol=1e-8), (real - reci).abs().max()


# ------------------------------------------------------------------ closed forms

@pytest.mark.parametrize(("a", "sigma"), [(2.0, 1.0), (3.0, 1.9), (4.5, 1.2)])
def test_one_atom_in_a_cubic_cell(a, sigma):
    """alpha_11 = 3 log sum_k exp(-k^2 a^2 / 2 sigma^2): the sum factorizes per axis."""
    d2 = (box_translations(6) * a).pow(2).sum(-1)[None]  # [1, R]
    alpha = real_alpha(d2, torch.tensor([[1 / (2 * sigma**2)]], dtype=torch.float64))
    k = np.arange(-6, 7)
    closed = 3 * math.log(np.exp(-k**2 * a**2 / (2 * sigma**2)).sum())
    assert float(alpha) == pytest.approx(closed, abs=1e-13)


def test_one_atom_gives_value_plus_beta():
    torch.manual_seed(1)
    q, k, v = (torch.randn(1, 2, 4, dtype=torch.float64) for _ in range(3))
    d2 = (box_translations(2, torch.float64) * 2.5).pow(2).sum(-1)[None]  # [1, R]
    basis = torch.rand(1, d2.size(1), 5, dtype=torch.float64)
    psi = torch.randn(2, 4, 5, dtype=torch.float64)
    pair = torch.zeros(1, dtype=torch.long)
    y, beta = dense_attention(q, k, v, torch.tensor([[0.2, 0.4]], dtype=torch.float64),
                              pair, pair, d2, basis, psi)
    assert torch.allclose(y, v + beta[0], rtol=0, atol=1e-15)


def test_without_psi_a_one_element_crystal_ignores_its_lattice_constant():
    """K = 0: all atoms share one value vector, and softmax weights sum to one, so the
    output is the same for any geometry (psi is what makes distances matter)."""
    model = small_model(n_basis=0)
    frac = np.array([[0, 0, 0], [0.25, 0.25, 0.25]])
    lattice = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    preds = []
    for a in (4.0, 5.43, 7.0):
        graph = graph_of([14, 14], frac @ lattice * a, lattice * a, model)
        with torch.no_grad():
            preds.append(model(graph).item())
    assert np.ptp(preds) < 1e-14
    with_psi = small_model()
    graphs = [graph_of([14, 14], frac @ lattice * a, lattice * a, with_psi) for a in (4.0, 7.0)]
    with torch.no_grad():
        assert abs(with_psi(graphs[0]).item() - with_psi(graphs[1]).item()) > 1e-6


def test_alpha_converges_with_the_cutoff():
    cell = torch.tensor([[2.0, 0.0, 0.0], [0.3, 2.2, 0.0], [0.1, 0.4, 2.5]],
                        dtype=torch.float64)
    rel = torch.tensor([[0.0, 0.0, 0.0], [0.8, 0.9, 1.1]], dtype=torch.float64)
    d2 = ((rel[:, None] + (box_translations(14) @ cell)[None]) ** 2).sum(-1)  # [P, R]
    inv = 1 / (2 * torch.tensor([[1.0, 1.5, 1.98]], dtype=torch.float64) ** 2).expand(2, 3)
    ref = real_alpha(d2, inv, 10.0)
    assert (real_alpha(d2, inv, 6.0) - ref).abs().max() < 1e-6
    err = (real_alpha(d2, inv, 3.5) - ref).abs().max()
    assert 1e-6 < err < 1e-2


# ------------------------------------------------------------------ invariances

def per_atom_and_pooled(model: Crystalformer, z, pos, cell):
    graph = graph_of(z, pos, cell, model)
    with torch.no_grad():
        return model.encode(graph).numpy(), model(graph).item()


@pytest.fixture(scope="module")
def invariance_setup():
    torch.manual_seed(3)
    model = Crystalformer(CrystalformerConfig(n_layers=2, dim=32, n_heads=4, ff_dim=64,
                                              head_dim=32)).double().eval()
    cell = np.array([[3.9, 0.0, 0.0], [0.8, 3.6, 0.0], [0.5, -0.6, 4.2]])
    frac = np.array([[0.0, 0.0, 0.0], [0.52, 0.31, 0.47], [0.2, 0.7, 0.15]])
    z = [3, 26, 8]
    graph = graph_of(z, frac @ cell, cell, model)
    model.calibrate(graph)
    x, y = per_atom_and_pooled(model, z, frac @ cell, cell)
    return model, z, frac, cell, x, y


def supercell(z, frac, cell, reps):
    grid = np.stack(np.meshgrid(*[np.arange(r) for r in reps], indexing="ij"), -1)
    grid = grid.reshape(-1, 3)  # [n_cells, 3]
    new_frac = ((frac[None] + grid[:, None]) / np.array(reps)).reshape(-1, 3)
    return list(z) * len(grid), new_frac @ (cell * np.array(reps)[:, None]), \
        cell * np.array(reps)[:, None]


@pytest.mark.parametrize("reps", [(2, 1, 1), (2, 2, 2)])
def test_supercells_give_the_same_outputs(invariance_setup, reps):
    model, z, frac, cell, x, y = invariance_setup
    zs, pos, big = supercell(z, frac, cell, reps)
    xs, ys = per_atom_and_pooled(model, zs, pos, big)
    assert np.abs(xs - np.tile(x, (int(np.prod(reps)), 1))).max() < 1e-10
    assert abs(ys - y) < 1e-10


def transforms(frac, cell, rng):
    rot = random_rotation(rng)
    reflect = np.diag([1.0, -1.0, 1.0])
    moves = np.array([[1, 0, 0], [1, 1, 0], [0, -1, 1]])  # unimodular: the same lattice
    return {
        "origin shift": ((frac + [0.13, -0.4, 0.71]) @ cell, cell),
        "atoms moved by lattice vectors": ((frac + [[1, 0, -2], [0, 3, 1], [-1, -1, 0]])
                                           @ cell, cell),
        "lattice vectors moved": (frac @ cell, moves @ cell),
        "rotation": (frac @ cell @ rot.T, cell @ rot.T),
        "reflection": (frac @ cell @ reflect, cell @ reflect),
        "translation": (frac @ cell + [5.0, -2.0, 11.0], cell),
    }


def test_invariances(invariance_setup, rng):
    model, z, frac, cell, x, y = invariance_setup
    for name, (pos, new_cell) in transforms(frac, cell, rng).items():
        xs, ys = per_atom_and_pooled(model, z, pos, new_cell)
        assert np.abs(xs - x).max() < 1e-10, name
        assert abs(ys - y) < 1e-10, name
    perm = [2, 0, 1]
    xs, ys = per_atom_and_pooled(model, [z[p] for p in perm], (frac @ cell)[perm], cell)
    assert np.abs(xs - x[perm]).max() < 1e-10 and abs(ys - y) < 1e-10


# ------------------------------------------------------------------ sizes, batches, dtypes

def test_parameter_counts():
    model = Crystalformer()
    assert sum(p.numel() for p in model.parameters()) == 853_517
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 853_505
    assert sum(p.numel() for p in model.blocks[0].parameters()) == 206_083
    simple = Crystalformer(CrystalformerConfig(n_basis=0))
    assert sum(p.numel() for p in simple.blocks[0].parameters()) == 197_891
    assert MODELS["crystalformer"] is Crystalformer


def test_batch_equals_single_and_float32_close(skewed_graph, nacl):
    model = small_model()
    nacl_graph = to_graph(nacl, **model.config.graph_options, dtype=torch.float64)
    with torch.no_grad():
        batch = model(Batch.from_data_list([skewed_graph, nacl_graph]))
        single = torch.cat([model(skewed_graph), model(nacl_graph)])
        model32 = small_model().float()
        out32 = model32(Batch.from_data_list([
            to_graph(g, **model.config.graph_options) for g in (nacl,)]))
    assert torch.allclose(batch, single, rtol=0, atol=1e-13)
    assert out32.dtype == torch.float32
    assert abs(out32.double().item() - single[1].item()) < 1e-5


def test_gradients_reach_every_trainable_parameter(skewed_graph):
    model = small_model().train()
    model(Batch.from_data_list([skewed_graph, skewed_graph])).sum().backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_clear_errors(skewed_graph):
    model = small_model()
    with pytest.raises(ValueError, match="n_heads"):
        CrystalformerConfig(dim=30, n_heads=4)
    with pytest.raises(ValueError, match="path"):
        model(skewed_graph, "sparse")
    bad = skewed_graph.clone()
    bad.z = bad.z.clone()
    bad.z[0] = 110
    with pytest.raises(ValueError, match="Z = 1..98"):
        model(bad)
    no_edges = skewed_graph.clone()
    del no_edges.edge_index
    with pytest.raises(ValueError, match="graph_options"):
        model(no_edges)


def test_attention_weights_sum_to_one_per_query(skewed_graph):
    model = small_model()
    layers = model.attention_weights(skewed_graph)
    assert len(layers) == model.config.n_layers
    for layer in layers:
        sums = torch.zeros(skewed_graph.num_nodes, layer["weight"].size(1), dtype=torch.float64)
        sums.index_add_(0, skewed_graph.edge_index[1], layer["weight"])
        assert torch.allclose(sums, torch.ones_like(sums), atol=1e-12)
        assert (layer["sigma"] < model.config.sigma_max + 1e-12).all()
