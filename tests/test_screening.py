"""Batched prediction from files: every format, one row per structure, failures as rows."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule
from ase.io import write

from companion.io import read_structure
from companion.screening import COLUMNS, format_table, predict_files, read_graphs, write_rows
from companion.train import load_predictor


@pytest.fixture(scope="module")
def predictor():
    return load_predictor("cgcnn/formation-energy-per-atom")


@pytest.fixture
def folder(tmp_path, nacl):
    """Two CIFs, a POSCAR, a broken CIF, an extended XYZ of 2 crystals and a molecule."""
    d = tmp_path / "structures"
    d.mkdir()
    nacl.to(filename=str(d / "a_nacl.cif"))
    nacl.copy().scale_lattice(nacl.volume * 1.1).to(filename=str(d / "b_nacl_big.cif"))
    nacl.to(filename=str(d / "POSCAR"), fmt="poscar")
    (d / "c_broken.cif").write_text("data_x\n_cell_length_a 3\nloop_\n_atom_site_label\n")
    write(d / "d_frames.extxyz", [bulk("Si", "diamond", a=5.43), bulk("Cu", "fcc", a=3.6)])
    write(d / "e_water.xyz", molecule("H2O"))
    (d / "notes.txt").write_text("not a structure")  # skipped in a folder
    return d


def test_rows_for_every_structure_and_the_reason_for_failures(predictor, folder, nacl):
    rows = predict_files(predictor, [folder, folder / "missing*.cif"], batch_size=2,
                         workers=0)
    by = {(r.source.split("/")[-1], r.frame): r for r in rows}
    assert set(by) == {("POSCAR", 0), ("a_nacl.cif", 0), ("b_nacl_big.cif", 0),
                       ("c_broken.cif", 0), ("d_frames.extxyz", 0), ("d_frames.extxyz", 1),
                       ("e_water.xyz", 0), ("missing*.cif", 0)}
    assert "could not be read as a crystal structure" in by["c_broken.cif", 0].error
    assert "no periodic cell" in by["e_water.xyz", 0].error
    assert by["e_water.xyz", 0].formula == "H2O" and by["e_water.xyz", 0].n_atoms == 3
    assert "no such file" in by["missing*.cif", 0].error
    good = [r for r in rows if not r.error]
    assert len(good) == 5 and all(np.isfinite(r.prediction) for r in good)
    assert all(r.unit == "eV/atom" and r.model == predictor.model_name for r in rows)
    assert [by["d_frames.extxyz", i].formula for i in (0, 1)] == ["Si", "Cu"]
    assert by["a_nacl.cif", 0].prediction == by["POSCAR", 0].prediction
    assert by["a_nacl.cif", 0].n_atoms == 8 and by["a_nacl.cif", 0].formula == "NaCl"
    # batched = one at a time (float32 rounding aside)
    alone = predictor.predict_structures([read_structure(folder / "b_nacl_big.cif")])[0]
    assert by["b_nacl_big.cif", 0].prediction == pytest.approx(alone, abs=1e-5)


def test_worker_processes_give_the_same_rows(predictor, folder):
    inline = predict_files(predictor, [folder], batch_size=4, workers=0)
    worker = predict_files(predictor, [folder], batch_size=4, workers=1)
    assert [(r.source, r.frame, r.error) for r in inline] == [
        (r.source, r.frame, r.error) for r in worker]
    np.testing.assert_array_equal([r.prediction for r in inline],
                                  [r.prediction for r in worker])


def test_read_graphs_never_raises(tmp_path):
    path = tmp_path / "x.cif"
    path.write_text("garbage")
    [(frame, formula, n_atoms, graph, error)] = read_graphs(path, {"policy": "cgcnn"})
    assert graph is None and "x.cif" in error and n_atoms == 0


def test_csv_and_json_outputs(predictor, folder, tmp_path):
    rows = predict_files(predictor, [folder / "*.cif"], workers=0)
    write_rows(rows, tmp_path / "out.csv")
    with open(tmp_path / "out.csv") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == COLUMNS and len(table) == 3
    assert table[2]["prediction"] == "" and table[2]["error"]
    assert float(table[0]["prediction"]) == pytest.approx(rows[0].prediction)
    write_rows(rows, tmp_path / "out.json")
    records = json.loads((tmp_path / "out.json").read_text())
    assert records[2]["prediction"] is None and records[0]["formula"] == "NaCl"
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        write_rows(rows, tmp_path / "out.txt")
    text = format_table(rows, predictor.target)
    assert "formation energy per atom (eV/atom)" in text and "c_broken" not in text


def test_a_structure_the_model_refuses_fails_alone(tmp_path):
    """A potential that knows H and O only: the NaCl of a batch fails with the model's
    reason, the water molecules of the same batch are predicted."""
    from companion.models.gatv2 import GATv2Config, GATv2Potential
    from companion.models.registry import graph_kwargs
    from companion.train import Predictor

    torch.manual_seed(0)
    model = GATv2Potential(GATv2Config(species=(1, 8), embed_dim=8, n_layers=1, heads=1,
                                       hidden=8))
    predictor = Predictor(model, graph_kwargs("gatv2"), "energy", "eV", "tiny-potential")
    write(tmp_path / "a.xyz", [molecule("H2O"), molecule("H2O2")])
    bulk("NaCl", "rocksalt", a=5.64).write(tmp_path / "b.cif")
    rows = predict_files(predictor, [tmp_path], batch_size=8, workers=0)
    assert [r.formula for r in rows] == ["H2O", "H2O2", "NaCl"]
    assert all(np.isfinite(r.prediction) for r in rows[:2]) and not rows[0].error
    assert np.isnan(rows[2].prediction) and "Na" in rows[2].error


@pytest.mark.usefixtures("one_thread")
def test_kmvn_graphs_are_built_in_worker_processes(tmp_path):
    """The k-MVN entry's graphs come from the reader processes (its own builder, not
    to_graph) and give the numbers of the graphs built here, batched or alone."""
    from tests.models.test_pretrained import KMVN, kmvn_example

    kmvn = load_predictor(KMVN)
    files = [kmvn_example(m) for m in ("mp-149", "mp-30", "mp-2534")]  # Si, Cu, GaAs
    inline = predict_files(kmvn, files, batch_size=2, workers=0)
    worker = predict_files(kmvn, files, batch_size=2, workers=1)
    assert [r.formula for r in worker] == ["Si", "Cu", "GaAs"] and not any(r.error
                                                                           for r in worker)
    np.testing.assert_array_equal([r.prediction for r in inline],
                                  [r.prediction for r in worker])
    alone = [kmvn.predict_structures([f])[0] for f in files]
    np.testing.assert_allclose([r.prediction for r in worker], alone, rtol=0, atol=1e-9)
