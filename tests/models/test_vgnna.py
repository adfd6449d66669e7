"""VGNNA: parameter counts as published, equivariance of our variant, the published variant's
violation, identity at initialization, batching.

Attention blocks start as the identity (``W_o = W_g = 0``) in the equivariant variant, which
would make the symmetry tests blind, so every test that checks symmetry first draws all
attention parameters at random (:func:`_randomize`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from e3nn import o3
from e3nn.util.test import assert_equivariant, equivariance_error
from torch_geometric.data import Batch

from companion.data.sets.phonon_prediction import load_kmvn_examples
from companion.graphs.virtual_nodes import kmvn_graph
from companion.models.kmvn import KMVN, KMVNConfig, pretrained_kmvn
from companion.models.registry import build_model
from companion.models.vgnna import VGNNA, VGNNAConfig

pytestmark = pytest.mark.usefixtures("one_thread")

Q = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.25, 0.25, 0.0], [0.1, 0.2, 0.3]])


def _n(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _randomize(model: VGNNA, seed: int = 0) -> VGNNA:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.attention.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return model.eval()


@pytest.fixture(scope="module")
def structures():
    return {r.id: r.structure for r in load_kmvn_examples().records}


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {name: _randomize(VGNNA(VGNNAConfig(attention=name, mode=mode)))
            for name, mode in (("equivariant", "faithful"), ("faithful", "faithful"))} | {
        "equivariant-physical": _randomize(VGNNA(VGNNAConfig(mode="physical")))}


def test_parameter_counts():
    """The seed's numbers: 123,208 for k-MVN, 139,120 with its attention block."""
    assert _n(KMVN()) == 123_208
    assert _n(VGNNA(VGNNAConfig(attention="faithful"))) == 139_120
    equivariant = VGNNA()
    assert _n(equivariant) == 124_916
    assert _n(equivariant.attention) == 1_708


def test_registered():
    model = build_model("vgnna", {"attention": "faithful"})
    assert isinstance(model, VGNNA) and model.config.attention == "faithful"
    with pytest.raises(ValueError, match="attention='flat'"):
        VGNNAConfig(attention="flat")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_layers >= 2"):
        VGNNAConfig(n_layers=1)


def _equivariance_error(model, structure) -> float:
    g = kmvn_graph(structure)

    def f(pos, cell):
        h = g.clone()
        h.pos, h.cell = pos, cell.reshape(1, 3, 3)
        return model.node_irreps(h)

    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        errors = equivariance_error(
            f, args_in=[g.pos, g.cell[0]], irreps_in=[o3.Irreps("1o")] * 2,
            irreps_out=[o3.Irreps("2x0e+2x1e+2x2e")])
    finally:
        torch.set_default_dtype(before)
    return max(float(e.max()) for e in errors.values())


def test_equivariant_variant_is_equivariant(models, structures):
    """O(3) equivariance of the virtual-node output with random attention weights, 1e-9."""
    assert _equivariance_error(models["equivariant"], structures["mp-30"]) < 1e-9


def test_faithful_variant_is_not_equivariant(models, structures):
    """The published block breaks equivariance: e3nn's ``assert_equivariant`` fails, by
    errors of order 1e-2 (LayerNorm and biases act on l = 1, 2 components)."""
    assert _equivariance_error(models["faithful"], structures["mp-30"]) > 1e-3
    g = kmvn_graph(structures["mp-30"])

    def f(pos, cell):
        h = g.clone()
        h.pos, h.cell = pos, cell.reshape(1, 3, 3)
        return models["faithful"].node_irreps(h)

    with pytest.raises(AssertionError, match="equivariance error"):
        assert_equivariant(f, args_in=[g.pos.double(), g.cell[0].double()],
                           irreps_in=[o3.Irreps("1o")] * 2,
                           irreps_out=[o3.Irreps("2x0e+2x1e+2x2e")], tolerance=1e-9)


def _bands(model, structure) -> np.ndarray:
    with torch.no_grad():
        return model(Batch.from_data_list([kmvn_graph(structure, qpoints=Q)]))[0].numpy()


