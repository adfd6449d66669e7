"""matcalc benchmark sets: moduli and heat capacities."""

from __future__ import annotations

import numpy as np
import pytest

from companion.data import load
from companion.data.sets.matcalc import load_matcalc, load_matcalc_elasticity
from companion.errors import DataError
from tests.data.sets.conftest import check_common


def test_matcalc():
    el = load_matcalc_elasticity()
    check_common(el, 3953)
    assert el.units["bulk_modulus_vrh"] == "GPa"
    k = el.target("bulk_modulus_vrh")
    assert (k > 0).all()
    np.testing.assert_allclose(el.target("log10_bulk_modulus_vrh"), np.log10(k))
    assert el[0].id == "mp-975512" and el[0].targets["bulk_modulus_vrh"] == 53.357
    cv = load("matcalc_heat_capacity")
    check_common(cv, 1170)
    c = cv.target("heat_capacity")
    n = np.array([r.n_atoms for r in cv])
    assert (c <= 3 * 8.314462618 * n * 1.0001).all()  # below Dulong-Petit per mole of cells
    assert load_matcalc("heat_capacity").name == "matcalc/heat_capacity"
    with pytest.raises(DataError, match="elasticity, heat_capacity"):
        load_matcalc("bandgap")
