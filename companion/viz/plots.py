"""2D figures of the course: distance expansions, bond angles, neighbor counts, targets.

Every function returns a ``plotly.graph_objects.Figure`` whose axes carry units; plotly is
imported inside the functions, so ``import companion.viz`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def _as_dict(values: Mapping[str, Sequence[float]] | Sequence[float] | np.ndarray,
             label: str) -> dict[str, np.ndarray]:
    if isinstance(values, Mapping):
        return {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in values.items()}
    return {label: np.asarray(values, dtype=np.float64).reshape(-1)}


def gaussian_expansion_figure(
    distances: Sequence[float] = (1.9, 2.8, 4.05),
    start: float = 0.0,
    stop: float = 8.0,
    step: float = 0.2,
    width: float | None = None,
    height: int = 380,
) -> go.Figure:
    """CGCNN's Gaussian distance expansion: the basis, and the features of a few distances.

    Left: the basis functions ``e_k(d) = exp(-(d - mu_k)^2 / sigma^2)`` against ``d``
    (every one drawn thin; the selected distances as dashed lines). Right: the feature
    vector ``[e_0(d), ..., e_{K-1}(d)]`` of each selected distance against ``mu_k``.
    Numbers from :func:`companion.nn.radial.gaussian_expansion`.

    Args:
        distances: distances to expand, Å.
        start, stop, step, width: parameters of the expansion, Å (CGCNN: 0, 8, 0.2, 0.2).
        height: figure height in pixels.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from companion.nn.radial import gaussian_expansion

    d = np.linspace(start, stop + 1.0, 600)  # [n_points] Å
    basis = gaussian_expansion(d, start, stop, step, width)  # [n_points, n_basis]
    n_basis = basis.shape[1]
    mu = start + step * np.arange(n_basis)  # [n_basis] Å
    sigma = step if width is None else width
    fig = make_subplots(cols=2, subplot_titles=(
        f"{n_basis} Gaussians, σ = {sigma:g} Å", "features of one distance"))
    for k in range(n_basis):
        fig.add_trace(go.Scatter(x=d, y=basis[:, k], mode="lines", showlegend=False,
                                 line={"width": 1, "color": "lightgray"},
                                 hovertemplate=f"μ_{k} = {mu[k]:.2f} Å<br>d = %{{x:.2f}} Å"
                                               "<br>e = %{y:.3f}<extra></extra>"),
                      row=1, col=1)
    features = gaussian_expansion(np.asarray(distances), start, stop, step, width)
    for n, (dist, f) in enumerate(zip(distances, features, strict=True)):
        color = COLORS[n % len(COLORS)]
        fig.add_vline(x=dist, line={"color": color, "dash": "dash"}, row=1, col=1)
        fig.add_trace(go.Bar(x=mu, y=f, name=f"d = {dist:g} Å", marker_color=color,
                             opacity=0.7, hovertemplate="μ = %{x:.2f} Å<br>e = %{y:.3f}"),
                      row=1, col=2)
    fig.update_xaxes(title_text="distance d (Å)", row=1, col=1)
    fig.update_yaxes(title_text="e_k(d)", row=1, col=1)
    fig.update_xaxes(title_text="center μ_k (Å)", row=1, col=2)
    fig.update_yaxes(title_text="feature value", row=1, col=2)
    fig.update_layout(height=height, barmode="overlay", margin={"t": 50})
    return fig


def bond_angle_figure(
    cosines: Mapping[str, Sequence[float]] | Sequence[float] | np.ndarray,
    bins: int = 90,
    density: bool = False,
    height: int = 380,
) -> go.Figure:
    """Histogram of bond angles from line-graph cosines (one overlaid histogram per entry).

    Args:
        cosines: ``cos(theta)`` values (e.g. :func:`companion.graphs.bond_cosines`), or a
            mapping ``label -> values`` to compare several sets.
        bins: number of bins over 0..180°.
        density: normalize each histogram to a probability density (per degree).
        height: figure height in pixels.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    size = 180.0 / bins
    for n, (label, cos) in enumerate(_as_dict(cosines, "bond angles").items()):
        angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))  # [n_triplets] degrees
        fig.add_trace(go.Histogram(
            x=angle, name=f"{label} ({len(angle)} triplets)", opacity=0.6,
            marker_color=COLORS[n % len(COLORS)],
            histnorm="probability density" if density else "",
            xbins={"start": 0.0, "end": 180.0, "size": size},
            hovertemplate="θ = %{x} °<br>%{y}<extra></extra>"))
    fig.update_layout(barmode="overlay", height=height, margin={"t": 40},
                      xaxis={"title": "bond angle θ (degrees)", "range": [0, 180.5],
                             "dtick": 30},
                      yaxis={"title": "density (1/degree)" if density else "triplets"})
    return fig


def count_comparison_figure(
    counts: Mapping[str, Sequence[int]],
    labels: Sequence[str] | None = None,
    title: str = "neighbors per atom",
    height: int = 340,
) -> go.Figure:
    """Grouped bars of per-atom neighbor counts from several methods.

    Args:
        counts: ``method -> [n_atoms]`` counts.
        labels: x tick label of each atom (default: its index).
        title: figure title.
        height: figure height in pixels.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for n, (name, values) in enumerate(counts.items()):
        values = np.asarray(values).reshape(-1)
        x = list(labels) if labels is not None else [str(i) for i in range(len(values))]
        fig.add_trace(go.Bar(x=x, y=values, name=name, marker_color=COLORS[n % len(COLORS)],
                             text=values, textposition="outside",
                             hovertemplate="atom %{x}<br>%{y} neighbors<extra></extra>"))
    fig.update_layout(barmode="group", height=height, title=title, margin={"t": 50},
                      xaxis={"title": "atom", "type": "category"},
                      yaxis={"title": "neighbors within the cutoff"})
    return fig


def neighbor_count_figure(
    counts: Mapping[str, Sequence[int]] | Sequence[int] | np.ndarray,
    title: str = "neighbors per atom",
    height: int = 320,
) -> go.Figure:
    """Histogram (integer bins) of the number of neighbors per atom, one trace per entry."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for n, (label, c) in enumerate(_as_dict(counts, "atoms").items()):
        fig.add_trace(go.Histogram(x=c, name=label, xbins={"size": 1}, opacity=0.7,
                                   marker_color=COLORS[n % len(COLORS)],
                                   hovertemplate="%{x} neighbors: %{y} atoms<extra></extra>"))
    fig.update_layout(barmode="overlay", height=height, title=title, margin={"t": 50},
                      xaxis={"title": "neighbors of an atom"}, yaxis={"title": "atoms"})
    return fig


def target_histogram(
    values: Sequence[float] | np.ndarray,
    name: str,
    unit: str,
    bins: int = 60,
    height: int = 320,
) -> go.Figure:
    """Histogram of a regression target, with its unit on the axis.

    Args:
        values: target values.
        name: what the target is (e.g. ``"formation energy"``).
        unit: its unit (e.g. ``"eV/atom"``).
        bins: number of bins.
        height: figure height in pixels.
    """
    import plotly.graph_objects as go

    values = np.asarray(values, dtype=np.float64).reshape(-1)
    fig = go.Figure(go.Histogram(x=values, nbinsx=bins, marker_color=COLORS[0],
                                 hovertemplate=f"%{{x}} {unit}<br>%{{y}} structures"
                                               "<extra></extra>"))
    fig.update_layout(height=height, margin={"t": 50},
                      title=f"{name} of {len(values)} structures",
                      xaxis={"title": f"{name} ({unit})"}, yaxis={"title": "structures"})
    return fig
