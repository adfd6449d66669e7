"""PhononBandTask: fit() trains k-MVN on phonon bands without a change to the loop; metrics
are the authors' BandLoss and the band MAE in THz."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from companion.data import load
from companion.models.kmvn import KMVN, KMVNConfig
from companion.models.registry import MODELS, build_model
from companion.nn.phonons import band_loss, to_thz
from companion.train import TrainConfig, fit
from companion.train.tasks import TASKS, PhononBandTask, task_for
from companion.train.tasks.phonon_bands import band_graphs, true_bands

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def graphs():
    ds = load("mp_phonons", material_ids=["mp-149", "mp-1960"])  # Si (2 atoms), Li2O (3)
    gs = band_graphs(ds.records, dtype=torch.float32)
    for g in gs:  # every 8th q-point keeps the test fast
        q = g.qpoints[::8]
        b = g.bands.reshape(len(g.qpoints), -1)[::8]
        g.qpoints, g.n_qpoints, g.bands = q, torch.tensor([len(q)]), b.reshape(-1)
    return gs


def test_registered():
    assert MODELS["kmvn"] is KMVN and TASKS["phonon_bands"] is PhononBandTask
    assert isinstance(task_for([], TrainConfig(task="phonon_bands")), PhononBandTask)
    assert isinstance(build_model("kmvn", {"mul": 2}), KMVN)


def test_true_bands_split_per_material(graphs):
    batch = Batch.from_data_list(graphs)
    bands = true_bands(batch)
    assert [b.shape for b in bands] == [(len(g.qpoints), 3 * g.num_nodes) for g in graphs]
    assert torch.equal(bands[1].reshape(-1), graphs[1].bands)


def test_fit_trains_with_band_loss(graphs):
    model = KMVN(KMVNConfig(mul=2, radial_neurons=16, embed_dim=8, dtype="float32"))
    task = PhononBandTask(TrainConfig())
    before = task.evaluate(model, graphs)
    cfg = TrainConfig(epochs=4, batch_size=2, lr=0.02, schedule="none", progress=False,
                      task="phonon_bands", device="cpu")
    history = fit(model, graphs, graphs, cfg, task=task)
    after = task.evaluate(model, graphs)
    assert len(history) == 4 and all(math.isfinite(v) for v in history["val_mae"])
    assert "val_band_loss" in history.epochs[0]
    assert after["band_loss"] < before["band_loss"]
    # the metrics are the mean per-material BandLoss and the entry-weighted MAE (THz)
    with torch.no_grad():
        pred = model(Batch.from_data_list(graphs))
    truth = true_bands(Batch.from_data_list(graphs))
    bl = np.mean([float(band_loss(to_thz(p), t)) for p, t in zip(pred, truth, strict=True)])
    assert after["band_loss"] == pytest.approx(bl, rel=1e-5)
    rows = task.prediction_table(model, graphs)[1]
    assert [r[0] for r in rows] == [g.material_id for g in graphs]


def test_task_read_off_the_data_and_the_model(graphs):
    """No --task needed: phonon records (or band graphs) and k-MVN/VGNNA say which task."""
    from companion.models.vgnna import VGNNA
    from companion.train.tasks import task_of

    assert isinstance(task_for(load("mp_phonons", material_ids=["mp-149"])), PhononBandTask)
    assert isinstance(task_for(graphs), PhononBandTask)
    assert isinstance(task_of(VGNNA()), PhononBandTask)
    assert not isinstance(task_for(load("mp_eform")), PhononBandTask)


def test_vgnna_fine_tunes_from_the_authors_kmvn(graphs, tmp_path):
    """--init: VGNNA starts from the authors' k-MVN (same bands before training), trains,
    and its run predicts the highest Gamma frequency (THz) like the catalogue's k-MVN."""
    from companion.models.vgnna import VGNNA, VGNNAConfig
    from companion.train.checkpoint import CheckpointError, export_weights
    from companion.train.inference import load_for_inference, load_predictor
    from companion.train.run import initial_weights

    authors = load_predictor("kmvn/max-gamma-frequency").model
    model = VGNNA(VGNNAConfig(dtype="float32"))
    initial_weights(model, "kmvn/max-gamma-frequency")
    batch = Batch.from_data_list(graphs)
    with torch.no_grad():
        np.testing.assert_allclose(model(batch)[0].double().numpy(),
                                   authors(batch)[0].numpy(), rtol=0, atol=1e-5)
    cfg = TrainConfig(epochs=1, batch_size=2, lr=1e-3, progress=False, device="cpu",
                      checkpoint_dir=str(tmp_path / "run"))
    fit(model, graphs, graphs, cfg)
    assert float(model.attention.out.weight.detach().abs().max()) > 0  # attention learnt
    shipped = export_weights(tmp_path / "run", tmp_path / "vgnna.pt", note="test")
    assert shipped.stat().st_size < (tmp_path / "run" / "checkpoint.pt").stat().st_size
    predictor = load_for_inference(shipped)
    assert predictor.unit == "THz" and isinstance(predictor.model, VGNNA)
    si = load("mp_phonons", material_ids=["mp-149"])[0].structure
    value = float(predictor.predict_structures([si])[0])
    with torch.no_grad():
        direct = predictor.model(predictor.graph(si))[0][0].max()
    assert value == pytest.approx(float(to_thz(direct)), rel=1e-6) and 10 < value < 20
    with pytest.raises(CheckpointError, match="do not fit"):
        initial_weights(build_model("kmvn", {"mul": 2}), "kmvn/max-gamma-frequency")


def test_every_kth_qpoint_keeps_matching_bands(graphs):
    from companion.train.tasks.phonon_bands import every_kth_qpoint

    batch = Batch.from_data_list(graphs)
    full = true_bands(batch)
    every_kth_qpoint(batch, 3, offset=1)
    kept = true_bands(batch)
    for f, k, g in zip(full, kept, graphs, strict=True):
        torch.testing.assert_close(k, f[1::3])
        assert k.shape[1] == 3 * g.num_nodes
    assert torch.equal(batch.qpoints, torch.cat([g.qpoints[1::3] for g in graphs]))


def test_training_on_a_qpoint_stride(graphs):
    """band_qpoint_stride: training steps see every 3rd q-point, validation all of them."""
    model = KMVN(KMVNConfig(mul=2, radial_neurons=16, embed_dim=8, dtype="float32"))
    cfg = TrainConfig(epochs=2, batch_size=2, lr=0.02, schedule="none", progress=False,
                      device="cpu", band_qpoint_stride=3)
    task = PhononBandTask(cfg)
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append(
        (m.training, [len(o) for o in out])))
    fit(model, graphs, graphs, cfg, task=task)
    full = [len(g.qpoints) for g in graphs]
    assert any(training and n != full for training, n in seen)
    assert all(n == full for training, n in seen if not training)
    with pytest.raises(ValueError, match="band_qpoint_stride"):
        TrainConfig(band_qpoint_stride=0)
