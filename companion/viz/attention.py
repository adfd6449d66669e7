r"""Figures of attention potentials: attention weights in 3D, NVE energy drift, force parity.

- :func:`attention_figure` (plotly 3D): the atoms of a molecule or cell, and for every
  directed edge ``j -> i`` the half of the bond next to the center ``i``, its width and color
  given by the attention weight :math:`\alpha_{ij}` of one layer and head. Each bond thus
  shows two numbers: at the end of ``i`` how much ``i`` listens to ``j``, at the end of ``j``
  how much ``j`` listens to ``i``. With ``center=i`` only the edges into ``i`` are drawn,
  whole, with their weights as labels.
- :func:`attention_explorer` (ipywidgets): layer, head and center-atom selectors that
  redraw the figure (a ``FigureWidget``). CSS classes (for browser tests):
  ``companion-attention-layer``, ``companion-attention-head``, ``companion-attention-center``,
  ``companion-attention-figure``.
- :func:`attention_arrays`: the numbers behind the figure (edges, weights), e.g. to check
  that the weights of every center sum to 1.
- :func:`energy_drift_figure` (plotly 2D): total, potential and kinetic energy of an NVE
  run, as the change from the start in meV/atom, with the fitted drift rate.
- :func:`force_parity_figure` (plotly 2D): predicted against DFT force components.
- :func:`cutoff_crossing_figure` (plotly 2D): energy against the distance of an atom that
  crosses the cutoff, for several models (e.g. envelope softmax against plain softmax).

Weights come from ``model.attention_weights(graph)`` (e.g.
:meth:`companion.models.gatv2.GATv2Potential.attention_weights`): one [n_edges, H] tensor per
layer, aligned with ``graph.edge_index`` (row 0 = neighbor j, row 1 = center i). Periodic
edges are drawn to the neighbor's image, so a cell's bonds may leave the box. plotly and
ipywidgets are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from companion.viz.style import PALETTE, data_range, theme

if TYPE_CHECKING:
    import plotly.graph_objects as go

N_BINS = 8
"""Attention weights are drawn in this many width/color classes (one plotly trace each:
a 3D line trace has one width)."""

MAX_WIDTH = 14.0
"""Line width (px) of a weight of 1."""

COLORSCALE = "Viridis"

FS = "fs"

LAYER_CLASS = "companion-attention-layer"
HEAD_CLASS = "companion-attention-head"
CENTER_CLASS = "companion-attention-center"
FIGURE_CLASS = "companion-attention-figure"


def _atoms(obj: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z [n], pos [n, 3] Å, cell [3, 3] Å) of a graph, ASE Atoms or pymatgen object."""
    if hasattr(obj, "edge_index") and hasattr(obj, "pos"):
        cell = obj.cell.reshape(-1, 3, 3)[0].detach().cpu().numpy()
        return (obj.z.cpu().numpy(), obj.pos.detach().cpu().numpy().astype(np.float64),
                cell.astype(np.float64))
    from companion.graphs import as_atoms_arrays

    a = as_atoms_arrays(obj)
    return a.z, a.pos, a.cell


def attention_arrays(graph: Any, alphas: Sequence[Any], layer: int = 0, head: int = 0
                     ) -> dict[str, np.ndarray]:
    """Edges and weights of one layer and head, as numpy arrays.

    Args:
        graph: the graph the weights belong to (``edge_index``, ``edge_shift``, ``pos``).
        alphas: per layer [n_edges, H] tensors or arrays (``model.attention_weights(graph)``).
        layer, head: which weights.

    Returns:
        ``{"src": [n_edges] j, "dst": [n_edges] i, "start": [n_edges, 3] r_i,
        "end": [n_edges, 3] r_j + shift @ cell (Å), "alpha": [n_edges]}``.
    """
    alpha = np.asarray(_numpy(alphas[layer]))[:, head].astype(np.float64)  # [n_edges]
    src, dst = (_numpy(graph.edge_index)).astype(np.int64)  # [n_edges] each
    _, pos, cell = _atoms(graph)
    shift = _numpy(graph.edge_shift).astype(np.float64)  # [n_edges, 3]
    return {"src": src, "dst": dst, "start": pos[dst], "end": pos[src] + shift @ cell,
            "alpha": alpha}


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _color(value: float) -> str:
    from plotly.colors import sample_colorscale

    return sample_colorscale(COLORSCALE, [min(max(value, 0.0), 1.0)])[0]


