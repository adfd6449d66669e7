"""Figures of notebook 02: parity plot, errors by size, MAE bars (companion.viz.parity)."""

from __future__ import annotations

import numpy as np
import pytest

from companion.viz import parity  # noqa: E402


@pytest.fixture
def values():
    y = np.array([-2.0, -1.0, 0.0, 0.5])
    return y, y + np.array([0.1, -0.2, 0.0, 0.3])


def test_parity_figure_hover_units_and_mae(values):
    y, p = values
    fig = parity.parity_figure(y, p, formulas=["NaCl", "MgO", "Si", "Fe"],
                               material_ids=["mp-1", "mp-2", "mp-3", "mp-4"],
                               unit="eV/atom", quantity="formation energy")
    points, diagonal = fig.data
    np.testing.assert_array_equal(points.x, y)
    np.testing.assert_array_equal(points.y, p)
    assert points.customdata[0][0] == "NaCl" and points.customdata[0][1] == "mp-1"
    assert "customdata[0]" in points.hovertemplate and "customdata[1]" in points.hovertemplate
    assert "eV/atom" in points.hovertemplate
    assert "MAE 0.150 eV/atom" in points.name
    assert fig.layout.xaxis.title.text == "true formation energy (eV/atom)"
    assert fig.layout.yaxis.title.text == "predicted formation energy (eV/atom)"
    assert diagonal.x[0] == diagonal.y[0] and diagonal.x[1] == diagonal.y[1]
    assert diagonal.x[0] <= min(y.min(), p.min()) and diagonal.x[1] >= max(y.max(), p.max())


def test_parity_figure_several_models(values):
    y, p = values
    fig = parity.parity_figure(y, {"a": p, "b": y}, unit="eV")
    assert len(fig.data) == 3
    assert fig.data[0].name.startswith("a: MAE 0.150")
    assert fig.data[1].name.startswith("b: MAE 0.000")
    assert list(fig.data[0].customdata[0][:2]) == ["", ""]  # no labels given


def test_parity_figure_rejects_mismatched_lengths(values):
    y, p = values
    with pytest.raises(ValueError, match="expected 4"):
        parity.parity_figure(y, p[:3])
    with pytest.raises(ValueError, match="formulas"):
        parity.parity_figure(y, p, formulas=["A"])


def test_group_means():
    keys, means, counts = parity.group_means([1.0, 3.0, 2.0, 4.0, 10.0], [2, 2, 5, 5, 1])
    np.testing.assert_array_equal(keys, [1, 2, 5])
    np.testing.assert_allclose(means, [10.0, 2.0, 3.0])
    np.testing.assert_array_equal(counts, [1, 2, 2])
    with pytest.raises(ValueError):
        parity.group_means([1.0], [1, 2])


def test_error_breakdown_figure(values):
    y, p = values
    fig = parity.error_breakdown_figure(y, p, n_atoms=[2, 2, 8, 8], n_elements=[2, 2, 1, 3],
                                        formulas=list("ABCD"), unit="eV/atom")
    points_atoms, mean_atoms, points_elements, mean_elements = fig.data
    np.testing.assert_allclose(points_atoms.y, np.abs(p - y))
    np.testing.assert_array_equal(mean_atoms.x, [2, 8])
    np.testing.assert_allclose(mean_atoms.y, [0.15, 0.15])
    np.testing.assert_array_equal(mean_elements.x, [1, 2, 3])
    np.testing.assert_allclose(mean_elements.y, [0.0, 0.15, 0.3])
    assert np.all(np.abs(points_atoms.x - np.array([2, 2, 8, 8])) <= 0.2)  # jitter only
    assert fig.layout.yaxis.title.text == "absolute error (eV/atom)"
    assert fig.layout.xaxis.title.text == "atoms in the cell"
    assert fig.layout.xaxis2.title.text == "distinct elements"
    assert "A" == points_atoms.customdata[0][0]


def test_mae_bar_figure():
    fig = parity.mae_bar_figure({"mean": 0.89, "forest": 0.27, "CGCNN": 0.11}, unit="eV/atom",
                                notes={"CGCNN": "ours"})
    bar = fig.data[0]
    assert list(bar.y) == ["mean", "forest", "CGCNN"]
    assert list(bar.text) == ["0.890", "0.270", "0.110"]
    assert list(bar.customdata) == ["", "", "ours"]
    assert fig.layout.xaxis.title.text == "MAE (eV/atom)"
