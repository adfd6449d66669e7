"""Bad input gets a clear StructureError that names the problem and the fix."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from pymatgen.core import DummySpecies, Lattice, Structure

from companion.errors import StructureError
from companion.graphs import atom_features, neighbor_list, to_graph
from companion.io import expand_inputs, read_frames, read_p1_cif, read_structure

GOOD_CIF = """data_NaCl
_symmetry_space_group_name_H-M 'P 1'
_cell_length_a 5.64
_cell_length_b 5.64
_cell_length_c 5.64
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_Int_Tables_number 1
loop_
 _symmetry_equiv_pos_site_id
 _symmetry_equiv_pos_as_xyz
  1  'x, y, z'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
{sites}
"""


def cif(tmp_path, sites: str, name: str = "x.cif"):
    path = tmp_path / name
    path.write_text(GOOD_CIF.format(sites=sites))
    return path


def test_good_cif_reads(tmp_path):
    s = read_structure(cif(tmp_path, "Na1 Na 0 0 0 1\nCl1 Cl 0.5 0.5 0.5 1"))
    assert s.composition.reduced_formula == "NaCl"


def test_malformed_cif_names_the_file(tmp_path):
    path = tmp_path / "broken.cif"
    path.write_text("data_x\n_cell_length_a 3\nloop_\n_atom_site_label\nNa1\n")
    with pytest.raises(StructureError, match=r"broken\.cif.*could not be read"):
        read_structure(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(StructureError, match="no such file"):
        read_structure(tmp_path / "nope.cif")
    (tmp_path / "empty.cif").write_text("")
    with pytest.raises(StructureError, match="empty"):
        read_structure(tmp_path / "empty.cif")


def test_disordered_site_is_refused(tmp_path):
    path = cif(tmp_path, "Na1 Na 0 0 0 0.5\nK1 K 0 0 0 0.5\nCl1 Cl 0.5 0.5 0.5 1")
    with pytest.raises(StructureError, match=r"disordered.*OrderDisorderedStructure"):
        read_structure(path)
    s = Structure(Lattice.cubic(4), [{"Na": 0.5, "K": 0.5}, "Cl"], [[0, 0, 0], [.5, .5, .5]])
    with pytest.raises(StructureError, match="site 0 is disordered"):
        to_graph(s)


def test_empty_structure():
    with pytest.raises(StructureError, match="no atoms"):
        to_graph(Atoms(cell=np.eye(3) * 3, pbc=True))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_coordinates(bad):
    atoms = Atoms("NaCl", positions=[[0, 0, 0], [2.8, bad, 0]], cell=np.eye(3) * 5.6, pbc=True)
    with pytest.raises(StructureError, match="atom 1 has a NaN or infinite coordinate"):
        to_graph(atoms)


def test_overlapping_atoms():
    atoms = Atoms("NaCl", positions=[[0, 0, 0], [0.05, 0, 0]], cell=np.eye(3) * 5.6, pbc=True)
    with pytest.raises(StructureError, match=r"atom 0 and atom 1 .* 0\.05 Å apart.*overlapping"):
        to_graph(atoms)
    with pytest.raises(StructureError, match="overlapping"):  # even with a tiny cutoff
        neighbor_list(atoms, 0.01)


def test_overlap_through_periodic_images():
    # 0.02 Å apart only across the cell boundary
    atoms = Atoms("Na2", positions=[[0.01, 1, 1], [4.99, 1, 1]], cell=np.eye(3) * 5.0, pbc=True)
    with pytest.raises(StructureError, match="overlapping"):
        neighbor_list(atoms, 3.0)


def test_unknown_element():
    s = Structure(Lattice.cubic(4), [DummySpecies("X"), "Cl"], [[0, 0, 0], [.5, .5, .5]])
    with pytest.raises(StructureError, match="not a chemical element"):
        to_graph(s)
    with pytest.raises(StructureError, match="atomic number 0"):
        to_graph(Atoms("XCl", positions=[[0, 0, 0], [2, 2, 2]], cell=np.eye(3) * 4, pbc=True))
    with pytest.raises(StructureError, match="no CGCNN atom features"):
        atom_features([1, 105])


@pytest.mark.parametrize("cutoff", [0, -1.0, float("nan"), "far"])
def test_non_positive_cutoff(nacl, cutoff):
    with pytest.raises(StructureError, match="cutoff must be"):
        neighbor_list(nacl, cutoff)
    with pytest.raises(StructureError, match="cutoff must be"):
        to_graph(nacl, cutoff=cutoff)


def test_atom_without_neighbor_is_explained():
    atoms = Atoms("NaCl", positions=[[0, 0, 0], [6, 6, 6]], cell=np.eye(3) * 20, pbc=True)
    with pytest.raises(StructureError,
                       match=r"atom 0 \(Z=11\) has no neighbor within the cutoff of 5 Å.*"
                             r"nearest neighbor is 10\.39 Å away.*Raise the cutoff"):
        to_graph(atoms)
    g = to_graph(atoms, allow_isolated=True)
    assert g.edge_index.shape[1] == 0 and g.num_nodes == 2


def test_flat_cell_and_wrong_types():
    flat = Atoms("Na", positions=[[0, 0, 0]], cell=[[3, 0, 0], [0, 3, 0], [3, 3, 0]], pbc=True)
    with pytest.raises(StructureError, match="volume"):
        to_graph(flat)
    with pytest.raises(StructureError, match="cannot build a graph from a str"):
        to_graph("NaCl")
    with pytest.raises(ValueError, match="unknown policy"):
        to_graph(flat, policy="knn")


def test_exactly_duplicated_atom():
    atoms = Atoms("Na2Cl", positions=[[1, 1, 1], [1, 1, 1], [3.8, 1, 1]],
                  cell=np.eye(3) * 5.6, pbc=True)
    for backend in ("vesin", "pymatgen"):
        with pytest.raises(StructureError, match=r"atom [01] and atom [01] .* apart.*overlapping"):
            neighbor_list(atoms, 3.0, backend=backend)


def test_bad_atomic_number_in_arrays():
    with pytest.raises(StructureError, match="atomic number 200"):
        to_graph(([11, 200], np.array([[0, 0, 0], [2.0, 2, 2]]), np.eye(3) * 4))


# ------------------------------------------------------------ the fast path for P1 CIFs

@pytest.mark.filterwarnings("ignore:Issues encountered while parsing CIF")
def test_p1_cif_reads_as_pymatgen_does(tmp_path):
    """Same lattice, sites and site order as Structure.from_file (which sorts the sites by
    electronegativity and restores 0.3333 to 1/3); a noble gas (no electronegativity) too."""
    sites = ("Cl1 Cl 0.5 0.5 0.5 1\nNa1 Na 0 0 0 1\nNe1 Ne 0.3333 0.25 0.6667 1\n"
             "Na2 Na 0.5 0.5 1.0 1\nO1 O -0.2 0.1 0.7 1")
    path = cif(tmp_path, sites)
    fast, full = read_p1_cif(path), Structure.from_file(path)
    assert fast is not None and fast.atomic_numbers == full.atomic_numbers
    np.testing.assert_array_equal(fast.lattice.matrix, full.lattice.matrix)
    np.testing.assert_array_equal(fast.frac_coords, full.frac_coords)
    assert fast.frac_coords[:, 0].min() >= 0  # wrapped into [0, 1) as pymatgen does
    path = cif(tmp_path, "Cl1 Cl 0.5 0.5 0.5(2) 1\nNa1 Na 0 0 0 1\nNa2 Na 0.5 0 0 1", "b.cif")
    fast, full = read_p1_cif(path), Structure.from_file(path)
    assert fast.atomic_numbers == full.atomic_numbers == (11, 11, 17)
    np.testing.assert_array_equal(fast.frac_coords, full.frac_coords)


@pytest.mark.parametrize("sites", [
    "Na1 Na 0 0 0 0.5\nCl1 Cl 0.5 0.5 0.5 1",       # partial occupancy
    "Na1 Na+ 0 0 0 1\nCl1 Cl- 0.5 0.5 0.5 1",       # oxidation states
    "Na1 Na 0 0 0 1\nNa2 Na 0.00001 0 0 1",         # sites pymatgen merges
    "Na1 Na 0 0 0 1\nCl1 Cl ? 0.5 0.5 1",           # a missing coordinate
])
def test_other_cifs_go_to_the_full_parser(tmp_path, sites):
    assert read_p1_cif(cif(tmp_path, sites)) is None


def test_symmetry_operations_go_to_the_full_parser(tmp_path):
    text = GOOD_CIF.format(sites="Na1 Na 0 0 0 1").replace("  1  'x, y, z'",
                                                          "  1  'x, y, z'\n  2  '-x, -y, -z'")
    (tmp_path / "s.cif").write_text(text)
    assert read_p1_cif(tmp_path / "s.cif") is None
    [frame] = read_frames(tmp_path / "s.cif")  # read by pymatgen instead
    assert frame == Structure.from_file(tmp_path / "s.cif")


def test_read_frames_and_inputs(tmp_path):
    from ase.build import bulk
    from ase.io import write

    write(tmp_path / "many.extxyz", [bulk("Cu", "fcc", a=3.6), bulk("Si", "diamond", a=5.4)])
    cif(tmp_path, "Na1 Na 0 0 0 1\nCl1 Cl 0.5 0.5 0.5 1", "a.cif")
    (tmp_path / "skip.txt").write_text("x")
    assert [len(f) for f in read_frames(tmp_path / "many.extxyz")] == [1, 2]
    files, unmatched = expand_inputs([tmp_path, str(tmp_path / "*.cif"), "nope/*.cif"])
    assert files == [tmp_path / "a.cif", tmp_path / "many.extxyz"]
    assert unmatched == ["nope/*.cif"]
    with pytest.raises(StructureError, match="empty"):
        (tmp_path / "e.xyz").write_text("")
        read_frames(tmp_path / "e.xyz")


def test_a_broken_cif_keeps_the_full_parsers_message(tmp_path):
    path = tmp_path / "broken.cif"
    path.write_text("data_x\n_cell_length_a 3\nloop_\n_atom_site_label\n")
    assert read_p1_cif(path) is None  # the tokenizer's ZeroDivisionError is not the message
    with pytest.raises(StructureError, match=r"broken\.cif: could not be read"):
        read_frames(path)


@pytest.mark.filterwarnings("ignore:Issues encountered while parsing CIF")
def test_p1_cif_agrees_with_pymatgen_on_real_structures(tmp_path):
    """The fast path must stay what pymatgen reads (a pymatgen upgrade that changes its
    site order or rounding fails here): 80 FLLA structures as CifWriter writes them."""
    from pymatgen.io.cif import CifWriter

    from companion.data import load

    data = load("mp_eform")
    for i in np.linspace(0, len(data) - 1, 80).astype(int):
        path = tmp_path / f"{i}.cif"
        CifWriter(data[int(i)].structure).write_file(path)
        fast, full = read_p1_cif(path), Structure.from_file(path)
        assert fast is not None, data.material_ids[i]
        assert fast.atomic_numbers == full.atomic_numbers, data.material_ids[i]
        np.testing.assert_array_equal(fast.lattice.matrix, full.lattice.matrix)
        np.testing.assert_array_equal(fast.frac_coords, full.frac_coords)
