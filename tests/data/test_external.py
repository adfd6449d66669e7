"""External loaders on the real files of the shared mirror (skipped when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from companion.data import external as ex
from companion.data import load, registry, resolve
from companion.errors import DataError

REPO = Path(__file__).resolve().parents[2]


def _shared_dir() -> Path | None:
    marker = "davkovacs__BOTNet-datasets/dataset_ethanol/train.xyz"
    for d in [*resolve.mirror_dirs(), REPO.parent / "shared" / "data"]:
        if (d / marker).is_file():
            return d.resolve()
    return None


SHARED = _shared_dir()
pytestmark = pytest.mark.skipif(
    SHARED is None, reason="shared data mirror not found: set COMPANION_DATA_DIRS=../shared/data")


@pytest.fixture(autouse=True)
def _offline_mirror(monkeypatch, tmp_path):
    """Resolve from the mirror only: empty cache, no network."""
    monkeypatch.setenv("COMPANION_DATA_DIRS", str(SHARED))
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COMPANION_OFFLINE", "1")


def _check_common(ds: ex.LabeledDataset, n: int) -> None:
    assert len(ds) == n
    ids = [r.id for r in ds]
    assert len(set(ids)) == n
    parts = np.concatenate([ds.split[k] for k in ("train", "val", "test")])
    assert np.array_equal(np.sort(parts), np.arange(n))
    assert ds.citation and ds.license and "positions" in ds.units
    for r in (ds[0], ds[n - 1]):
        z, pos, cell = ds.arrays(ds.records.index(r))
        assert z.dtype == np.int64 and pos.shape == (len(z), 3) and cell.shape == (3, 3)


def test_ethanol_train_and_test():
    ds = ex.load_ethanol("train")
    _check_common(ds, 1000)
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
    assert len(ex.load_ethanol("test_MD")) == 1000
    dimers = ex.load_ethanol("test_dimers")
    assert "forces" not in dimers[0].labels and "energy" in dimers[0].targets
    with pytest.raises(DataError, match="test_md"):
        ex.load_ethanol("valid")


def test_split_is_deterministic():
    a, b = ex.load_3bpa("train_300K"), ex.load_3bpa("train_300k")
    assert a.split_hash == b.split_hash
    assert all(np.array_equal(a.split[k], b.split[k]) for k in a.split)
    codes = ex.hashed_split([r.id for r in a])
    shuffled = ex.hashed_split([r.id for r in reversed(a.records)])
    assert np.array_equal(codes, shuffled[::-1])  # depends on ids, not on order
    assert np.bincount(codes).tolist() == [400, 50, 50]
    sub = a.subset(a.split["val"])
    assert len(sub) == 50 and len(sub.split["val"]) == 50


def test_3bpa_acac():
    bpa = ex.load_3bpa("train_mixedT")
    _check_common(bpa, 500)
    assert bpa[0].n_atoms == 27 and bpa[0].labels["forces"].shape == (27, 3)
    acac = ex.load_acac("test_MD_300K")
    _check_common(acac, 650)
    assert acac[0].n_atoms == 15 and set(acac.atomic_energies) == {1, 6, 8}
    assert acac.split_hash != ex.load_acac("train_300K").split_hash


def test_ean():
    ds = ex.load_ean()
    _check_common(ds, 75)
    rec = ds[0]
    assert rec.pbc and rec.n_atoms == 225 and rec.labels["forces"].shape == (225, 3)
    np.testing.assert_array_equal(rec.cell, np.diag([12.9, 12.9, 12.9]))
    assert rec.targets["energy"] == -1271.0969288340718
    assert ds.units["energy"].startswith("eV") and ds.units["forces"] == "eV/Å"
    counts = dict(zip(*np.unique(rec.numbers, return_counts=True), strict=True))
    assert counts == {1: 120, 6: 30, 7: 30, 8: 45}
    assert ds.info["formal_charge"].sum() == 0
    assert (ds.info["residue_name"] == "EA").sum() == 165
    assert rec.structure.composition.reduced_formula == "H8C2N2O3"  # C2H5NH3+ NO3-
    # a wrong species order is detected by the bond check
    top = {k: ds.info[k] for k in ("residue_id",)}
    top["element"] = np.roll(np.array(["H" if z == 1 else "C" if z == 6 else "N" if z == 7
                                       else "O" for z in rec.numbers]), 1)
    with pytest.raises(DataError, match="not bonded"):
        ex._check_ean_geometry(rec.positions, np.diag(rec.cell), top, "test")


def test_mlearn():
    ds = ex.load_mlearn("Si", "train")
    _check_common(ds, 214)
    assert {r.info["group"] for r in ds} == {"AIMD-NVT", "Elastic", "Surface", "Vacancy"}
    rec = ds[0]
    assert rec.pbc and rec.labels["forces"].shape == (rec.n_atoms, 3)
    assert rec.labels["virial_stress"].shape == (6,)
    assert rec.targets["energy"] == -295.49753016
    assert rec.targets["energy_per_atom"] == pytest.approx(-295.49753016 / 63)
    # same structure as pymatgen's reading of the stored dict
    import json

    from pymatgen.core import Structure

    path = resolve.resolve(registry.get("mlearn"), "data/Si/training.json")
    doc = json.loads(path.read_text())[0]
    ref = Structure.from_dict(doc["structure"])
    np.testing.assert_allclose(rec.structure.cart_coords, ref.cart_coords, atol=1e-9)
    np.testing.assert_array_equal(rec.cell, ref.lattice.matrix)
    # a Python-literal string of the same dict parses identically (ast.literal_eval)
    z2, pos2, cell2 = ex._structure_dict_arrays(repr(doc["structure"]), "test")
    np.testing.assert_array_equal(pos2, rec.positions)
    # VASP virial (kB, compressive +) -> ASE stress (eV/Å^3, tensile +, Voigt yz xz xy)
    el = next(r for r in ds if r.info["description"].endswith("mode 0, strain -0.1"))
    stress = el.atoms.get_stress()
    assert stress[0] < 0 and stress[0] == pytest.approx(-169.41226465 * 0.1 / 160.21766208,
                                                        rel=1e-6)
    assert len(ex.load_mlearn("Si", "test")) == 25 and len(ex.load_mlearn("Ni", "test")) == 31
    with pytest.raises(DataError, match="not available"):
        ex.load_mlearn("Cu", "train")


def test_mp_phonons_one_document():
    ds = ex.load_mp_phonons(["mp-149"])
    assert len(ds) == 1
    rec = ds[0]
    assert rec.id == "mp-149-Si2" and rec.info["formula"] == "Si2" and rec.n_atoms == 2
    q, f = rec.labels["qpoints"], rec.labels["frequencies"]
    assert q.shape == (149, 3) and f.shape == (149, 6) and ds.units["frequencies"] == "THz"
    assert rec.info["qpoint_labels"][0] == "\\Gamma"
    np.testing.assert_allclose(f[0, :3], 0, atol=0.05)  # acoustic branches vanish at Gamma
    assert 15 < f.max() < 16.5  # Si optical phonon ~15.5 THz
    dos_integral = np.trapezoid(rec.labels["dos_densities"], rec.labels["dos_frequencies"])
    assert dos_integral == pytest.approx(6, rel=1e-3)  # 3 n_atoms modes
    assert "eigendisplacements" not in rec.labels
    two = ex.load_mp_phonons(["mp-23485"])  # one id, two cells upstream
    assert sorted(r.id for r in two) == ["mp-23485-Ag2Hg1I4", "mp-23485-Ag4Hg2I8"]
    with pytest.raises(DataError, match="mp-0"):
        ex.load_mp_phonons(["mp-0"])


def test_matcalc():
    el = ex.load_matcalc("elasticity")
    _check_common(el, 3953)
    assert el.units["bulk_modulus_vrh"] == "GPa"
    k = el.target("bulk_modulus_vrh")
    assert (k > 0).all()
    np.testing.assert_allclose(el.target("log10_bulk_modulus_vrh"), np.log10(k))
    assert el[0].id == "mp-975512" and el[0].targets["bulk_modulus_vrh"] == 53.357
    cv = load("matcalc_heat_capacity")
    _check_common(cv, 1170)
    c = cv.target("heat_capacity")
    n = np.array([r.n_atoms for r in cv])
    assert (c <= 3 * 8.314462618 * n * 1.0001).all()  # below Dulong-Petit per mole of cells


def test_perov_5_matches_pymatgen_cif():
    ds = ex.load_perov_5("val")
    _check_common(ds, 3787)
    assert len(ex.load_perov_5("test")) == 3785
    assert set(ds.target_names) == {"heat_all", "heat_ref", "dir_gap", "ind_gap"}
    assert ds.units["dir_gap"] == "eV"
    from pymatgen.core import Structure

    for i in (0, 1, 1000, 3786):
        rec = ds[i]
        assert rec.n_atoms == 5
        ref = Structure.from_str(rec.cif, fmt="cif")
        np.testing.assert_allclose(rec.cell, ref.lattice.matrix, atol=1e-9)
        assert sorted(rec.numbers.tolist()) == sorted(ref.atomic_numbers)
        frac = rec.structure.frac_coords
        for z, f in zip(ref.atomic_numbers, ref.frac_coords, strict=True):
            d = (frac - f + 0.5) % 1.0 - 0.5  # periodic difference
            hit = (np.abs(d).max(axis=1) < 1e-8) & (rec.numbers == z)
            assert hit.sum() == 1
    assert ds[0].targets["heat_all"] == 2.76 and ds[0].info["formula"] == "CuCdN3"


def test_load_dispatch_and_ani1():
    ds = load("ethanol", split="test_md")
    assert ds.name == "ethanol/test_md"
    with pytest.raises(DataError, match="h5py"):
        load("ani1_subset")
    with pytest.raises(DataError, match="ethanol"):
        load("ethanoll")


def test_missing_mirror_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPANION_DATA_DIRS", str(tmp_path / "empty"))
    with pytest.raises(DataError) as exc:
        ex.load_ean()
    msg = str(exc.value)
    assert "EAN_md_initial.gro" in msg and "raw.githubusercontent.com" in msg
    assert "COMPANION_DATA_DIRS" in msg and os.fspath(tmp_path / "cache") in msg
