"""Plotly 3D figure of a crystal graph: atoms, unit cell, and edges to periodic images.

Every edge ``j -> i`` (schema: :mod:`companion.graphs.keys`) is drawn as a line from the
center atom ``i`` to the image of its neighbor ``j`` that the edge points at,
``pos[j] + edge_shift @ cell``. Neighbor images outside the unit cell are drawn as faded
spheres, so a cell smaller than the cutoff shows the many images of the same atom.

The figure has a fixed set of traces, each tagged with its role in ``trace.meta`` (see
:data:`TRACES`; the legend name may differ), so that
:func:`update_graph_figure` can redraw a ``go.FigureWidget`` in place when the graph
changes (the explorer of :mod:`companion.viz.widgets` does so on every slider move).

plotly is imported inside the functions, so ``import companion.viz`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from companion.graphs.arrays import atoms_of, cell_edges, edge_arrays
from companion.graphs.atoms import AtomsArrays
from companion.viz.style import element_color, element_symbol

if TYPE_CHECKING:
    import plotly.graph_objects as go

CELL, IMAGES, EDGES, SELECTED_EDGES, SELECTED_ATOM = (
    "unit cell", "neighbor images", "edges", "selected edges", "selected atom")
TRACES = (CELL, IMAGES, EDGES, SELECTED_EDGES, SELECTED_ATOM)
"""Roles (``trace.meta``) of the traces of :func:`graph_figure`, besides one trace per element
(role ``"atoms"``, named by its symbol)."""

HIGHLIGHT_COLOR = "crimson"






def _segments(start: np.ndarray, end: np.ndarray) -> tuple[list, list, list]:
    """x, y, z lists of line segments separated by ``None`` (plotly's line breaks)."""
    xyz: list[list] = [[], [], []]
    for p, q in zip(start, end, strict=True):
        for axis in range(3):
            xyz[axis] += [float(p[axis]), float(q[axis]), None]
    return xyz[0], xyz[1], xyz[2]


def _edge_trace_data(atoms: AtomsArrays, graph: Any, keep: np.ndarray) -> dict[str, Any]:
    src, dst, shift, _ = edge_arrays(graph)
    start = atoms.pos[dst[keep]]  # [n_kept, 3] center i
    end = atoms.pos[src[keep]] + shift[keep] @ atoms.cell  # [n_kept, 3] image of j
    x, y, z = _segments(start, end)
    dist = np.linalg.norm(end - start, axis=1)  # [n_kept]
    text = []
    for e, d in zip(np.flatnonzero(keep), dist, strict=True):
        label = (f"edge {e}: {src[e]} ({element_symbol(atoms.z[src[e]])}) → {dst[e]} "
                 f"({element_symbol(atoms.z[dst[e]])})<br>d = {d:.3f} Å, "
                 f"shift {shift[e].tolist()}")
        text += [label, label, None]
    return {"x": x, "y": y, "z": z, "hovertext": text}


def _image_trace_data(atoms: AtomsArrays, graph: Any) -> dict[str, Any]:
    src, _, shift, pad = edge_arrays(graph)
    images = np.unique(np.column_stack([src, shift])[~pad & shift.any(axis=1)], axis=0)
    j, s = images[:, 0], images[:, 1:]  # [n_images], [n_images, 3]
    pos = atoms.pos[j] + s @ atoms.cell  # [n_images, 3]
    text = [f"image of atom {a} ({element_symbol(atoms.z[a])}), shift {v.tolist()}<br>"
            f"({p[0]:.2f}, {p[1]:.2f}, {p[2]:.2f}) Å" for a, v, p in zip(j, s, pos, strict=True)]
    return {"x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2], "hovertext": text,
            "marker": {"color": [element_color(atoms.z[a]) for a in j]}}


def graph_trace_data(obj: Any, graph: Any = None, highlight: int | None = None,
                     edge_mask: np.ndarray | None = None) -> dict[str, dict[str, Any]]:
    """Data of the graph-dependent traces, by trace name (used to update a figure in place).

    Args:
        obj: the structure (or a CrystalGraph, whose atoms are used).
        graph: a ``CrystalGraph`` or ``NeighborList`` of ``obj``; ``None`` draws no edges.
        highlight: atom index whose incoming edges (messages ``j -> highlight``) are selected.
        edge_mask: [n_edges] bool, more edges to select (e.g. the ones a method missed).

    Returns:
        ``{trace name: {"x": ..., "y": ..., "z": ..., ...}}`` for the images, edges, selected
        edges and selected atom traces. Padding edges (CGCNN policy) are never drawn.
    """
    atoms = atoms_of(obj)
    empty = {"x": [], "y": [], "z": [], "hovertext": []}
    if graph is None:
        data = {IMAGES: dict(empty, marker={"color": []}), EDGES: empty, SELECTED_EDGES: empty}
    else:
        src, dst, _, pad = edge_arrays(graph)
        selected = np.zeros(len(src), bool)
        if highlight is not None:
            selected |= dst == highlight
        if edge_mask is not None:
            selected |= np.asarray(edge_mask, bool)
        data = {IMAGES: _image_trace_data(atoms, graph),
                EDGES: _edge_trace_data(atoms, graph, ~pad),
                SELECTED_EDGES: _edge_trace_data(atoms, graph, ~pad & selected)}
    if highlight is None:
        data[SELECTED_ATOM] = dict(empty)
    else:
        p = atoms.pos[highlight]
        data[SELECTED_ATOM] = {"x": [p[0]], "y": [p[1]], "z": [p[2]], "hovertext": [
            f"selected: atom {highlight} ({element_symbol(atoms.z[highlight])})"]}
    return data


def edge_summary(graph: Any) -> str:
    """One line: number of drawn edges, and of padding edges left out."""
    _, _, _, pad = edge_arrays(graph)
    text = f"{int((~pad).sum())} edges"
    return text + (f" (+{int(pad.sum())} padding edges, not drawn)" if pad.any() else "")


def graph_figure(
    obj: Any,
    graph: Any = None,
    highlight: int | None = None,
    edge_mask: np.ndarray | None = None,
    show_cell: bool = True,
    title: str | None = None,
    height: int = 520,
    selected_label: str = SELECTED_EDGES,
) -> go.Figure:
    """3D figure of a structure and the edges of its graph.

    Args:
        obj: pymatgen ``Structure``, ASE ``Atoms``, ``(z, pos, cell)`` or a ``CrystalGraph``
            (then its own edges are drawn unless ``graph`` is given).
        graph: ``CrystalGraph`` or ``NeighborList`` of ``obj`` whose edges to draw.
        highlight: atom index whose incoming edges are drawn thick (the messages it gets).
        edge_mask: [n_edges] bool, extra edges to draw thick.
        show_cell: draw the unit cell.
        title: figure title (default: the number of edges).
        height: figure height in pixels.
        selected_label: legend name of the thick edges (e.g. "missed by minimum image").

    Returns:
        A ``plotly.graph_objects.Figure`` with the traces of :data:`TRACES` (role in
        ``trace.meta``) and one trace per element (atoms of the unit cell; ``customdata``
        holds the atom indices).
    """
    import plotly.graph_objects as go

    if graph is None and hasattr(obj, "edge_index"):
        graph = obj
    atoms = atoms_of(obj)
    fig = go.Figure()
    if show_cell and atoms.periodic:
        x, y, z = _segments(*map(np.array, zip(*cell_edges(atoms.cell), strict=True)))
    else:
        x = y = z = []
    fig.add_trace(go.Scatter3d(x=x, y=y, z=z, mode="lines", name=CELL, meta=CELL,
                               hoverinfo="skip",
                               line={"color": "black", "width": 2}))
    for number in np.unique(atoms.z):
        index = np.flatnonzero(atoms.z == number)
        p = atoms.pos[index]
        symbol = element_symbol(number)
        fig.add_trace(go.Scatter3d(
            x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers", name=symbol, meta="atoms",
            customdata=index,
            marker={"size": 9, "color": element_color(number),
                    "line": {"color": "black", "width": 1}},
            hovertext=[f"atom {i}: {symbol} (Z = {number})<br>"
                       f"({q[0]:.2f}, {q[1]:.2f}, {q[2]:.2f}) Å" for i, q in zip(index, p,
                                                                                 strict=True)],
            hoverinfo="text"))
    fig.add_trace(go.Scatter3d(mode="markers", name=IMAGES, meta=IMAGES, hoverinfo="text",
                               opacity=0.45,
                               marker={"size": 6}))
    fig.add_trace(go.Scatter3d(mode="lines", name=EDGES, meta=EDGES, hoverinfo="text",
                               opacity=0.6,
                               line={"color": "gray", "width": 2}))
    fig.add_trace(go.Scatter3d(mode="lines", name=selected_label, meta=SELECTED_EDGES,
                               hoverinfo="text",
                               line={"color": HIGHLIGHT_COLOR, "width": 6}))
    fig.add_trace(go.Scatter3d(mode="markers", name=SELECTED_ATOM, meta=SELECTED_ATOM,
                               hoverinfo="text",
                               marker={"size": 14, "color": "rgba(0,0,0,0)",
                                       "line": {"color": HIGHLIGHT_COLOR, "width": 4}}))
    axis = {"showbackground": False}
    fig.update_layout(
        height=height, margin={"l": 0, "r": 0, "t": 40, "b": 0},
        legend={"itemsizing": "constant"},
        scene={"aspectmode": "data", "xaxis": dict(axis, title="x (Å)"),
               "yaxis": dict(axis, title="y (Å)"), "zaxis": dict(axis, title="z (Å)")})
    update_graph_figure(fig, atoms, graph, highlight, edge_mask, title)
    return fig


def update_graph_figure(fig: go.Figure, obj: Any, graph: Any = None,
                        highlight: int | None = None, edge_mask: np.ndarray | None = None,
                        title: str | None = None) -> None:
    """Redraw the edges of a :func:`graph_figure` in place (works on a ``go.FigureWidget``).

    Call it inside ``with fig.batch_update():`` to send one message to the browser.
    """
    data = graph_trace_data(obj, graph, highlight, edge_mask)
    for trace in fig.data:
        if trace.meta in data:
            trace.update(data[trace.meta])
    if title is None:
        title = "structure" if graph is None else f"graph: {edge_summary(graph)}"
    fig.layout.title.text = title


def drawn_edge_count(fig: go.Figure, role: str = EDGES) -> int:
    """Number of line segments in the trace of ``role`` (:data:`TRACES`) of a figure."""
    trace = next(t for t in fig.data if t.meta == role)
    return sum(v is None for v in (trace.x or ()))
