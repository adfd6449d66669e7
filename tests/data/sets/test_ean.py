"""EAN (NeuralIL): the full validation file and the topology/geometry checks."""

from __future__ import annotations

import os

import numpy as np
import pytest

from companion.data.sets.ean import check_geometry, load_ean
from companion.errors import DataError
from tests.data.sets.conftest import check_common


def test_ean():
    ds = load_ean()
    check_common(ds, 75)
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
        check_geometry(rec.positions, np.diag(rec.cell), top, "test")


def test_missing_mirror_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPANION_DATA_DIRS", str(tmp_path / "empty"))
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COMPANION_OFFLINE", "1")
    with pytest.raises(DataError) as exc:
        load_ean()
    msg = str(exc.value)
    assert "EAN_md_initial.gro" in msg and "raw.githubusercontent.com" in msg
    assert "COMPANION_DATA_DIRS" in msg and os.fspath(tmp_path / "cache") in msg
