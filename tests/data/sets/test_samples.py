"""The fixtures of data/: they load on a fresh clone (no COMPANION_DATA_DIRS, offline) and
are the first records of the full sets, field for field."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from companion.data import DATASETS, LabeledDataset, load
from companion.data.records import LabeledRecord
from companion.data.resolve import checksum, repo_data_dir
from companion.data.sets.ethanol import ENTRY as ETHANOL
from companion.data.sets.samples import read_records_npz, write_records_npz
from companion.errors import DataError

FIXTURES = {"ethanol_sample": 50, "ean_sample": 1}


@pytest.fixture
def fresh_clone(monkeypatch, tmp_path):
    """No mirror, an empty cache and no network: only the repository's data/ remains."""
    monkeypatch.delenv("COMPANION_DATA_DIRS", raising=False)
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COMPANION_OFFLINE", "1")


def test_ethanol_sample_without_data_dirs(fresh_clone):
    ds = load("ethanol_sample")
    assert isinstance(ds, LabeledDataset) and ds.name == "ethanol_sample/train" and len(ds) == 50
    rec = ds[0]
    assert rec.id == "ethanol/train:0" and not rec.pbc and rec.n_atoms == 9
    assert rec.targets == {"energy": -4209.4657843064815}
    assert rec.labels["forces"].shape == (9, 3) and rec.labels["forces"].dtype == np.float64
    assert rec.labels["forces"][0].tolist() == [-4.15950961, 0.10729389, 3.61777644]
    assert rec.info == {"OH_dist": 1.0373, "config_type": "Training_set"}
    assert rec.numbers.dtype == np.int64 and rec.positions.dtype == np.float64
    np.testing.assert_array_equal(rec.cell, np.zeros((3, 3)))
    assert ds.atomic_energies == {1: -13.568422383046626, 6: -1025.2770951782686,
                                  7: -1479.0665594928669, 8: -2035.5709809589698}
    assert dict(ds.units) == dict(ETHANOL.units) and ds.citation == ETHANOL.citation
    assert [len(ds.split[k]) for k in ("train", "val", "test")] == [40, 5, 5]
    atoms = rec.atoms
    assert atoms.get_potential_energy() == rec.targets["energy"]
    np.testing.assert_array_equal(atoms.get_forces(), rec.labels["forces"])
    with pytest.raises(DataError, match="train"):
        load("ethanol_sample", split="test_md")


def test_ean_sample_without_data_dirs(fresh_clone):
    ds = load("ean_sample")
    assert isinstance(ds, LabeledDataset) and ds.name == "ean_sample/validation" and len(ds) == 1
    rec = ds[0]
    assert rec.id == "validation:0" and rec.pbc and rec.n_atoms == 225
    assert rec.targets == {"energy": -1271.0969288340718}
    assert rec.labels["forces"].shape == (225, 3)
    np.testing.assert_array_equal(rec.cell, np.diag([12.9, 12.9, 12.9]))
    counts = dict(zip(*np.unique(rec.numbers, return_counts=True), strict=True))
    assert counts == {1: 120, 6: 30, 7: 30, 8: 45}
    assert ds.info["formal_charge"].sum() == 0 and (ds.info["residue_name"] == "EA").sum() == 165
    assert ds.units["energy"] == "eV (per cell)" and ds.atomic_energies == {}


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_files_are_small_plain_and_registered(name):
    entry = DATASETS[name]
    path = repo_data_dir() / entry.files[0]
    assert path.stat().st_size < 100_000  # bytes
    assert hashlib.sha256(path.read_bytes()).hexdigest() == checksum(entry.files[0])
    with np.load(path, allow_pickle=False) as npz:
        assert not any(npz[k].dtype.hasobject for k in npz.files)
        source = str(npz["source"])  # which upstream files (with sha256), which records
    assert entry.repo is None and "sha256" in source and "record" in source
    assert "build_fixtures.py" in entry.source


@pytest.mark.parametrize("name, full", [("ethanol_sample", ("ethanol", {"split": "train"})),
                                        ("ean_sample", ("ean", {}))])
def test_fixture_equals_first_records_of_the_full_set(name, full):
    small = load(name)
    big = load(full[0], **full[1]).subset(np.arange(FIXTURES[name]))
    assert [r.id for r in small] == [r.id for r in big]
    assert small.atomic_energies == big.atomic_energies
    assert (dict(small.units), small.citation, small.license) == (
        dict(big.units), big.citation, big.license)
    for a, b in zip(small, big, strict=True):
        for x, y in zip(a.arrays(), b.arrays(), strict=True):
            np.testing.assert_array_equal(x, y)
        assert a.pbc == b.pbc and dict(a.targets) == dict(b.targets)
        assert dict(a.info) == dict(b.info) and a.labels.keys() == b.labels.keys()
        for k in a.labels:
            np.testing.assert_array_equal(a.labels[k], b.labels[k])
    assert small.info.keys() == big.info.keys()
    for k in small.info:
        np.testing.assert_array_equal(small.info[k], big.info[k])


def _record(i: int, n: int, **labels) -> LabeledRecord:
    rng = np.random.default_rng(i)
    return LabeledRecord(id=f"toy:{i}", numbers=np.full(n, 6, np.int64),
                         positions=rng.normal(size=(n, 3)), cell=np.eye(3) * 5, pbc=True,
                         targets={"energy": -float(i)}, labels=labels,
                         info={"tag": f"t{i}", "step": i})


def test_records_npz_roundtrip_and_refusals(tmp_path):
    recs = [_record(i, n, forces=np.ones((n, 3)) * i) for i, n in enumerate((2, 3, 1))]
    ds = LabeledDataset("toy/train", recs, entry=ETHANOL, source="toy",
                        atomic_energies={6: -1.5}, info={"per_atom": np.arange(3)})
    write_records_npz(tmp_path / "a.npz", ds, source="made in a test")
    write_records_npz(tmp_path / "b.npz", ds, source="made in a test")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    back = read_records_npz(tmp_path / "a.npz")
    assert back["source"] == "made in a test" and back["atomic_energies"] == {6: -1.5}
    np.testing.assert_array_equal(back["info"]["per_atom"], np.arange(3))
    for a, b in zip(back["records"], recs, strict=True):
        assert a.id == b.id and a.info == b.info and a.targets == b.targets
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.labels["forces"], b.labels["forces"])
    stress = LabeledDataset("toy", [_record(0, 2, virial_stress=np.zeros(6))], entry=ETHANOL,
                            source="toy")
    with pytest.raises(DataError, match="not per atom"):
        write_records_npz(tmp_path / "c.npz", stress, source="x")
    (tmp_path / "d.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot read"):
        read_records_npz(tmp_path / "d.npz")