@pytest.mark.parametrize("name", ["equivariant", "equivariant-physical"])
def test_frequencies_invariant(name, models, structures):
    """Rotation, inversion, translation (wrapped in physical mode) and permutation leave the
    frequencies unchanged, 1e-8."""
    model = models[name]
    s = structures["mp-7577"]
    z, pos, cell = s.atomic_numbers, s.cart_coords, s.lattice.matrix
    z = np.asarray(z)
    base = _bands(model, (z, pos, cell))
    torch.manual_seed(1)
    rot = o3.rand_matrix(dtype=torch.float64).numpy()
    frac = pos @ np.linalg.inv(cell)
    t = np.array([0.31, 0.62, 0.13])
    shifted = ((frac + t) % 1.0) @ cell if "physical" in name else (frac + t) @ cell
    perm = np.random.default_rng(0).permutation(len(z))
    for label, v in {"rotation": (z, pos @ rot.T, cell @ rot.T), "inversion": (z, -pos, -cell),
                     "translation": (z, shifted, cell),
                     "permutation": (z[perm], pos[perm], cell)}.items():
        np.testing.assert_allclose(_bands(model, v), base, rtol=0, atol=1e-8, err_msg=label)


def test_faithful_variant_changes_frequencies_under_rotation(models, structures):
    """What the violation means for a user: the predicted bands of a rotated crystal differ."""
    s = structures["mp-7577"]
    z, pos, cell = np.asarray(s.atomic_numbers), s.cart_coords, s.lattice.matrix
    torch.manual_seed(1)
    rot = o3.rand_matrix(dtype=torch.float64).numpy()
    model = models["faithful"]
    diff = np.abs(_bands(model, (z, pos @ rot.T, cell @ rot.T)) - _bands(model, (z, pos, cell)))
    assert diff.max() > 1e-4


@pytest.mark.parametrize("name", ["equivariant", "faithful"])
def test_batch_equals_one_by_one(name, models, structures):
    """A batch of three materials gives each material's own bands (the faithful softmax runs
    over one material's messages, as the seed's batch size of 1 does)."""
    model = models[name]
    graphs = [kmvn_graph(structures[i], qpoints=Q) for i in ("mp-30", "mp-149", "mp-2534")]
    with torch.no_grad():
        together = model(Batch.from_data_list(graphs))
        alone = [model(Batch.from_data_list([g]))[0] for g in graphs]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-10)


def test_starts_as_the_kmvn_it_extends(structures):
    """A fresh equivariant block is the identity: with the authors' k-MVN weights loaded,
    VGNNA predicts exactly what k-MVN predicts (and can be fine-tuned from there)."""
    kmvn = pretrained_kmvn()
    model = VGNNA().eval()
    model.load_kmvn_state_dict(kmvn.state_dict())
    g = Batch.from_data_list([kmvn_graph(structures["mp-2534"], qpoints=Q)])
    with torch.no_grad():
        assert torch.equal(model(g)[0], kmvn(g)[0])
    with pytest.raises(KeyError, match="not a k-MVN state dict"):
        model.load_kmvn_state_dict({"embed_x.weight": torch.zeros(3)})


def test_float32_and_gradients(structures):
    """float32 model, one backward pass: every attention parameter gets a finite gradient."""
    torch.manual_seed(0)
    model = _randomize(VGNNA(VGNNAConfig(dtype="float32"))).train()
    g = Batch.from_data_list([kmvn_graph(structures["mp-30"], qpoints=Q, dtype=torch.float32)])
    out = model(g)[0]
    assert out.dtype == torch.float32
    out.sum().backward()
    grads = [p.grad for p in model.attention.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert any(float(gr.abs().max()) > 0 for gr in grads)


def test_config_round_trip():
    config = VGNNAConfig(attention="faithful", heads=4)
    assert isinstance(config, KMVNConfig) and config.graph_options == {"cutoff": 4.0}
