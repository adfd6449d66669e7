"""Figures that judge a trained regression model: parity plot, errors by size, MAE bars.

- :func:`parity_figure`: predicted against true values (one or several models), hover with
  the formula and material id of each point, the diagonal, and the MAE in the legend.
- :func:`error_breakdown_figure`: absolute error against the number of atoms in the cell and
  against the number of distinct elements, with the mean per group.
- :func:`mae_bar_figure`: a bar chart comparing the MAEs of several models.
- :func:`group_means`: the mean absolute error per group (the numbers behind the lines).

Every function returns a ``plotly.graph_objects.Figure`` whose axes carry units; plotly is
imported inside the functions, so ``import companion.viz`` stays light.

Example (in a notebook):
    >>> from companion.viz import parity
    >>> parity.parity_figure(y_test, {"CGCNN": pred}, formulas=f, material_ids=ids,
    ...                      unit="eV/atom", quantity="formation energy")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

from companion.viz.style import PALETTE as COLORS
from companion.viz.style import data_range, log_ticks, theme

ArrayLike = Sequence[float] | np.ndarray


def _column(values: ArrayLike, n: int, name: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).reshape(-1)  # [n]
    if a.shape != (n,):
        raise ValueError(f"{name} has {a.size} values, expected {n} (one per structure)")
    return a


def _labels(values: Sequence[str] | np.ndarray | None, n: int, name: str) -> np.ndarray:
    if values is None:
        return np.full(n, "")
    a = np.asarray(values).astype(str).reshape(-1)  # [n]
    if a.shape != (n,):
        raise ValueError(f"{name} has {a.size} entries, expected {n} (one per structure)")
    return a


def _unit(unit: str) -> str:
    return f" ({unit})" if unit else ""


def _predictions(prediction: Mapping[str, ArrayLike] | ArrayLike, n: int
                 ) -> dict[str, np.ndarray]:
    if isinstance(prediction, Mapping):
        return {str(k): _column(v, n, f"prediction {k!r}") for k, v in prediction.items()}
    return {"model": _column(prediction, n, "prediction")}


def _hover(unit: str, with_error: bool = True) -> str:
    u = f" {unit}" if unit else ""
    text = ("<b>%{customdata[0]}</b> (%{customdata[1]})<br>true: %{x:.3f}" + u +
            "<br>predicted: %{y:.3f}" + u)
    if with_error:
        text += "<br>error: %{customdata[2]:+.3f}" + u
    return text + "<extra>%{fullData.name}</extra>"


def parity_figure(target: ArrayLike, prediction: Mapping[str, ArrayLike] | ArrayLike,
                  formulas: Sequence[str] | np.ndarray | None = None,
                  material_ids: Sequence[str] | np.ndarray | None = None,
                  unit: str = "", quantity: str = "value", height: int = 520,
                  marker_size: int = 5, floor: float | None = None) -> go.Figure:
    """Predicted against true values, one scatter per model, with the diagonal ``y = x``.

    Args:
        target: true values ([n], ``unit``).
        prediction: predictions ([n]) of one model, or ``{name: [n]}`` of several (drawn in
            order; the legend gives each one's MAE).
        formulas: formula of each structure (hover).
        material_ids: material id of each structure (hover).
        unit: unit of the values, e.g. ``"eV/atom"`` (axis labels and hover).
        quantity: what is predicted, e.g. ``"formation energy"`` (axis labels).
        height: figure height in pixels.
        marker_size: point size in pixels.
        floor: the lowest value the quantity can take (0 for band gaps): the axes start
            there, unless a prediction falls below it (then they show it).

    Raises:
        ValueError: arrays of different lengths.
    """
    import plotly.graph_objects as go

    y = np.asarray(target, dtype=np.float64).reshape(-1)  # [n]
    n = y.size
    preds = _predictions(prediction, n)
    names = np.stack([_labels(formulas, n, "formulas"),
                      _labels(material_ids, n, "material_ids")], axis=1)  # [n, 2]
    fig = go.Figure()
    for k, (name, p) in enumerate(preds.items()):
        mae = float(np.abs(p - y).mean()) if n else float("nan")
        custom = np.concatenate([names, (p - y).round(6).astype(str)[:, None]], axis=1)
        fig.add_trace(go.Scatter(
            x=y, y=p, mode="markers", name=f"{name}: MAE {mae:.3f}{' ' + unit if unit else ''}",
            marker={"size": marker_size, "color": COLORS[k % len(COLORS)], "opacity": 0.7},
            customdata=custom, hovertemplate=_hover(unit)))
    lowest = min([float(p.min()) for p in preds.values() if p.size] + [np.inf])
    lo, hi = data_range(y, *preds.values(), margin=0.03,
                        floor=None if floor is None else min(floor, lowest))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x",
                             line={"color": "gray", "dash": "dash", "width": 1},
                             hoverinfo="skip"))
    # equal scales on both axes; the plot area narrows (constrain="domain") rather than the
    # x range growing past the data
    fig.update_layout(
        height=height, margin={"t": 30, "b": 50, "l": 70, "r": 20},
        xaxis={"title": {"text": f"true {quantity}{_unit(unit)}"}, "range": [lo, hi],
               "constrain": "domain"},
        yaxis={"title": {"text": f"predicted {quantity}{_unit(unit)}"}, "range": [lo, hi],
               "scaleanchor": "x", "scaleratio": 1, "constrain": "domain"})
    return theme(fig, legend="right")


def group_means(values: ArrayLike, groups: ArrayLike
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of ``values`` per distinct value of ``groups``.

    Args:
        values: e.g. absolute errors ([n]).
        groups: integer group of each value, e.g. atoms per cell ([n]).

    Returns:
        ``(keys, means, counts)``: the distinct groups (ascending), the mean of the values in
        each, and how many values each holds ([n_groups] each).
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    groups = np.asarray(groups).reshape(-1)
    if values.shape != groups.shape:
        raise ValueError(f"{values.size} values but {groups.size} group labels")
    keys, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=values, minlength=keys.size)  # [n_groups]
    return keys, sums / np.maximum(counts, 1), counts


def error_breakdown_figure(target: ArrayLike, prediction: ArrayLike, n_atoms: ArrayLike,
                           n_elements: ArrayLike,
                           formulas: Sequence[str] | np.ndarray | None = None,
                           material_ids: Sequence[str] | np.ndarray | None = None,
                           unit: str = "", height: int = 400) -> go.Figure:
    """Absolute error against atoms per cell (left) and distinct elements (right).

    Each structure is a point (hover: formula, material id, error); a line joins the mean
    absolute error of each group, whose hover gives the number of structures in it. Small
    groups (a handful of structures) have noisy means.

    Args:
        target, prediction: true and predicted values ([n], ``unit``).
        n_atoms: atoms in each structure's cell ([n]).
        n_elements: distinct elements in each structure ([n]).
        formulas, material_ids: hover labels ([n]).
        unit: unit of the values.
        height: figure height in pixels.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    y = np.asarray(target, dtype=np.float64).reshape(-1)  # [n]
    n = y.size
    err = np.abs(_column(prediction, n, "prediction") - y)  # [n]
    names = np.stack([_labels(formulas, n, "formulas"),
                      _labels(material_ids, n, "material_ids")], axis=1)  # [n, 2]
    u = f" {unit}" if unit else ""
    fig = make_subplots(cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=("by size of the cell", "by number of elements"))
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, n)  # [n], spreads equal x values
    for col, (counts, label) in enumerate(((n_atoms, "atoms in the cell"),
                                           (n_elements, "distinct elements")), start=1):
        x = _column(counts, n, label)  # [n]
        fig.add_trace(go.Scatter(
            x=x + jitter, y=err, mode="markers", name="structures", showlegend=col == 1,
            legendgroup="points", marker={"size": 4, "color": COLORS[0], "opacity": 0.45},
            customdata=np.concatenate([names, x[:, None].astype(int).astype(str)], axis=1),
            hovertemplate="<b>%{customdata[0]}</b> (%{customdata[1]})<br>" + label +
                          ": %{customdata[2]}<br>|error|: %{y:.3f}" + u + "<extra></extra>"),
            row=1, col=col)
        keys, means, sizes = group_means(err, x)
        fig.add_trace(go.Scatter(
            x=keys, y=means, mode="lines+markers", name="mean per group",
            showlegend=col == 1, legendgroup="mean", customdata=sizes,
            line={"color": COLORS[1]}, marker={"size": 7},
            hovertemplate=label + ": %{x:.0f}<br>MAE: %{y:.3f}" + u +
                          "<br>%{customdata} structures<extra></extra>"),
            row=1, col=col)
        fig.update_xaxes(title_text=label, row=1, col=col)
    positive = err[err > 0]
    vals, text = log_ticks(*(positive.min(), positive.max()) if positive.size else (0.1, 1))
    fig.update_yaxes(type="log", tickvals=vals, ticktext=text)
    fig.update_yaxes(title_text=f"absolute error{_unit(unit)}", row=1, col=1)
    fig.update_layout(height=height, margin={"t": 50, "b": 50})
    return theme(fig, legend="bottom")


