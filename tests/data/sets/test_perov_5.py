"""perov_5 (CDVAE): the CSV files; the CIF parser against pymatgen."""

from __future__ import annotations

import numpy as np

from companion.data.sets.perov_5 import load_perov_5
from tests.data.sets.conftest import check_common


def test_perov_5_matches_pymatgen_cif():
    ds = load_perov_5("val")
    check_common(ds, 3787)
    assert len(load_perov_5("test")) == 3785
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
