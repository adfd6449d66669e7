"""File-format parsers on small files written here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from companion.data.parsers import (
    isolated_atom_energies,
    lattice_from_parameters,
    parse_p1_cif,
    read_csv_rows,
    read_extxyz,
    read_gro_topology,
    read_neuralil_json,
    read_phonon_document,
    structure_dict_arrays,
)
from companion.errors import DataError

XYZ = """2
Properties=species:S:1:pos:R:3:forces:R:3 config_type=toy energy=-1.5 pbc="F F F"
H 0.0 0.0 0.0 0.1 0.2 0.3
H 0.0 0.0 0.74 -0.1 -0.2 -0.3
1
Lattice="3.0 0.0 0.0 0.0 3.0 0.0 0.0 0.0 3.0" Properties=species:S:1:pos:R:3 energy=-2.0 pbc="T T T"
O 0.5 0.5 0.5
"""


def test_read_extxyz(tmp_path):
    (tmp_path / "a.xyz").write_text(XYZ)
    mol, box = read_extxyz(tmp_path / "a.xyz", "toy/x")
    assert (mol.id, box.id) == ("toy/x:0", "toy/x:1")
    assert not mol.pbc and mol.targets == {"energy": -1.5} and mol.info == {"config_type": "toy"}
    np.testing.assert_array_equal(mol.labels["forces"][1], [-0.1, -0.2, -0.3])
    np.testing.assert_array_equal(mol.cell, np.zeros((3, 3)))
    assert box.pbc and "forces" not in box.labels
    np.testing.assert_array_equal(box.cell, np.eye(3) * 3)
    with pytest.raises(DataError, match="one-atom"):
        isolated_atom_energies(tmp_path / "a.xyz")
    (tmp_path / "iso.xyz").write_text('1\nProperties=species:S:1:pos:R:3 energy=-2.0 '
                                      'pbc="F F F"\nO 0.0 0.0 0.0\n')
    assert isolated_atom_energies(tmp_path / "iso.xyz") == {8: -2.0}


def _structure_dict(occu: float = 1.0) -> dict:
    return {"lattice": {"matrix": [[2.0, 0, 0], [0, 3.0, 0], [0, 0, 4.0]]},
            "sites": [{"species": [{"element": "Na", "occu": occu}], "abc": [0.5, 0.5, 0.5]}]}


def test_structure_dict_arrays():
    z, pos, cell = structure_dict_arrays(_structure_dict(), "toy")
    assert z.tolist() == [11] and pos.tolist() == [[1.0, 1.5, 2.0]]
    z2, pos2, _ = structure_dict_arrays(repr(_structure_dict()), "toy")  # literal text
    np.testing.assert_array_equal(pos2, pos)
    with pytest.raises(DataError, match="toy: disordered site"):
        structure_dict_arrays(_structure_dict(0.5), "toy")
    with pytest.raises(ValueError):
        structure_dict_arrays("__import__('os')", "toy")  # never eval


def test_gro_and_neuralil_json(tmp_path):
    (tmp_path / "t.gro").write_text("title\n3\n    1EA      N1    1   0.1   0.2   0.3\n"
                                    "    1EA      H2    2   0.1   0.2   0.3\n"
                                    "    2NO3R    O3    3   0.1   0.2   0.3\n   1.0 1.0 1.0\n")
    top = read_gro_topology(tmp_path / "t.gro")
    assert top["residue_id"].tolist() == [1, 1, 2] and top["element"].tolist() == ["N", "H", "O"]
    assert top["residue_name"].tolist() == ["EA", "EA", "NO3R"]
    conf = {"Energy": -3.0, "Positions": [[0, 0, 0]], "Forces": [[1, 2, 3]],
            "Cell-Size": [5, 5, 5], "Charges": [0.0]}
    (tmp_path / "c.json").write_text(json.dumps(conf) + "\n\n" + json.dumps(conf) + "\n")
    confs = list(read_neuralil_json(tmp_path / "c.json"))
    assert [c["line"] for c in confs] == [1, 3] and confs[0]["natoms"] == 1
    assert confs[0]["energy"] == -3.0 and confs[0]["forces"].tolist() == [[1.0, 2.0, 3.0]]
    assert confs[0]["box"].tolist() == [5.0, 5.0, 5.0] and confs[0]["net_charge"] == 0.0


def test_phonon_document():
    doc = {"phonon_bandstructure": {
        "structure": _structure_dict(), "qpoints": [[0, 0, 0], [0.5, 0, 0]],
        "bands": [[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]],  # [3 n, n_q]
        "lattice_rec": {"matrix": np.eye(3).tolist()}, "labels_dict": {"\\Gamma": [0, 0, 0]},
        "eigendisplacements": {"real": np.ones((3, 2, 1, 3)).tolist(),
                               "imag": np.zeros((3, 2, 1, 3)).tolist()}},
        "phonon_dos": {"frequencies": [0.0, 1.0], "densities": [0.0, 3.0]}}
    out = read_phonon_document(doc, "toy", eigendisplacements=True)
    assert out["labels"]["frequencies"].tolist() == [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]
    assert out["qpoint_labels"] == ["\\Gamma", ""] and out["has_nac"] is False
    assert out["labels"]["eigendisplacements"].shape == (2, 3, 1, 3)
    doc["phonon_bandstructure"]["bands"] = [[0.0, 1.0]]
    with pytest.raises(DataError, match="toy: bands of shape"):
        read_phonon_document(doc, "toy")


CIF = """data_X
_symmetry_space_group_name_H-M   'P 1'
_cell_length_a   4.0
_cell_length_b   4.0
_cell_length_c   4.0(2)
_cell_angle_alpha   90.0
_cell_angle_beta   90.0
_cell_angle_gamma   90.0
loop_
 _atom_site_type_symbol
 _atom_site_label
 _atom_site_fract_x
 _atom_site_fract_y
 _atom_site_fract_z
 _atom_site_occupancy
  Sr2+  Sr0  0.0  0.0  0.0  1
  Ti  Ti1  0.5  0.5  0.5  1
"""


def test_p1_cif_and_lattice():
    z, frac, cell = parse_p1_cif(CIF)
    assert z.tolist() == [38, 22] and frac[1].tolist() == [0.5, 0.5, 0.5]
    np.testing.assert_allclose(cell, np.eye(3) * 4.0, atol=1e-12)
    with pytest.raises(DataError, match="only P 1"):
        parse_p1_cif(CIF.replace("'P 1'", "'P m -3 m'"))
    with pytest.raises(DataError, match="partial occupancy"):
        parse_p1_cif(CIF.replace("0.5  1\n", "0.5  0.5\n"))
    with pytest.raises(DataError, match="missing"):
        parse_p1_cif(CIF.replace("_cell_length_b   4.0\n", ""))
    from pymatgen.core import Lattice

    params = (3.1, 4.2, 5.3, 80.0, 95.0, 110.0)
    np.testing.assert_allclose(lattice_from_parameters(*params),
                               Lattice.from_parameters(*params).matrix, atol=1e-12)


def test_csv_rows_with_multiline_fields(tmp_path):
    (tmp_path / "a.csv").write_text('id,cif\n1,"line one\nline two"\n2,x\n')
    assert read_csv_rows(tmp_path / "a.csv") == [{"id": "1", "cif": "line one\nline two"},
                                                 {"id": "2", "cif": "x"}]
