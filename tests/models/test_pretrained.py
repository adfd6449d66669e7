"""The catalogue of models that predict without training, and load_predictor by name."""

from __future__ import annotations

import functools

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


# --------------------------------------------------------------- the authors' k-MVN

KMVN = "kmvn/max-gamma-frequency"


def kmvn_example(mp_id: str = "mp-149"):
    """A cif of the authors' ``cif_folder`` (mp-149: 8-atom conventional Si), its path."""
    from companion.data.resolve import resolve
    from companion.data.sets.phonon_prediction import ENTRY

    return resolve(ENTRY, f"cif_folder/{mp_id}.cif")


@functools.cache
def kmvn_gamma_max_directly(path) -> float:
    """The highest frequency at Gamma (THz) from the authors' model called by hand."""
    from torch_geometric.data import Batch

    from companion.graphs.virtual_nodes import kmvn_graph
    from companion.io import read_structure
    from companion.models.kmvn import pretrained_kmvn
    from companion.nn.phonons import to_thz

    graph = kmvn_graph(read_structure(path), qpoints=np.zeros((1, 3)))
    with torch.no_grad():
        [bands] = pretrained_kmvn().bands(Batch.from_data_list([graph]))  # [1, 3N]
    return float(to_thz(bands[0]).max())


def test_the_kmvn_entry_says_what_it_predicts_and_whom_to_cite():
    entry = CATALOGUE[KMVN]
    assert entry.unit == "THz" and "Gamma" in entry.target and entry.periodic
    assert "Okabe" in entry.citation and "RyotaroOKabe/phonon_prediction" in entry.citation
    assert "1,365" in entry.data and "Petretto" in entry.data
    assert callable(entry.graph) and callable(entry.from_arrays)


@pytest.mark.usefixtures("one_thread")
def test_kmvn_by_name_gives_the_direct_call_at_gamma():
    path = kmvn_example()
    predictor = load_predictor(KMVN)
    assert predictor.model_name == KMVN and predictor.graph_kwargs == {"cutoff": 4.0}
    [nu_max] = predictor.predict_structures([path])
    assert nu_max == pytest.approx(kmvn_gamma_max_directly(path), abs=1e-9)
    assert 13.0 < nu_max < 17.0  # Si: the optical mode at Gamma is about 15.5 THz (DFPT)


def test_kmvn_refuses_an_atom_without_neighbors():
    from ase import Atoms

    from companion.errors import StructureError
    from companion.models.pretrained import kmvn_gamma_arrays

    # a Si dimer (2.3 Å) and an O atom 7.6 Å from everything in a 10 Å box
    atoms = Atoms("Si2O", positions=[[0, 0, 0], [2.3, 0, 0], [5, 5, 5]], cell=np.eye(3) * 10,
                  pbc=True)
    with pytest.raises(StructureError, match=r"without any neighbor within 4 Å: O \(atom 2, "
                       r"nearest neighbor at 7\.57 Å\)"):
        kmvn_gamma_arrays(atoms)
    assert kmvn_gamma_arrays(atoms[:2])["z"].tolist() == [14, 14]  # the dimer alone is fine


def test_kmvn_is_listed_without_its_weights_and_says_what_is_missing(tmp_path, monkeypatch,
                                                                     capsys):
    from companion.__main__ import main
    from companion.errors import DataError

    monkeypatch.setenv("COMPANION_DATA_DIRS", str(tmp_path))
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COMPANION_OFFLINE", "1")
    assert main(["models"]) == 0 and KMVN in capsys.readouterr().out
    with pytest.raises(DataError, match="COMPANION_DATA_DIRS"):
        load_predictor(KMVN)
