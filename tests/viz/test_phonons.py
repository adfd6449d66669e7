"""Phonon band figure and explorer: traces, labels, overlay, DOS, mode animation."""

from __future__ import annotations

import numpy as np
import pytest

from companion.data.sets.mp_phonons import load_mp_phonons
from companion.viz.phonons import (
    band_explorer,
    band_figure,
    band_path_distance,
    mode_frames,
)


@pytest.fixture(scope="module")
def si():
    return load_mp_phonons(["mp-149"], eigendisplacements=True)[0]


def test_band_figure(si):
    lab = si.labels
    labels = si.info["qpoint_labels"]
    dist = band_path_distance(lab["qpoints"], lab["reciprocal_lattice"], labels)
    assert dist[0] == 0 and np.all(np.diff(dist) >= 0)
    fig = band_figure(dist, lab["frequencies"], labels, overlay=lab["frequencies"] + 0.5,
                      dos=(lab["dos_frequencies"], lab["dos_densities"]))
    assert [t.name for t in fig.data] == ["DFPT", "model", "DOS"]
    n_q, n_b = lab["frequencies"].shape
    assert len(fig.data[0].y) == n_b * (n_q + 1)  # one line per branch, NaN-separated
    y = np.asarray(fig.data[0].y, dtype=float)
    np.testing.assert_allclose(y[~np.isnan(y)], lab["frequencies"].T.reshape(-1))
    assert fig.data[1].line.dash == "dash"
    texts = list(fig.layout.xaxis.ticktext)
    assert texts[0] == "Γ" and "X" in texts and "L" in texts
    with pytest.raises(ValueError, match="same q-points"):
        band_figure(dist[:-1], lab["frequencies"], labels)


def test_mode_frames():
    z, pos, cell = np.array([14]), np.zeros((1, 3)), 3.0 * np.eye(3)
    e = np.array([[1.0, 0.0, 0.0]], dtype=complex)
    z_out, frames = mode_frames((z, pos, cell), np.array([0.5, 0, 0]), e, supercell=(2, 1, 1),
                                n_frames=4, amplitude=0.2)
    assert z_out.tolist() == [14, 14] and frames.shape == (4, 2, 3)
    # q = X/2: the two cells move in opposite directions along x, 0.2 Å at t = 0
    np.testing.assert_allclose(frames[0, :, 0] - np.array([0.0, 3.0]), [0.2, -0.2])
    np.testing.assert_allclose(frames[1, :, 0] - np.array([0.0, 3.0]), [0.0, 0.0], atol=1e-12)


def test_band_explorer_selects_modes(si):
    ex = band_explorer(si, overlay=si.labels["frequencies"] * 0.95)
    assert ex.mode == (0, 5) and "THz" in ex.label.value
    before = np.array([a.positions for a in ex._frames])
    ex.select(40, 1)
    after = np.array([a.positions for a in ex._frames])
    assert ex.mode == (40, 1) and np.abs(after - before).max() > 1e-3
    assert f"{si.labels['frequencies'][40, 1]:.3f} THz" in ex.label.value

    class Points:  # what plotly passes to a click callback
        point_inds = [3 * (len(si.labels["qpoints"]) + 1) + 7]  # branch 3, q-point 7

    ex._on_click(ex.figure.data[0], Points(), None)
    assert ex.mode == (7, 3)
    with pytest.raises(ValueError, match="eigendisplacements"):
        band_explorer(load_mp_phonons(["mp-149"])[0])
