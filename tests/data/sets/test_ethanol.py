"""Ethanol (BOTNet): the full upstream files."""

from __future__ import annotations

import numpy as np
import pytest

from companion.data import load
from companion.data.sets.ethanol import ENTRY, load_ethanol
from companion.errors import DataError
from tests.data.sets.conftest import check_common


def test_ethanol_train_and_test():
    ds = load_ethanol("train")
    check_common(ds, 1000)
    assert ds.units["energy"] == "eV" and ds.units["forces"] == "eV/Å"
    rec = ds[0]
    assert rec.labels["forces"].shape == (9, 3) and not rec.pbc
    assert rec.targets["energy"] == pytest.approx(-4209.4657843064815, abs=0)
    assert rec.labels["forces"][0].tolist() == [-4.15950961, 0.10729389, 3.61777644]
    assert sorted(rec.numbers.tolist()) == [1] * 6 + [6, 6, 8]
    assert set(ds.atomic_energies) == {1, 6, 7, 8}
    assert ds.atomic_energies[1] == pytest.approx(-13.568422383046626)
    atoms = rec.atoms
    assert atoms.get_potential_energy() == rec.targets["energy"]
    np.testing.assert_array_equal(atoms.get_forces(), rec.labels["forces"])
    assert not atoms.pbc.any() and rec.structure.composition.reduced_formula == "H6C2O"
    assert len(load_ethanol("test_MD")) == 1000
    dimers = load_ethanol("test_dimers")
    assert "forces" not in dimers[0].labels and "energy" in dimers[0].targets
    with pytest.raises(DataError, match="test_md"):
        load_ethanol("valid")


def test_load_of_the_upstream_test_split():
    ds = load("ethanol", split=ENTRY.test_split)
    assert ds.name == "ethanol/test_md" and len(ds) == 1000
    assert ds.source == "dataset_ethanol/test_MD.xyz"
