"""Materials Project DFPT phonons (ffonons): one document, a doubled id, a wrong id."""

from __future__ import annotations

import numpy as np
import pytest

from companion.data.sets.mp_phonons import load_mp_phonons
from companion.errors import DataError


def test_mp_phonons_one_document():
    ds = load_mp_phonons(["mp-149"])
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
    two = load_mp_phonons(["mp-23485"])  # one id, two cells upstream
    assert sorted(r.id for r in two) == ["mp-23485-Ag2Hg1I4", "mp-23485-Ag4Hg2I8"]
    with pytest.raises(DataError, match="mp-0"):
        load_mp_phonons(["mp-0"])


def test_eigendisplacements_on_request():
    rec = load_mp_phonons(["mp-149"], eigendisplacements=True)[0]
    eig = rec.labels["eigendisplacements"]
    assert eig.shape == (149, 6, 2, 3) and np.iscomplexobj(eig)
