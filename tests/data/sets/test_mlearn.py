"""mlearn: the full upstream files; structures as pymatgen reads them; stress convention."""

from __future__ import annotations

import json

import numpy as np
import pytest

from companion.data.parsers import structure_dict_arrays
from companion.data.resolve import resolve
from companion.data.sets.mlearn import ENTRY, load_mlearn
from companion.errors import DataError
from tests.data.sets.conftest import check_common


def test_mlearn():
    ds = load_mlearn("Si", "train")
    check_common(ds, 214)
    assert {r.info["group"] for r in ds} == {"AIMD-NVT", "Elastic", "Surface", "Vacancy"}
    rec = ds[0]
    assert rec.pbc and rec.labels["forces"].shape == (rec.n_atoms, 3)
    assert rec.labels["virial_stress"].shape == (6,)
    assert rec.targets["energy"] == -295.49753016
    assert rec.targets["energy_per_atom"] == pytest.approx(-295.49753016 / 63)
    # same structure as pymatgen's reading of the stored dict
    from pymatgen.core import Structure

    path = resolve(ENTRY, "data/Si/training.json")
    doc = json.loads(path.read_text())[0]
    ref = Structure.from_dict(doc["structure"])
    np.testing.assert_allclose(rec.structure.cart_coords, ref.cart_coords, atol=1e-9)
    np.testing.assert_array_equal(rec.cell, ref.lattice.matrix)
    # a Python-literal string of the same dict parses identically (ast.literal_eval)
    z2, pos2, cell2 = structure_dict_arrays(repr(doc["structure"]), "test")
    np.testing.assert_array_equal(pos2, rec.positions)
    # VASP virial (kB, compressive +) -> ASE stress (eV/Å^3, tensile +, Voigt yz xz xy)
    el = next(r for r in ds if r.info["description"].endswith("mode 0, strain -0.1"))
    stress = el.atoms.get_stress()
    assert stress[0] < 0 and stress[0] == pytest.approx(-169.41226465 * 0.1 / 160.21766208,
                                                        rel=1e-6)
    assert len(load_mlearn("Si", "test")) == 25 and len(load_mlearn("Ni", "test")) == 31
    with pytest.raises(DataError, match="not available"):
        load_mlearn("Cu", "train")
    with pytest.raises(DataError, match="unknown element"):
        load_mlearn("Fe")