def mae_bar_figure(maes: Mapping[str, float], unit: str = "", title: str = "",
                   notes: Mapping[str, str] | None = None, height: int = 360) -> go.Figure:
    """Horizontal bars of the MAE of several models (same test set), value on each bar.

    Args:
        maes: model name -> MAE (``unit``), drawn top to bottom in the given order.
        unit: unit of the MAEs.
        title: figure title.
        notes: model name -> remark shown on hover (e.g. "not held out").
        height: figure height in pixels.
    """
    import plotly.graph_objects as go

    names = list(maes)
    values = [float(maes[k]) for k in names]
    remarks = [(notes or {}).get(k, "") for k in names]
    u = f" {unit}" if unit else ""
    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", text=[f"{v:.3f}" for v in values],
        textposition="outside", customdata=remarks,
        marker_color=[COLORS[k % len(COLORS)] for k in range(len(names))],
        hovertemplate="%{y}: MAE %{x:.4f}" + u + "<br>%{customdata}<extra></extra>"))
    fig.update_layout(
        height=height, title={"text": title} if title else None,
        margin={"t": 50 if title else 20, "l": 10, "r": 40, "b": 50},
        xaxis={"title": {"text": f"MAE{_unit(unit)}"}, "range": [0, 1.15 * max(values or [1])]},
        yaxis={"autorange": "reversed", "automargin": True})
    return theme(fig)
