"""Records, data sets and splits (on the ethanol fixture of data/ and on toy records)."""

from __future__ import annotations

import numpy as np
import pytest

from companion.data import load
from companion.data.records import (
    LabeledRecord,
    hashed_split,
    mlearn_stress_to_ase,
    split_hash,
    split_indices,
)
from companion.errors import DataError


@pytest.fixture(scope="module")
def sample():
    return load("ethanol_sample")


def test_hashed_split_depends_on_ids_only():
    ids = [f"x:{i}" for i in range(200)]
    codes = hashed_split(ids)
    assert np.bincount(codes).tolist() == [160, 20, 20]
    assert np.array_equal(hashed_split(ids[::-1])[::-1], codes)
    assert not np.array_equal(hashed_split(ids, seed=1), codes)
    with pytest.raises(DataError, match="unique"):
        hashed_split(["a", "a"])


def test_split_indices_and_hash():
    split = split_indices(np.array([0, 2, 1, 0, 2], dtype=np.int8))
    assert {k: v.tolist() for k, v in split.items()} == {"train": [0, 3], "val": [2],
                                                         "test": [1, 4]}
    assert split_hash(split) == split_hash({k: v.copy() for k, v in split.items()})
    assert split_hash(split) != split_hash({**split, "val": np.array([], np.int64)})


def test_dataset_split_subset_and_errors(sample):
    assert sample.split_hash == load("ethanol_sample").split_hash  # deterministic
    val = sample.subset(sample.split["val"])
    assert len(val) == 5 and len(val.split["val"]) == 5 and val.split_hash != sample.split_hash
    assert [r.id for r in sample.subset(np.arange(50) < 2)] == ["ethanol/train:0",
                                                               "ethanol/train:1"]
    assert sample.target("energy").shape == (50,) and len(sample.label("forces")) == 50
    with pytest.raises(DataError, match="no target 'band_gap'"):
        sample.target("band_gap")
    with pytest.raises(DataError, match="label 'stress'"):
        sample.label("stress")
    with pytest.raises(TypeError, match="subset"):
        sample[1:3]
    assert "50 molecular records" in repr(sample) and "energy [eV]" in repr(sample)
    assert "ethanol/train:0" in repr(sample[0])


def test_atoms_and_structure_are_built_on_access(sample):
    rec = sample[3]
    a, b = rec.atoms, rec.atoms
    assert a is not b and a.info["id"] == "ethanol/train:3" and a.info["config_type"]
    mol = rec.structure
    assert type(mol).__name__ == "Molecule" and len(mol) == 9
    z, pos, cell = rec.arrays()
    pos[0] = 99.0  # a copy
    assert rec.positions[0, 0] != 99.0


def test_stress_conversion_and_periodic_structure():
    virial = np.array([10.0, 20.0, 30.0, 1.0, 2.0, 3.0])  # kB, xx yy zz xy yz xz
    s = mlearn_stress_to_ase(virial)
    from ase.units import GPa

    np.testing.assert_allclose(s, -0.1 * GPa * np.array([10, 20, 30, 2, 3, 1]))
    rec = LabeledRecord(id="c", numbers=np.array([14, 14]), pbc=True,
                        positions=np.array([[0.0, 0, 0], [1.36, 1.36, 1.36]]),
                        cell=np.eye(3) * 5.43, targets={"energy": -10.0},
                        labels={"forces": np.zeros((2, 3)), "virial_stress": virial})
    np.testing.assert_allclose(rec.atoms.get_stress(), s)
    assert rec.structure.lattice.a == pytest.approx(5.43)
