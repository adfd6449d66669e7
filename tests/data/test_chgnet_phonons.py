"""CHGNet phonons, not DFT: the shipped teacher files, their loader, and the pipeline."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from companion.data import load
from companion.data.resolve import checksum
from companion.data.sets.chgnet_phonons import (
    NOT_DFT,
    load_chgnet_phonons,
    load_chgnet_phonons_dfpt69,
    metadata,
)
from companion.data.sets.mp_phonons import STEMS
from companion.errors import DataError

DATA = Path(__file__).resolve().parents[2] / "data"
GAMMA_TOL = 0.3  # THz


@pytest.fixture(scope="module")
def full():
    return load_chgnet_phonons(include_imaginary=True)


@pytest.mark.parametrize("fname", ["chgnet_phonons.npz", "chgnet_phonons_dfpt69.npz"])
def test_file_has_no_pickles_and_matches_its_checksum(fname):
    path = DATA / fname
    assert hashlib.sha256(path.read_bytes()).hexdigest() == checksum(fname)
    with np.load(path, allow_pickle=False) as npz:
        assert not any(npz[k].dtype.hasobject for k in npz.files)
        assert NOT_DFT in str(npz["description"])


def test_size_provenance_and_split(full):
    # 567 materials were built in this session (the issue aims at >= 1000: another hour of
    # the same build; scripts/build_phonon_teacher.py --from-pack continues it)
    assert len(full) >= 500
    assert NOT_DFT in full.description and "not DFT" in full.units["frequencies"]
    meta = metadata("train")
    assert meta["versions"]["chgnet"] == "0.4.2" and meta["versions"]["phonopy"] == "4.10.0"
    assert meta["settings"]["fmax_eV_per_A"] == 0.01 and "build_phonon_teacher" in meta["command"]
    imag = np.array([r.info["imaginary"] for r in full])
    train, val = full.split["train"], full.split["val"]
    assert not imag[train].any() and not imag[val].any()
    assert len(train) + len(val) == (~imag).sum()
    assert len(val) == round(0.1 * (~imag).sum())
    default = load_chgnet_phonons()
    assert len(default) == (~imag).sum()
    assert not any(r.info["imaginary"] for r in default)
    assert len(load_chgnet_phonons(split="val")) == len(val)
    with pytest.raises(DataError, match="unknown split"):
        load_chgnet_phonons(split="test")


def test_shapes_sorted_and_acoustic_modes(full):
    for r in full:
        q, w = r.labels["qpoints"], r.labels["frequencies"]
        assert q.ndim == 2 and q.shape[1] == 3 and w.shape == (len(q), 3 * r.n_atoms)
        assert len(r.info["qpoint_labels"]) == len(q)
        assert np.all(np.diff(w, axis=1) >= 0)  # branches ascending per q-point
        assert r.info["min_frequency"] == pytest.approx(w.min(), abs=1e-4)
        assert r.info["imaginary"] == (w.min() < -0.3)
        assert r.info["source"] == NOT_DFT
        gamma = np.all(np.abs(q) < 1e-8, axis=1)
        assert gamma.any()  # every seekpath path passes through Gamma
        # three acoustic modes vanish (unstable optical modes may lie below them)
        assert np.all(np.sort(np.abs(w[gamma]), axis=1)[:, :3] < GAMMA_TOL)


def test_no_overlap_with_the_dfpt_evaluation_set(full):
    from pymatgen.core import Composition

    held_ids = {"-".join(s.split("-")[:2]) for s in STEMS}
    held_formulas = {Composition(s.split("-", 2)[2]).reduced_formula for s in STEMS}
    ids = {r.info["material_id"] for r in full}
    formulas = {Composition(r.info["formula"]).reduced_formula for r in full}
    assert len(ids) == len(full)
    assert not ids & held_ids and not formulas & held_formulas


def test_dfpt69_matches_the_mp_phonons_cells():
    ds = load_chgnet_phonons_dfpt69()
    assert NOT_DFT in ds.description and len(ds) <= len(STEMS)
    assert {r.id for r in ds} <= set(STEMS)
    for r in ds:
        assert r.labels["frequencies"].shape == (len(r.labels["qpoints"]), 3 * r.n_atoms)


@pytest.mark.skipif(importlib.util.find_spec("chgnet") is None
                    or importlib.util.find_spec("phonopy") is None,
                    reason="needs pip install 'chgnet==0.4.2' 'phonopy==4.10.0'")
def test_pipeline_on_one_tiny_crystal():
    from companion.data.teacher import supercell_diagonal, teacher_phonons

    cell = np.array([[0.0, 2.715, 2.715], [2.715, 0.0, 2.715], [2.715, 2.715, 0.0]])  # Si, Å
    pos = np.array([[0.0, 0.0, 0.0], [1.3575, 1.3575, 1.3575]])  # diamond, Å
    n = supercell_diagonal(cell, 10.0)
    d = 1 / np.linalg.norm(np.linalg.inv(cell).T, axis=1)  # interplanar spacings, Å
    assert n.tolist() == [4, 4, 4] and np.all(n * d >= 10.0) and np.all((n - 1) * d < 10.0)
    # a 2x2x2 supercell (spacing >= 6 Å) keeps the test fast; Gamma and X are commensurate
    res = teacher_phonons(np.array([14, 14]), pos, cell,
                          qpoints=np.array([[0, 0, 0], [0.5, 0.0, 0.5]]),
                          settings={"min_supercell_spacing_A": 6.0})
    w = res["frequencies"]  # [2, 6] THz
    assert res["supercell"].tolist() == [2, 2, 2] and w.shape == (2, 6)
    assert np.all(np.diff(w, axis=1) >= 0) and not res["imaginary"]
    assert np.all(np.abs(w[0, :3]) < GAMMA_TOL)  # acoustic modes at Gamma
    assert 12 < w[0, 3:].min() < 15.6  # Si optical mode at Gamma: DFT 15.3 THz; CHGNet softer
    assert res["relax_converged"] and abs(np.linalg.det(res["cell"])) > 35
    with pytest.raises(DataError, match="max_supercell_atoms"):
        teacher_phonons(np.array([14, 14]), pos, cell, settings={"max_supercell_atoms": 10})
    # a conventional cell stays the cell (phonopy 4 would reduce it to the primitive one):
    # bcc Na, 2 atoms in the cube, 6 branches
    conv = teacher_phonons(np.array([11, 11]), np.array([[0.0, 0, 0], [2.1, 2.1, 2.1]]),
                           np.eye(3) * 4.2, qpoints=np.array([[0, 0, 0], [0.5, 0.5, 0.5]]),
                           settings={"min_supercell_spacing_A": 6.0})
    assert conv["frequencies"].shape == (2, 6)


def test_teacher_error_table():
    pytest.importorskip("pymatgen")
    from companion.data.teacher import teacher_error

    try:
        load("mp_phonons", material_ids=["mp-149"])
    except DataError as exc:
        pytest.skip(f"mp_phonons documents unavailable: {exc}")
    table, summary = teacher_error()
    assert len(table) == int(summary["n"]) == len(load_chgnet_phonons_dfpt69())
    maes = [r["mae_thz"] for r in table]
    assert summary["median_mae_thz"] == pytest.approx(np.median(maes))
    assert all(m >= 0 for m in maes) and 0.5 < summary["median_max_ratio"] < 1.5


def test_dfpt_split_is_the_real_test_set(monkeypatch):
    """`train --data chgnet_phonons` evaluates on the 69 DFPT materials (split "dfpt"), not
    on CHGNet labels: the entry's test split delegates to mp_phonons."""
    from companion.data import DATASETS, test_split
    from companion.data.sets import mp_phonons

    assert test_split("chgnet_phonons") == "dfpt"
    monkeypatch.setattr(mp_phonons, "load_mp_phonons", lambda: "the 69 DFPT documents")
    assert DATASETS["chgnet_phonons"].load(split="dfpt") == "the 69 DFPT documents"
