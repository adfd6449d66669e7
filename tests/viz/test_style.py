"""The course's figure standard: theme, log ticks, data ranges, the live loss curve."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from companion.train import History
from companion.viz.style import PALETTE, data_range, log_ticks, theme
from companion.viz.training import WAITING, LossCurve, history_figure


def test_theme_sets_palette_font_and_leaves_the_width_to_the_column():
    fig = theme(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), legend="bottom")
    assert fig.layout.width is None and fig.layout.autosize
    assert list(fig.layout.colorway) == list(PALETTE)
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (0.06, 1.4, ["0.1", "0.2", "0.5", "1"]),
    (3, 80, ["5", "10", "20", "50"]),
    (0.5, 20000, ["1", "10", "100", "1k", "10k"]),  # four decades: powers of ten only
])
def test_log_ticks_have_no_minor_digits(lo, hi, expected):
    vals, text = log_ticks(lo, hi)
    assert text == expected
    assert all(lo <= v <= hi for v in vals)


def test_data_range_follows_the_data_and_respects_a_floor():
    lo, hi = data_range([0.0, 2.0, 4.0], [1.0, 3.0])
    assert lo == pytest.approx(-0.2) and hi == pytest.approx(4.2)
    assert data_range([0.0, 2.0, 4.0], floor=0.0)[0] == 0.0  # band gaps are never negative
    assert data_range([np.nan, 1.0, 1.0]) == pytest.approx([0.95, 1.05])


def _history(n: int) -> History:
    return History([{"epoch": e, "train_mae": 1.0 / e, "val_mae": 1.2 / e,
                     "lr": 1e-3 * (1 - e / (n + 1))} for e in range(1, n + 1)])


def test_loss_curve_waits_then_shows_whole_epochs_and_a_nonnegative_lr():
    curve = LossCurve(unit="meV/Å", label="force MAE")
    fig = curve.widget
    assert fig.layout.yaxis.title.text == "force MAE (meV/Å)"
    assert fig.layout.annotations[0].text == WAITING  # no 0.1-10k axis before epoch 1
    assert fig.layout.yaxis.showticklabels is False
    curve(_history(1))
    assert not fig.layout.annotations and fig.layout.yaxis.showticklabels
    assert fig.layout.xaxis.dtick == 1 and list(fig.layout.xaxis.range) == [0.5, 1.5]
    assert fig.layout.yaxis2.rangemode == "tozero" and fig.layout.yaxis2.tickmode == "auto"
    curve(_history(37))
    assert fig.layout.xaxis.dtick == 5  # whole epochs, at most ~10 ticks
    assert set(fig.layout.yaxis.ticktext) <= {"0.02", "0.05", "0.1", "0.2", "0.5", "1"}
    static = history_figure(_history(37), unit="eV/atom")
    assert static.layout.xaxis.dtick == 5 and len(static.data) == 3


def test_log_ticks_in_a_narrow_range_use_every_digit():
    assert log_ticks(0.589, 1.37)[1] == ["0.6", "0.7", "0.8", "0.9", "1"]
