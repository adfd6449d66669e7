"""Band comparison widget: one material at a time from a dropdown, every model overlaid."""

from __future__ import annotations

import numpy as np
import pytest

from companion.data.sets.mp_phonons import load_mp_phonons
from companion.viz.phonon_compare import BOX_CLASS, band_comparison, comparison_figure


@pytest.fixture(scope="module")
def records():
    return load_mp_phonons(["mp-149", "mp-1960"]).records  # Si (2 atoms), Li2O (3)


def test_comparison_figure_draws_every_model(records):
    si = records[0]
    true = si.labels["frequencies"]
    fig = comparison_figure(si, {"a": true + 1.0, "b": true - 0.5, "c": true})
    assert [t.name for t in fig.data] == ["DFPT", "a", "b", "c"]
    y = np.asarray(fig.data[2].y, dtype=float)
    np.testing.assert_allclose(y[~np.isnan(y)], (true - 0.5).T.reshape(-1))
    assert len({t.line.color for t in fig.data}) == 4  # one color per set
    assert "a 1.00 THz" in fig.layout.title.text and "c 0.00 THz" in fig.layout.title.text
    assert [t.name for t in comparison_figure(si, {"a": true, "b": None}).data] == ["DFPT", "a"]
    with pytest.raises(ValueError, match=r"\[n_q, 3N\]"):
        comparison_figure(si, {"a": true[:, :3]})


def test_dropdown_switches_material(records):
    preds = {"model": [r.labels["frequencies"] + 0.1 for r in records]}
    widget = band_comparison(records, preds)
    assert BOX_CLASS in widget.widget._dom_classes
    assert "mp-149" in widget.figure.layout.title.text
    widget.dropdown.value = 1
    assert "mp-1960" in widget.figure.layout.title.text
    n_q, n_b = records[1].labels["frequencies"].shape
    assert len(widget.figure.data) == 2 and len(widget.figure.data[1].y) == n_b * (n_q + 1)
    with pytest.raises(ValueError, match="2 materials"):
        band_comparison(records, {"model": preds["model"][:1]})
