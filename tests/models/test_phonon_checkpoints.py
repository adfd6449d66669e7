"""The phonon checkpoints shipped in data/checkpoints/ (trained on CHGNet phonons, not DFT, by
scripts/phonon_comparison.py) and the comparison record data/phonon_comparison.json."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from e3nn import o3
from torch_geometric.data import Batch

from companion.data import load
from companion.data.resolve import repo_data_dir
from companion.errors import DataError
from companion.graphs.virtual_nodes import kmvn_graph
from companion.models.kmvn import KMVN
from companion.models.pretrained import shipped_checkpoint
from companion.models.vgnna import VGNNA
from companion.nn.phonons import to_thz
from companion.train import load_for_inference, load_predictor

pytestmark = pytest.mark.usefixtures("one_thread")

FILES = {"kmvn_chgnet.pt": (KMVN, None), "vgnna_chgnet.pt": (VGNNA, "equivariant"),
         "vgnna_faithful_chgnet.pt": (VGNNA, "faithful")}


@pytest.fixture(scope="module")
def comparison():
    return json.loads((repo_data_dir() / "phonon_comparison.json").read_text())


@pytest.mark.parametrize("file", FILES)
def test_shipped_checkpoint_loads_as_trained(file, comparison):
    cls, attention = FILES[file]
    predictor = load_for_inference(shipped_checkpoint(file))
    model = predictor.model
    assert type(model) is cls and model.config.dtype == "float32"
    if attention:
        assert model.config.attention == attention
    ckpt = predictor.checkpoint
    assert "optimizer" not in ckpt and "CHGNet phonons, not DFT" in ckpt["note"]
    name = {"kmvn_chgnet.pt": "kmvn", "vgnna_chgnet.pt": "vgnna-equivariant",
            "vgnna_faithful_chgnet.pt": "vgnna-faithful"}[file]
    shipped = comparison["models"][name]["shipped"]
    assert shipped["file"] == f"data/checkpoints/{file}"
    assert f"seed {shipped['seed']}" in ckpt["note"]


def test_a_changed_file_is_refused(tmp_path, monkeypatch):
    import companion.data.resolve as resolve

    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "kmvn_chgnet.pt").write_bytes(b"not the shipped weights")
    monkeypatch.setattr(resolve, "repo_data_dir", lambda: tmp_path)
    with pytest.raises(DataError, match="sha256 differs"):
        shipped_checkpoint("kmvn_chgnet.pt")


@pytest.mark.parametrize("name", ["kmvn/chgnet-max-gamma-frequency",
                                  "vgnna/chgnet-max-gamma-frequency"])
def test_catalogue_entries_predict_the_gamma_maximum(name):
    si = load("mp_phonons", material_ids=["mp-149"])[0].structure
    predictor = load_predictor(name)
    assert predictor.unit == "THz" and predictor.model_name == name
    value = float(predictor.predict_structures([si])[0])
    with torch.no_grad():
        direct = float(to_thz(predictor.model(predictor.graph(si))[0][0].max()))
    assert value == pytest.approx(direct, rel=1e-6)
    assert 5 < value < 25  # Si: DFPT 15.3 THz at Gamma


def _rotation_change(model) -> float:
    """max |w(R crystal) - w(crystal)| in THz, float64 twin of the trained model."""
    twin = type(model)(dataclasses.replace(model.config, dtype="float64")).eval()
    twin.load_state_dict(model.state_dict())
    rec = load("mp_phonons", material_ids=["mp-1960"])[0]  # Li2O
    torch.manual_seed(3)
    rot = o3.rand_matrix(dtype=torch.float64).numpy()
    q = rec.labels["qpoints"][::10]
    with torch.no_grad():
        a = twin(Batch.from_data_list([kmvn_graph((rec.numbers, rec.positions, rec.cell),
                                                  qpoints=q)]))[0]
        b = twin(Batch.from_data_list([kmvn_graph((rec.numbers, rec.positions @ rot.T,
                                                   rec.cell @ rot.T), qpoints=q)]))[0]
    return float(to_thz((a - b).abs().max()))


def test_trained_equivariant_vgnna_is_invariant_and_the_faithful_one_is_not():
    """What notebook 06 shows: on the trained models, rotating the crystal leaves the
    equivariant VGNNA's bands unchanged (rounding) and changes the faithful one's."""
    equivariant = load_for_inference(shipped_checkpoint("vgnna_chgnet.pt")).model
    faithful = load_for_inference(shipped_checkpoint("vgnna_faithful_chgnet.pt")).model
    assert _rotation_change(equivariant) < 1e-8
    assert _rotation_change(faithful) > 1e-3


def test_comparison_record(comparison):
    models = comparison["models"]
    assert set(models) == {"kmvn", "vgnna-faithful", "vgnna-equivariant", "kmvn-finetuned",
                           "vgnna-finetuned"}
    for name in models:
        assert models[name]["seeds"] == [0, 1, 2]
    assert models["vgnna-faithful"]["n_params"] == 139_120
    assert models["kmvn"]["n_params"] == 123_208
    for run in comparison["runs"]:
        assert run["n_dfpt"] == 69 and "--data chgnet_phonons" in run["command"]
        assert np.isfinite(run["dfpt_band_loss"]) and run["dfpt_mae_thz"] > 0
    assert "not DFT" in comparison["data"]
