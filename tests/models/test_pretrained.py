"""The catalogue of models that predict without training, and load_predictor by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.models.cgcnn import PRETRAINED
from companion.models.pretrained import CATALOGUE, Pretrained, checkpoint_entry, names
from companion.train import CheckpointError, load_predictor


def test_the_eight_cgcnn_models_are_listed_with_unit_data_and_citation():
    cgcnn = [n for n in names() if n.startswith("cgcnn/")]
    assert cgcnn == [f"cgcnn/{key}" for key in PRETRAINED]
    for name in cgcnn:
        entry = CATALOGUE[name]
        assert isinstance(entry, Pretrained) and callable(entry.load)
        assert entry.unit and entry.target and "Materials Project" in entry.data
        assert "Xie" in entry.citation and entry.periodic
    assert CATALOGUE["cgcnn/band-gap"].unit == "eV"
    assert CATALOGUE["cgcnn/semi-metal-classification"].unit == "probability"


def test_predictor_by_name_predicts_in_the_entry_unit(nacl):
    predictor = load_predictor("cgcnn/formation-energy-per-atom")
    assert predictor.unit == "eV/atom" and predictor.model_name == "cgcnn/formation-energy-per-atom"
    assert predictor.graph_kwargs == {"line_graph": False, "policy": "cgcnn", "cutoff": 8.0,
                                      "max_neighbors": 12}
    e_form = predictor.predict_structures([nacl])[0]
    assert -2.6 < e_form < -1.6  # rock salt NaCl: about -2.1 eV/atom in the Materials Project


def test_the_classifier_gives_one_probability_per_structure(nacl):
    predictor = load_predictor("cgcnn/semi-metal-classification")
    graphs = [predictor.graph(nacl)] * 3
    p = predictor.predict_graphs(graphs, batch_size=2)
    assert p.shape == (3,) and np.all((0 <= p) & (p <= 1))
    with torch.no_grad():
        model_p = predictor.model.predict(predictor.graph(nacl))[0, 1]
    assert p[0] == pytest.approx(float(model_p), abs=1e-6)
    assert p[0] < 0.5  # NaCl is an insulator


def test_unknown_names_are_explained(tmp_path):
    with pytest.raises(CheckpointError, match="architecture without trained weights"):
        load_predictor("cgcnn")
    with pytest.raises(CheckpointError, match="cgcnn/formation-energy-per-atom"):
        load_predictor("cgcnn/formation-energy")  # a typo: the names are listed


def test_a_checkpoint_entry_is_one_line(tmp_path, monkeypatch):
    entry = checkpoint_entry("mine/eform", tmp_path / "run", "formation energy", "eV/atom",
                             "mp_eform")
    assert entry.checkpoint == tmp_path / "run" and entry.periodic and entry.load is None
    monkeypatch.setitem(CATALOGUE, entry.name, entry)
    with pytest.raises(CheckpointError, match="no usable checkpoint"):
        load_predictor("mine/eform")
