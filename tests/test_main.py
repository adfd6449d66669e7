"""The command line: python -m companion models / predict (train: tests/train/test_loop.py)."""

from __future__ import annotations

import csv
import json

import pytest

from companion.__main__ import main
from companion.models.pretrained import CATALOGUE

EFORM = "cgcnn/formation-energy-per-atom"


def test_models_lists_every_catalogue_entry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name, entry in CATALOGUE.items():
        assert name in out and f"[{entry.unit}]" in out
    assert "Xie & J. C. Grossman" in out and "--checkpoint RUN" in out


@pytest.fixture
def cifs(tmp_path, nacl):
    d = tmp_path / "cifs"
    d.mkdir()
    nacl.to(filename=str(d / "nacl.cif"))
    nacl.copy().scale_lattice(nacl.volume * 1.2).to(filename=str(d / "nacl_big.cif"))
    return d


def test_predict_by_name_prints_a_table_and_writes_rows(cifs, tmp_path, capsys):
    assert main(["predict", "--model", EFORM, str(cifs / "*.cif"), "--quiet"]) == 0
    assert capsys.readouterr().out == ""  # --quiet: no table
    assert main(["predict", "--model", EFORM, str(cifs)]) == 0
    out = capsys.readouterr().out
    assert "formation energy per atom (eV/atom)" in out and out.count("NaCl") == 2
    assert main(["predict", "--model", EFORM, str(cifs), "--out", str(tmp_path / "p.csv"),
                 "--batch-size", "1"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "p.csv")))
    assert [r["source"] for r in rows] == [str(cifs / "nacl.cif"), str(cifs / "nacl_big.cif")]
    assert {r["unit"] for r in rows} == {"eV/atom"} and {r["model"] for r in rows} == {EFORM}
    assert f"2 of 2 structures predicted with {EFORM}" in capsys.readouterr().out
    assert main(["predict", "--model", EFORM, "--cif", str(cifs / "nacl.cif"), "--out",
                 str(tmp_path / "p.json")]) == 0
    [record] = json.loads((tmp_path / "p.json").read_text())
    assert float(rows[0]["prediction"]) == pytest.approx(record["prediction"], abs=1e-6)


def test_exit_status_says_whether_any_failed(cifs, tmp_path, capsys):
    bad = cifs / "bad.cif"
    bad.write_text("data_x\n_cell_length_a 3\nloop_\n_atom_site_label\n")
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", EFORM, str(cifs), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert f"error: {bad}: could not be read as a crystal structure" in captured.err
    assert "2 of 3 structures predicted" in captured.out and "Traceback" not in captured.err
    rows = {r["source"]: r for r in csv.DictReader(open(out))}
    assert rows[str(bad)]["prediction"] == "" and "could not be read" in rows[str(bad)]["error"]


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "cgcnn"], "architecture without trained weights"),
    (["--model", "nope"], "neither a model name nor an existing run folder"),
    (["--model", EFORM, "--out", "x.txt"], "must end in .csv or .json"),
    (["--model", EFORM, "--batch-size", "0"], "--batch-size must be >= 1"),
])
def test_bad_command_lines_exit_2_with_a_message(cifs, capsys, args, message):
    assert main(["predict", *args, str(cifs)]) == 2
    assert message in capsys.readouterr().err


def test_predict_needs_a_model_and_structures(capsys):
    assert main(["predict", "x.cif"]) == 2  # argparse: one of --model --checkpoint
    assert "--model" in capsys.readouterr().err
    assert main(["predict", "--model", EFORM]) == 2
    assert "no structures given" in capsys.readouterr().err


@pytest.mark.usefixtures("one_thread")
def test_predict_the_authors_kmvn_by_name(tmp_path, capsys):
    """mp-149 (Si) gives what the model called by hand gives; a molecule and a crystal
    with an isolated atom get rows with their reasons (exit status 1, no traceback)."""
    from ase import Atoms
    from ase.build import molecule
    from ase.io import write

    from tests.models.test_pretrained import KMVN, kmvn_example, kmvn_gamma_max_directly

    si = kmvn_example()
    write(tmp_path / "water.xyz", molecule("H2O"))
    write(tmp_path / "lonely.cif", Atoms("Si2O", positions=[[0, 0, 0], [2.3, 0, 0],
                                                           [5, 5, 5]], cell=[10, 10, 10],
                                         pbc=True))
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", KMVN, str(tmp_path / "water.xyz"),
                 str(tmp_path / "lonely.cif"), "--cif", str(si), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "highest phonon frequency at Gamma (THz)" in captured.out
    assert f"1 of 3 structures predicted with {KMVN}" in captured.out
    err = captured.err
    assert "Traceback" not in err and "no periodic cell" in err
    rows = {r["source"].split("/")[-1]: r for r in csv.DictReader(open(out))}
    assert rows["mp-149.cif"]["formula"] == "Si" and rows["mp-149.cif"]["unit"] == "THz"
    assert float(rows["mp-149.cif"]["prediction"]) == pytest.approx(
        kmvn_gamma_max_directly(si), abs=1e-9)
    assert rows["water.xyz"]["prediction"] == "" and "no periodic cell" in rows["water.xyz"][
        "error"]
    assert rows["lonely.cif"]["prediction"] == ""
    assert "without any neighbor within 4 Å: O (atom 2" in rows["lonely.cif"]["error"]
