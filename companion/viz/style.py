"""The course's visual style, in one place: element symbols and colors, the palette, the
plotly theme every figure gets (:func:`theme`), log-axis ticks and data-following ranges.

The standard every figure and widget of the course follows (and the real-browser test
``tests/browser/test_figure_widths.py`` checks where it can):

- one theme (palette, font, margins, hover labels) applied by :func:`theme`; every axis and
  colorbar titled with its unit; hover texts formatted with units and sensible digits;
- every figure and widget fits a 970 px notebook column (:data:`COLUMN_PX`) without
  horizontal scrolling, and without stacking controls away from what they control;
  legends outside the plotting area only where they fit;
- comparisons across views (heads, layers, models) share one scale, stated in the title;
- ranges follow the data with a small margin (:func:`data_range`), never negative where
  the quantity cannot be; log axes label 1-2-5 ticks only (:func:`log_ticks`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def element_symbol(z: int) -> str:
    """Chemical symbol of atomic number ``z``."""
    from ase.data import chemical_symbols

    return chemical_symbols[int(z)]


def element_color(z: int) -> str:
    """Jmol color of element ``z`` as ``"rgb(r, g, b)"`` (the colors NGL uses too)."""
    from ase.data.colors import jmol_colors

    r, g, b = (int(round(255 * c)) for c in jmol_colors[int(z)])
    return f"rgb({r}, {g}, {b})"


# ----------------------------------------------------------------------------- figures

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f")
"""The course's colors, in the order series take them (models, curves, bars)."""

FONT = {"family": "Arial, Helvetica, sans-serif", "size": 13, "color": "#222"}
COLUMN_PX = 970
"""Width of a notebook's output column (a 1400 px window with JupyterLab's file browser open):
every figure and widget must fit it."""
MARGIN = {"l": 70, "r": 30, "t": 40, "b": 55}


def theme(fig: Any, legend: str = "top") -> Any:
    """Apply the course theme to a plotly figure (in place; returns it for chaining).

    White background with light grid lines, the course palette and font, margins that leave
    room for axis titles, hover labels in the font, and the width left to the notebook
    column (``autosize``: the figure fills the output area, never more).

    Args:
        fig: a ``go.Figure`` or ``go.FigureWidget``.
        legend: ``"top"`` (horizontal, above the plot), ``"bottom"`` (horizontal, below the
            x-axis title) or ``"right"`` (plotly's default, only where the plot stays wide).
    """
    legends = {"top": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02,
                       "yanchor": "bottom"},
               "bottom": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.18,
                          "yanchor": "top"},
               "right": {}}
    margin = dict(MARGIN)
    for side in ("l", "r", "t", "b"):
        current = getattr(fig.layout.margin, side, None)
        if current is not None:
            margin[side] = current
    fig.update_layout(template="plotly_white", font=FONT, colorway=list(PALETTE),
                      hoverlabel={"font": {"family": FONT["family"], "size": 12}},
                      autosize=True, width=None, margin=margin, legend=legends[legend])
    return fig


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Ticks of a log axis from ``lo`` to ``hi`` (> 0): 1, 2, 5 times powers of ten where
    the range spans less than three decades, powers of ten beyond; labels without minor
    digits ("0.2", "1", "50", "1k").

    Returns:
        ``(tickvals, ticktext)`` for ``fig.update_yaxes(tickvals=..., ticktext=...)``.
    """
    lo, hi = max(float(lo), 1e-300), max(float(hi), 1e-300)
    if hi < lo:
        lo, hi = hi, lo
    decades = range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1)
    vals: list[float] = []
    # 1-2-5 ticks (powers of ten alone over three decades or more); every digit in a range
    # too narrow for three of those, which is then not crowded; the ends if even that fails
    for steps in ((1, 2, 5) if np.log10(hi / lo) < 3 else (1,), tuple(range(1, 10))):
        vals = [m * 10.0**e for e in decades for m in steps]
        vals = [v for v in vals if lo / 1.0001 <= v <= hi * 1.0001]
        if len(vals) >= 3:
            break
    if len(vals) < 2:
        vals = [lo, hi]
    return vals, [_short(v) for v in vals]


def _short(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{float(f'{v:.3g}'):g}"


def data_range(*arrays: Any, margin: float = 0.05, floor: float | None = None
               ) -> list[float]:
    """``[lo, hi]`` of the finite values of ``arrays``, widened by ``margin`` of the span on
    each side and never below ``floor`` (e.g. 0 for band gaps, energies above a minimum)."""
    values = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [0.0, 1.0]
    lo, hi = float(values.min()), float(values.max())
    pad = margin * (hi - lo or abs(hi) or 1.0)
    lo, hi = lo - pad, hi + pad
    if floor is not None:
        lo = max(lo, floor)
    return [lo, hi]


def set_log_ticks(fig: Any, axis: str, *values: Any) -> Any:
    """Label a log axis of ``fig`` with :func:`log_ticks` over the positive ``values``.

    Args:
        fig: a plotly figure.
        axis: ``"x"`` or ``"y"`` (every subplot's axis of that letter).
        *values: the data drawn on that axis (arrays).
    """
    data = np.concatenate([np.asarray(v, dtype=np.float64).reshape(-1) for v in values])
    data = data[np.isfinite(data) & (data > 0)]
    if data.size:
        vals, text = log_ticks(data.min(), data.max())
        update = fig.update_xaxes if axis == "x" else fig.update_yaxes
        update(type="log", tickvals=vals, ticktext=text)
    return fig