def _bond_traces(arrays: dict[str, np.ndarray], center: int | None, min_alpha: float,
                 vmax: float) -> list[dict[str, Any]]:
    """Line traces (as dicts) of the edges, binned by weight."""
    keep = arrays["alpha"] >= min_alpha
    if center is not None:
        keep &= arrays["dst"] == center
    start, end, alpha = arrays["start"][keep], arrays["end"][keep], arrays["alpha"][keep]
    if center is None:  # half bonds: from i to the middle of the bond
        end = 0.5 * (start + end)
    edges = np.linspace(0.0, vmax, N_BINS + 1)
    which = np.clip(np.digitize(alpha, edges[1:-1]), 0, N_BINS - 1)  # [n_kept]
    traces = []
    for b in range(N_BINS):
        sel = np.flatnonzero(which == b)
        mid = 0.5 * (edges[b] + edges[b + 1])
        xyz: list[list[float | None]] = [[], [], []]
        text: list[str | None] = []
        for k in sel:
            for c in range(3):
                xyz[c] += [start[k, c], end[k, c], None]
            label = f"α = {alpha[k]:.3f}"
            text += [label, label, None]
        traces.append({"type": "scatter3d", "mode": "lines", "x": xyz[0], "y": xyz[1],
                       "z": xyz[2], "text": text, "hoverinfo": "text", "showlegend": False,
                       "name": f"α {edges[b]:.2f}-{edges[b + 1]:.2f}",
                       "line": {"width": max(1.0, MAX_WIDTH * mid / max(vmax, 1e-9) ),
                                "color": _color(mid / max(vmax, 1e-9))}})
    return traces


def _label(z: np.ndarray, i: int) -> str:
    """``"O2"``: element and index, the name an atom has in the figures and selectors."""
    from companion.viz.style import element_symbol

    return f"{element_symbol(int(z[i]))}{i}"


def _atom_trace(z: np.ndarray, pos: np.ndarray, center: int | None) -> dict[str, Any]:
    from companion.viz.style import element_color

    size = np.where(z == 1, 10.0, 15.0)
    if center is not None:
        size[center] *= 1.5
    # labels on the heavy atoms and the center only, alternately above and below, so that
    # the labels of bonded atoms do not overlap; hydrogens are named on hover
    heavy = [i for i in range(len(z)) if z[i] != 1 or i == center]
    text = ["" for _ in z]
    where = ["top center" for _ in z]
    for k, i in enumerate(heavy):
        text[i] = _label(z, i)
        where[i] = "top center" if k % 2 == 0 else "bottom center"
    return {"type": "scatter3d", "mode": "markers+text", "x": pos[:, 0], "y": pos[:, 1],
            "z": pos[:, 2], "text": text, "textposition": where,
            "hovertext": [_label(z, i) for i in range(len(z))], "hoverinfo": "text",
            "showlegend": False, "textfont": {"size": 13, "color": "#111"},
            # hydrogen filled light gray (its Jmol white looks hollow on a white page)
            "marker": {"size": size,
                       "color": ["#c8c8c8" if x == 1 else element_color(int(x)) for x in z],
                       "line": {"width": 2, "color": "#444"}, "opacity": 1.0}}


def _colorbar_trace(vmax: float, show: bool = True) -> dict[str, Any]:
    """An invisible marker that carries the colorbar of the weights."""
    return {"type": "scatter3d", "mode": "markers", "x": [None], "y": [None], "z": [None],
            "showlegend": False, "hoverinfo": "skip",
            "marker": {"size": 0.1, "color": [0.0], "cmin": 0.0, "cmax": vmax,
                       "colorscale": COLORSCALE, "showscale": show,
                       "colorbar": {"title": {"text": "α<sub>ij</sub>"}, "len": 0.6}}}


