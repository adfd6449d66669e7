"""The baselines of notebook 02: element fractions, the mean predictor, the composition forest."""

from __future__ import annotations

import numpy as np
import pytest

from companion.baselines import (
    MAX_Z,
    MeanPredictor,
    composition_features,
    composition_forest,
    element_fractions,
    fit_baselines,
)


def test_element_fractions_from_z_arrays():
    x = element_fractions([np.array([11, 17]), np.array([8, 8, 22]), [26]])
    assert x.shape == (3, MAX_Z)
    np.testing.assert_allclose(x.sum(axis=1), 1.0)
    assert x[0, 10] == x[0, 16] == 0.5  # Na, Cl: column Z - 1
    np.testing.assert_allclose(x[1, [7, 21]], [2 / 3, 1 / 3])  # O2Ti
    assert x[2, 25] == 1.0


def test_element_fractions_agree_across_input_types(nacl):
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(nacl)
    arrays = (np.asarray(nacl.atomic_numbers), nacl.cart_coords, nacl.lattice.matrix)
    rows = element_fractions([nacl, atoms, arrays, nacl.composition, nacl.atomic_numbers])
    for row in rows[1:]:
        np.testing.assert_array_equal(row, rows[0])
    assert rows[0][10] == rows[0][16] == 0.5


def test_element_fractions_reject_bad_input():
    with pytest.raises(ValueError, match="no atoms"):
        element_fractions([np.array([], dtype=int)])
    with pytest.raises(ValueError, match="outside"):
        element_fractions([[0, 8]])
    with pytest.raises(ValueError, match="outside"):
        element_fractions([[MAX_Z + 1]])
    assert element_fractions([]).shape == (0, MAX_Z)


def test_composition_features_of_the_dataset():
    from companion.data import load

    ds = load("mp_eform")
    idx = ds.split["test"][:5]
    x = composition_features(ds, idx)
    assert x.shape == (5, MAX_Z)
    for row, i in zip(x, idx, strict=True):
        z = ds.arrays(int(i))[0]
        assert np.count_nonzero(row) == len(np.unique(z))
        np.testing.assert_allclose(row[z - 1], np.bincount(z)[z] / len(z))


def test_mean_predictor():
    model = MeanPredictor().fit(np.zeros((4, 2)), [1.0, 2.0, 3.0, 6.0])
    assert model.mean_ == 3.0
    np.testing.assert_array_equal(model.predict(np.zeros((3, 2))), [3.0, 3.0, 3.0])
    assert "3" in repr(model)
    with pytest.raises(RuntimeError):
        MeanPredictor().predict([1])
    with pytest.raises(ValueError):
        MeanPredictor().fit([], [])


def test_forest_is_seeded():
    rng = np.random.default_rng(0)
    x, y = rng.random((60, MAX_Z)), rng.random(60)
    a = composition_forest(seed=3, n_estimators=10).fit(x, y).predict(x)
    b = composition_forest(seed=3, n_estimators=10).fit(x, y).predict(x)
    np.testing.assert_array_equal(a, b)
    assert composition_forest(seed=3).random_state == 3


def test_fit_baselines_on_a_small_split():
    from companion.data import load
    from companion.train import regression_metrics

    ds = load("mp_eform")
    split = {"train": ds.split["train"][:300], "test": ds.split["test"][:80]}
    results = fit_baselines(ds, "formation_energy_per_atom", split=split, n_jobs=1)
    assert list(results) == ["mean predictor", "composition forest"]
    y = ds.target("formation_energy_per_atom")
    mean = results["mean predictor"]
    assert mean.model.mean_ == pytest.approx(y[split["train"]].mean())
    np.testing.assert_array_equal(mean.target, y[split["test"]])
    np.testing.assert_array_equal(mean.indices, split["test"])
    for r in results.values():
        assert r.prediction.shape == (80,)
        assert r.metrics == regression_metrics(r.prediction, r.target)
    # chemistry alone already beats knowing nothing
    assert results["composition forest"].metrics["mae"] < 0.6 * mean.metrics["mae"]