def _traces(graph: Any, alphas: Sequence[Any], layer: int, head: int, center: int | None,
            min_alpha: float, vmax: float, colorbar: bool = True) -> list[dict[str, Any]]:
    arrays = attention_arrays(graph, alphas, layer, head)
    z, pos, _ = _atoms(graph)
    return [*_bond_traces(arrays, center, min_alpha, vmax), _atom_trace(z, pos, center),
            _colorbar_trace(vmax, colorbar)]


def _title(graph: Any, layer: int, head: int | Sequence[int], center: int | None) -> str:
    z, _, _ = _atoms(graph)
    where = ("half bond next to each center i" if center is None
             else f"edges into {_label(z, center)} (atom {center})")
    heads = [head] if isinstance(head, int) else list(head)
    which = ", ".join(f"head {h + 1}" for h in heads)
    return f"attention α<sub>ij</sub>, layer {layer + 1}, {which}: {where}"


SCALE_NOTE = "color and width: one scale, 0 to 1, for every layer and head"


def attention_figure(graph: Any, alphas: Sequence[Any], layer: int = 0,
                     head: int | Sequence[int] = 0, center: int | None = None,
                     min_alpha: float = 0.0, vmax: float = 1.0, height: int = 480
                     ) -> go.Figure:
    """The attention weights of one layer, for one head or several side by side (module
    docstring), on one color and width scale from 0 to ``vmax`` (1: every weight of every
    layer and head is comparable at a glance; the subtitle says so).

    Args:
        graph: the graph (``to_graph(atoms, **model.config.graph_options)``).
        alphas: ``model.attention_weights(graph)``: per layer [n_edges, H].
        layer: 0-based.
        head: 0-based head, or several (one 3D view each, side by side, one scale).
        center: draw only the edges into this atom (whole edges), or None (half bonds).
        min_alpha: hide weights below this.
        vmax: weight at the top of the color and width scale (1 by default).
        height: pixels.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    heads = [head] if isinstance(head, int) else list(head)
    scene = {"aspectmode": "data", "xaxis": {"visible": False}, "yaxis": {"visible": False},
             "zaxis": {"visible": False}}
    if len(heads) == 1:
        fig = go.Figure(_traces(graph, alphas, layer, heads[0], center, min_alpha, vmax))
        fig.update_layout(scene=scene)
    else:
        fig = make_subplots(cols=len(heads), specs=[[{"type": "scene"}] * len(heads)],
                            subplot_titles=[f"head {h + 1}" for h in heads],
                            horizontal_spacing=0.02)
        for k, h in enumerate(heads):
            for trace in _traces(graph, alphas, layer, h, center, min_alpha, vmax,
                                 colorbar=k == len(heads) - 1):
                fig.add_trace(trace, row=1, col=k + 1)
        fig.update_scenes(scene)
    title = _title(graph, layer, heads if len(heads) > 1 else heads[0], center)
    fig.update_layout(title={"text": f"{title}<br><sup>{SCALE_NOTE}</sup>",
                             "font": {"size": 14}},
                      height=height, margin={"l": 0, "r": 0, "t": 90 if len(heads) > 1
                                                     else 60, "b": 0})
    return theme(fig)


def _bars(graph: Any, alphas: Sequence[Any], layer: int, center: int) -> dict[str, Any]:
    """x, y, text of the weight bars: the edges into ``center``, every head of ``layer``."""
    arrays = attention_arrays(graph, alphas, layer, 0)
    z, _, _ = _atoms(graph)
    into = np.flatnonzero(arrays["dst"] == center)
    names = [_label(z, int(j)) for j in arrays["src"][into]]
    weights = _numpy(alphas[layer])[into]  # [n_in, H]
    return {"names": names, "weights": weights}


def _bar_traces(graph: Any, alphas: Sequence[Any], layer: int, head: int,
                center: int | None) -> list[dict[str, Any]]:
    from companion.viz.style import PALETTE

    n_heads = _numpy(alphas[layer]).shape[1]
    if center is None:
        return [{"type": "bar", "x": [], "y": [], "name": f"head {h + 1}"}
                for h in range(n_heads)]
    b = _bars(graph, alphas, layer, center)
    return [{"type": "bar", "x": b["names"], "y": b["weights"][:, h], "name": f"head {h + 1}",
             "text": [f"{v:.2f}" if h == head else "" for v in b["weights"][:, h]],
             "textposition": "outside", "cliponaxis": False, "textfont": {"size": 11},
             "marker": {"color": PALETTE[h % len(PALETTE)],
                        "opacity": 1.0 if h == head else 0.3},
             "hovertemplate": "%{x} → center: α = %{y:.3f}<extra>head " + str(h + 1)
                              + "</extra>"}
            for h in range(n_heads)]


class AttentionExplorer:
    """Layer, head and center selectors (one row) above the 3D view of the weights and a bar
    chart of the chosen center's incoming weights (every head; the chosen one labelled), both
    on the fixed 0-1 scale.

    Attributes:
        widget: the ``ipywidgets.VBox`` to display; ``figure``: the 3D ``FigureWidget``;
        ``bars``: the bar chart; layer, head, center: the selectors (``center`` value -1
        means all atoms, drawn as half bonds).
    """

    def __init__(self, graph: Any, alphas: Sequence[Any], height: int = 440) -> None:
        import ipywidgets as w
        import plotly.graph_objects as go

        self.graph, self.alphas = graph, [_numpy(a) for a in alphas]
        n_layers, n_heads = len(self.alphas), self.alphas[0].shape[1]
        z, _, _ = _atoms(graph)
        heavy = [i for i in range(len(z)) if z[i] != 1] or [0]
        narrow = {"description_width": "initial"}
        self.layer = w.Dropdown(options=[(f"layer {t + 1}", t) for t in range(n_layers)],
                                value=0, description="layer", style=narrow,
                                layout=w.Layout(width="150px"))
        self.center = w.Dropdown(options=[("all atoms", -1)] + [
            (_label(z, i), i) for i in range(len(z))], value=heavy[0],
            description="center i", style=narrow, layout=w.Layout(width="190px"))
        self.head = w.ToggleButtons(options=[(f"{h + 1}", h) for h in range(n_heads)],
                                    value=0, description="head", style={
                                        **narrow, "button_width": "40px"},
                                    tooltips=[f"head {h + 1}" for h in range(n_heads)],
                                    layout=w.Layout(width=f"{90 + 48 * n_heads}px"))
        center = int(self.center.value)
        self.figure = go.FigureWidget(attention_figure(graph, self.alphas, center=center,
                                                       height=height))
        self.figure.update_layout(width=600, autosize=False)
        self.bars = go.FigureWidget(theme(go.Figure(
            _bar_traces(graph, self.alphas, 0, 0, center),
            layout={"height": height, "width": 340, "autosize": False, "barmode": "group",
                    "uniformtext": {"minsize": 10, "mode": "show"},
                    "yaxis": {"title": {"text": "α<sub>ij</sub> (weight of j)"},
                              "range": [0, 1.08]},
                    "xaxis": {"title": {"text": "neighbor j"}},
                    "title": {"text": "weights into the center", "font": {"size": 14}},
                    "margin": {"l": 60, "r": 10, "t": 60, "b": 50}}), legend="bottom"))
        self.bars.update_layout(width=340, autosize=False)
        for control, css in ((self.layer, LAYER_CLASS), (self.head, HEAD_CLASS),
                             (self.center, CENTER_CLASS), (self.figure, FIGURE_CLASS)):
            control.add_class(css)
        for control in (self.layer, self.head, self.center):
            control.observe(self._redraw, names="value")
        self.widget = w.VBox([w.HBox([self.layer, self.center, self.head],
                                     layout=w.Layout(flex_flow="row nowrap",
                                                     align_items="center")),
                              w.HBox([self.figure, self.bars])])

    def _redraw(self, _: Any = None) -> None:
        center = None if self.center.value < 0 else int(self.center.value)
        layer, head = self.layer.value, self.head.value
        traces = _traces(self.graph, self.alphas, layer, head, center, 0.0, 1.0)
        with self.figure.batch_update():
            for trace, new in zip(self.figure.data, traces, strict=True):
                trace.update({k: v for k, v in new.items() if k != "type"})
            self.figure.layout.title.text = (f"{_title(self.graph, layer, head, center)}"
                                             f"<br><sup>{SCALE_NOTE}</sup>")
        with self.bars.batch_update():
            for trace, new in zip(self.bars.data,
                                  _bar_traces(self.graph, self.alphas, layer, head, center),
                                  strict=True):
                trace.update({k: v for k, v in new.items() if k != "type"})

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def attention_explorer(model: Any, structure: Any, dtype: Any = None,
                       height: int = 440) -> AttentionExplorer:
    """An :class:`AttentionExplorer` for ``model`` on a structure (ASE ``Atoms``, pymatgen,
    arrays, or a prebuilt graph of the model's radius)."""
    import torch

    from companion.graphs import to_graph

    graph = structure
    if not hasattr(structure, "edge_index"):
        dtype = dtype or next(model.parameters()).dtype
        graph = to_graph(structure, **model.config.graph_options, dtype=dtype,
                         allow_isolated=True)
    with torch.no_grad():
        alphas = model.attention_weights(graph)
    return AttentionExplorer(graph, alphas, height)


def energy_drift_figure(time_fs: Sequence[float] | np.ndarray,
                        total: Sequence[float] | np.ndarray,
                        potential: Sequence[float] | np.ndarray | None = None,
                        kinetic: Sequence[float] | np.ndarray | None = None,
                        n_atoms: int = 1, height: int = 520) -> go.Figure:
    """Energies of an NVE run, as the change from the first step (meV/atom).

    Top panel: potential and kinetic energy (they exchange energy as the atoms vibrate);
    bottom panel: their sum on its own, much finer scale, with the linear drift rate fitted
    over the run in the legend. An exact integration would keep the total constant; Verlet's
    finite step makes it oscillate (it conserves a nearby "shadow" energy) and a potential
    that is not smooth makes it drift.

    Args:
        time_fs: [n] time of each sample, fs.
        total: [n] total energy, eV. potential, kinetic: [n] eV (optional, top panel).
        n_atoms: atoms in the system (to show meV/atom).
        height: pixels.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    t = np.asarray(time_fs, dtype=np.float64)
    scale = 1000.0 / max(int(n_atoms), 1)  # eV -> meV/atom

    def change(values: Any) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        return (v - v[0]) * scale

    parts = [(n, v, c) for n, v, c in (("potential", potential, PALETTE[0]),
                                       ("kinetic", kinetic, PALETTE[2])) if v is not None]
    hover = "t = %{x:.1f} " + FS + "<br>%{y:+.3f} meV/atom<extra>%{fullData.name}</extra>"
    rows = 2 if parts else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.5, 0.5] if rows == 2 else None)
    for name, values, color in parts:
        fig.add_trace(go.Scatter(x=t, y=change(values), name=name, mode="lines",
                                 line={"color": color, "width": 1.5}, hovertemplate=hover),
                      row=1, col=1)
    e = change(total)
    label = "total"
    if len(t) > 1:
        slope = np.polyfit(t, e, 1)[0] * 1000.0  # meV/atom per ps
        label = f"total (drift {slope:+.3g} meV/atom/ps)"
    fig.add_trace(go.Scatter(x=t, y=e, name=label, mode="lines",
                             line={"color": PALETTE[1], "width": 2}, hovertemplate=hover),
                  row=rows, col=1)
    fig.update_xaxes(title_text=f"time ({FS})", row=rows, col=1)
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text="E(t) - E(0) (meV/atom)", row=r, col=1)
    fig.update_layout(height=height, margin={"l": 70, "r": 20, "t": 30, "b": 45})
    return theme(fig)


def force_parity_figure(true: np.ndarray, predicted: Sequence[np.ndarray] | np.ndarray,
                        name: str = "model", unit: str = "eV/Å", max_points: int = 20000,
                        height: int = 420) -> go.Figure:
    """Predicted against reference force components, with the MAE in the legend.

    Args:
        true: reference forces, any shape ([n_atoms, 3] or a list of them), eV/Å.
        predicted: the same shape.
        name: legend name.
        unit: axis unit.
        max_points: at most this many components drawn (evenly spaced), all in the MAE.
        height: pixels.
    """
    import plotly.graph_objects as go

    def flat(x: Any) -> np.ndarray:
        if isinstance(x, list | tuple):
            return np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in x])
        return np.asarray(x, dtype=np.float64).reshape(-1)

    y, p = flat(true), flat(predicted)
    if y.shape != p.shape:
        raise ValueError(f"{y.size} reference but {p.size} predicted components")
    mae = float(np.abs(p - y).mean())
    step = max(1, len(y) // max_points)
    lo, hi = data_range(y, p, margin=0.03)
    fig = go.Figure([
        go.Scattergl(x=y[::step], y=p[::step], mode="markers",
                     marker={"size": 4, "opacity": 0.6, "color": PALETTE[0]},
                     name=f"{name}: MAE {mae:.4f} {unit} ({1000 * mae:.1f} m{unit})",
                     hovertemplate="DFT %{x:.3f} " + unit + "<br>predicted %{y:.3f} " + unit
                                   + "<extra></extra>"),
        go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"color": "#555", "dash": "dash"},
                   name="y = x", hoverinfo="skip")])
    fig.update_layout(height=height, margin={"l": 60, "r": 20, "t": 30, "b": 45},
                      xaxis={"title": {"text": f"DFT force component ({unit})"},
                             "range": [lo, hi], "constrain": "domain"},
                      yaxis={"title": {"text": f"predicted force component ({unit})"},
                             "range": [lo, hi], "scaleanchor": "x", "constrain": "domain"})
    return theme(fig, legend="right")


def cutoff_crossing_figure(distance: Sequence[float] | np.ndarray,
                           energies: dict[str, Sequence[float] | np.ndarray],
                           cutoff: float, unit: str = "eV", height: int = 360) -> go.Figure:
    """Energy against the distance of an atom that crosses the cutoff sphere.

    Args:
        distance: [n] distances, Å.
        energies: legend name -> [n] energies (each curve is drawn relative to its first
            value, so that curves of different models share one axis).
        cutoff: r_c, Å (a vertical line).
        unit: energy unit.
        height: pixels.
    """
    import plotly.graph_objects as go

    d = np.asarray(distance, dtype=np.float64)
    fig = go.Figure()
    for k, (name, values) in enumerate(energies.items()):
        v = np.asarray(values, dtype=np.float64)
        fig.add_trace(go.Scatter(x=d, y=v - v[0], name=name, mode="lines",
                                 line={"width": 2.5 if k == 0 else 1.5,
                                       "dash": "solid" if k == 0 else "dash"},
                                 hovertemplate="d = %{x:.3f} Å<br>%{y:+.4g} " + unit
                                               + "<extra>%{fullData.name}</extra>"))
    # the label sits beside the line, at the top, not on it
    fig.add_vline(x=cutoff, line={"color": "#888", "dash": "dot"},
                  annotation={"text": f"r<sub>c</sub> = {cutoff:g} Å", "xanchor": "left",
                              "yanchor": "top", "x": cutoff, "y": 1, "xshift": 4,
                              "showarrow": False, "bgcolor": "rgba(255,255,255,0.8)"})
    fig.update_layout(height=height, margin={"l": 60, "r": 20, "t": 30, "b": 45},
                      xaxis={"title": {"text": "distance of the moving atom (Å)"}},
                      yaxis={"title": {"text": f"E(d) - E(d<sub>0</sub>) ({unit})"}})
    return theme(fig)
