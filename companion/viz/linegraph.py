"""Pick a bond, see its angle triplets: an interactive view of a crystal's line graph.

The line graph of ALIGNN (convention of :mod:`companion.graphs.line_graph`) joins edge
``e1 = (k -> j)`` to edge ``e2 = (j -> i)``; the triplet carries the angle at the shared
atom ``j``. A bond ``e = (s -> t)`` of the crystal graph therefore takes part in triplets in
two roles:

- as ``e1`` (``k = s``, ``j = t``): paired with every bond that leaves its target ``t``,
  ``t -> i``; the angle is at ``t``. In the line-graph convolution these are the triplets
  along which ``e`` *sends* messages;
- as ``e2`` (``j = s``, ``i = t``): paired with every bond that arrives at its source ``s``,
  ``k -> s``; the angle is at ``s``. Along these ``e`` *receives* messages.

Without backtracking (the pair of a bond with its own reverse, angle 0) an atom with ``d``
bonds in a symmetric graph gives each of its bonds ``d - 1`` partners per role.

:func:`bond_triplets` lists them (pure numpy/torch). :func:`line_graph_figure` draws them in
3D on top of :func:`companion.viz.graph.graph_figure`, each partner bond translated to the
periodic image where it meets the selected bond, so the angle is the one you see.
:func:`~companion.viz.linegraph_explorer.line_graph_explorer` adds a bond menu, a
backtracking switch, the list of triplets with their angles and the structure's bond-angle
histogram alongside (``go.FigureWidget`` updated in place with ``batch_update``).

CSS classes (for browser tests): ``companion-bond-select``, ``companion-backtracking-toggle``,
``companion-linegraph-figure``, ``companion-angle-hist``.

plotly and ipywidgets are imported inside the functions, so ``import companion.viz`` stays
light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from companion.graphs import bond_cosines, edge_vectors, line_graph
from companion.graphs.arrays import atoms_of, edge_arrays
from companion.viz.graph import (
    EDGES,
    SELECTED_ATOM,
    SELECTED_EDGES,
    graph_figure,
)
from companion.viz.style import element_color, element_symbol

if TYPE_CHECKING:
    import plotly.graph_objects as go

BOND, AS_E1, AS_E2, SHARED, PARTNER_ATOMS = (
    "selected bond", "bond is e1: partners j → i leave its target",
    "bond is e2: partners k → j arrive at its source", "shared atoms j", "partner atoms")
LINE_TRACES = (BOND, AS_E1, AS_E2, SHARED, PARTNER_ATOMS)
"""Roles (``trace.meta``) of the traces that :func:`line_graph_figure` adds to
:func:`~companion.viz.graph.graph_figure` (whose selected-edge traces it drops). ``AS_E1``
holds the partners of the triplets where the selected bond is ``e1``, ``AS_E2`` those where
it is ``e2``."""

BOND_COLOR, E1_COLOR, E2_COLOR = "crimson", "#ff7f0e", "#1f77b4"
"""The selected bond; partners where it is e1 (orange); partners where it is e2 (blue)."""

ANGLE_BIN = 2.0
"""Width of the histogram bins, degrees."""

BOND_CLASS = "companion-bond-select"
BACKTRACK_CLASS = "companion-backtracking-toggle"
FIGURE_CLASS = "companion-linegraph-figure"
HIST_CLASS = "companion-angle-hist"


# ------------------------------------------------------------------------------ data


def graph_line_graph(graph: Any, backtracking: bool | None = None) -> np.ndarray:
    """``lg_edge_index`` of ``graph`` as a [2, n_triplets] int64 array.

    Args:
        graph: a ``CrystalGraph``.
        backtracking: None: the graph's own ``lg_edge_index`` if it has one, else the line
            graph without backtracking; True/False: rebuilt with
            :func:`companion.graphs.line_graph`.
    """
    stored = getattr(graph, "lg_edge_index", None)
    if backtracking is None and stored is not None:
        return stored.numpy().astype(np.int64)
    return line_graph(graph.edge_index, graph.edge_shift, backtracking=bool(backtracking))


def triplet_angles(graph: Any, lg_edge_index: np.ndarray | torch.Tensor) -> np.ndarray:
    """Angle at the shared atom of each triplet, degrees ([n_triplets], float64), from
    :func:`companion.graphs.bond_cosines` on the graph's recomputed edge vectors."""
    vec, _ = edge_vectors(graph)  # [n_edges, 3] Å
    lg = torch.as_tensor(np.asarray(lg_edge_index), dtype=torch.long)  # [2, n_triplets]
    cos = bond_cosines(vec.double(), lg).numpy()  # [n_triplets]
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def bond_triplets(graph: Any, edge: int, lg_edge_index: np.ndarray | None = None,
                  angles: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The triplets of the line graph that contain bond ``edge``, in both roles.

    Args:
        graph: a ``CrystalGraph``.
        edge: index of the bond (column of ``edge_index``).
        lg_edge_index: [2, n_triplets] line graph (default: :func:`graph_line_graph`).
        angles: [n_triplets] angles in degrees, if already computed
            (:func:`triplet_angles`).

    Returns:
        Arrays of equal length [n], triplets where ``edge`` is ``e1`` first, then those where
        it is ``e2``: ``triplet`` (column of ``lg_edge_index``), ``role`` (``"e1"`` or
        ``"e2"``: the role of the selected bond), ``partner`` (the other edge), ``k``, ``j``,
        ``i`` (atoms: the angle is ``k-j-i`` at ``j``) and ``angle`` (degrees).
    """
    lg = graph_line_graph(graph) if lg_edge_index is None else np.asarray(lg_edge_index)
    edge = int(edge)
    n_edges = int(graph.edge_index.shape[1])
    if not 0 <= edge < n_edges:
        raise IndexError(f"edge {edge} out of range: the graph has {n_edges} edges.")
    if angles is None:
        angles = triplet_angles(graph, lg)
    src, dst, _, _ = edge_arrays(graph)
    first = np.flatnonzero(lg[0] == edge)  # [n1] edge = e1 = (k -> j)
    second = np.flatnonzero(lg[1] == edge)  # [n2] edge = e2 = (j -> i)
    triplet = np.concatenate([first, second])  # [n]
    e1, e2 = lg[0, triplet], lg[1, triplet]  # [n] each
    return {
        "triplet": triplet,
        "role": np.array(["e1"] * len(first) + ["e2"] * len(second), dtype="<U2"),
        "partner": np.concatenate([lg[1, first], lg[0, second]]),
        "k": src[e1], "j": dst[e1], "i": dst[e2],
        "angle": np.asarray(angles, dtype=np.float64)[triplet],
    }


def bond_label(graph: Any, edge: int, atoms: Any = None) -> str:
    """``"12: O 2 → Ti 0, 1.953 Å"``: index, source → target (element and index), length."""
    atoms = atoms_of(graph) if atoms is None else atoms
    src, dst, shift, _ = edge_arrays(graph)
    s, t = int(src[edge]), int(dst[edge])
    length = np.linalg.norm(atoms.pos[s] + shift[edge] @ atoms.cell - atoms.pos[t])
    image = "" if not shift[edge].any() else f" (image {shift[edge].tolist()})"
    return (f"{edge}: {element_symbol(atoms.z[s])} {s}{image} → {element_symbol(atoms.z[t])} "
            f"{t}, {length:.3f} Å")


# --------------------------------------------------------------------------- drawing


def _segments(starts: np.ndarray, ends: np.ndarray, labels: list[str]) -> dict[str, Any]:
    x: list[float | None] = []
    y: list[float | None] = []
    z: list[float | None] = []
    text: list[str | None] = []
    for p, q, label in zip(starts, ends, labels, strict=True):
        x += [float(p[0]), float(q[0]), None]
        y += [float(p[1]), float(q[1]), None]
        z += [float(p[2]), float(q[2]), None]
        text += [label, label, None]
    return {"x": x, "y": y, "z": z, "hovertext": text}


def _markers(points: np.ndarray, numbers: np.ndarray, labels: list[str]) -> dict[str, Any]:
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return {"x": points[:, 0], "y": points[:, 1], "z": points[:, 2], "hovertext": labels,
            "marker": {"color": [element_color(int(n)) for n in numbers]}}


def line_graph_trace_data(obj: Any, graph: Any, edge: int,
                          lg_edge_index: np.ndarray | None = None,
                          angles: np.ndarray | None = None) -> dict[str, dict[str, Any]]:
    """Data of the traces of :data:`LINE_TRACES` for bond ``edge`` (to update a figure).

    The selected bond ``s -> t`` (shift ``S``) is drawn from ``pos[t]`` to
    ``pos[s] + S L``, as in :func:`~companion.viz.graph.graph_figure`. Each partner is
    translated by a lattice vector so that it meets the selected bond at the shared atom:
    a partner ``t -> i`` (selected bond = e1) is moved by ``-S_partner L`` so that its
    source sits at ``pos[t]``; a partner ``k -> s`` (selected bond = e2) is moved by ``S L``
    so that its target sits at the image of ``s``.
    """
    atoms = atoms_of(obj)
    src, dst, shift, _ = edge_arrays(graph)
    info = bond_triplets(graph, edge, lg_edge_index, angles)
    cell, pos = atoms.cell, atoms.pos
    s, t = int(src[edge]), int(dst[edge])
    s_image = pos[s] + shift[edge] @ cell  # [3] where the selected bond's source is drawn
    sym = [element_symbol(int(n)) for n in atoms.z]
    data: dict[str, dict[str, Any]] = {
        BOND: _segments(pos[t][None], s_image[None],
                        [f"selected bond {bond_label(graph, edge, atoms)}"])}
    far_ends, far_numbers, far_labels = [], [], []
    for role, name in (("e1", AS_E1), ("e2", AS_E2)):
        mask = info["role"] == role
        partners = info["partner"][mask]
        if role == "e1":  # partner t -> i: source moved onto pos[t]
            start = pos[dst[partners]] - shift[partners] @ cell  # [n, 3] atom i
            end = np.repeat(pos[t][None], len(partners), axis=0)  # [n, 3] atom j = t
        else:  # partner k -> s: target moved onto the image of s
            start = np.repeat(s_image[None], len(partners), axis=0)  # [n, 3] atom j = s
            end = pos[src[partners]] + (shift[partners] + shift[edge]) @ cell  # [n, 3] atom k
        far = start if role == "e1" else end
        labels = []
        for tri, p, k, j, i, angle in zip(info["triplet"][mask], partners, info["k"][mask],
                                          info["j"][mask], info["i"][mask],
                                          info["angle"][mask], strict=True):
            labels.append(f"triplet {tri}: {sym[k]} {k} → {sym[j]} {j} → {sym[i]} {i}<br>"
                          f"θ at {sym[j]} {j} = {angle:.2f}°<br>partner "
                          f"{bond_label(graph, int(p), atoms)}")
        data[name] = _segments(start, end, labels)
        other = dst[partners] if role == "e1" else src[partners]
        far_ends.append(far)
        far_numbers.append(atoms.z[other])
        far_labels += [f"{sym[a]} {a} (θ = {angle:.2f}°)"
                       for a, angle in zip(other, info["angle"][mask], strict=True)]
    data[SHARED] = _markers(np.stack([pos[t], s_image]), atoms.z[[t, s]], [
        f"j = {sym[t]} {t}: angles of the triplets where the bond is e1",
        f"j = {sym[s]} {s}: angles of the triplets where the bond is e2"])
    data[SHARED]["marker"] = {"color": [E1_COLOR, E2_COLOR]}
    data[PARTNER_ATOMS] = _markers(np.concatenate(far_ends) if far_ends else np.zeros((0, 3)),
                                   np.concatenate(far_numbers), far_labels)
    # partner atoms in the color of their role (not their element: O, its images and the
    # partners would be three similar reds)
    n_e1 = int((info["role"] == "e1").sum())
    data[PARTNER_ATOMS]["marker"] = {
        "color": [E1_COLOR] * n_e1 + [E2_COLOR] * (len(far_labels) - n_e1),
        "symbol": "diamond", "size": 6}
    return data


def _follow(fig: go.Figure, data: dict[str, dict[str, Any]], pad: float = 1.5) -> None:
    """Center the 3D view on the selected bond and its partners: a cube of equal axis
    ranges around them, ``pad`` Å beyond the farthest (the view follows the selection)."""
    xyz = np.array([[v for v in data[role][c] if v is not None] for role in (BOND, AS_E1, AS_E2)
                    for c in "xyz"], dtype=object)
    points = np.stack([np.concatenate([np.asarray(xyz[3 * r + c], dtype=np.float64)
                                       for r in range(3)]) for c in range(3)], axis=1)
    center = 0.5 * (points.min(0) + points.max(0))  # [3]
    half = 0.5 * float((points.max(0) - points.min(0)).max()) + pad
    fig.update_layout(scene={"aspectmode": "cube", **{
        f"{c}axis": {"range": [center[k] - half, center[k] + half], "autorange": False}
        for k, c in enumerate("xyz")}})


def line_graph_figure(obj: Any, graph: Any = None, edge: int = 0,
                      lg_edge_index: np.ndarray | None = None, show_edges: bool = True,
                      title: str | None = None, height: int = 520) -> go.Figure:
    """3D figure of a bond and the bonds it forms line-graph triplets with.

    Args:
        obj: the structure (pymatgen, ASE, ``(z, pos, cell)``) or a ``CrystalGraph``.
        graph: the ``CrystalGraph`` of ``obj`` (default: ``obj`` itself).
        edge: the selected bond (column of ``edge_index``).
        lg_edge_index: [2, n_triplets] line graph (default: :func:`graph_line_graph`).
        show_edges: draw every other edge of the graph thin and gray.
        title: figure title (default: the bond and its number of triplets).
        height: figure height in pixels.

    Returns:
        The figure of :func:`~companion.viz.graph.graph_figure` (cell, atoms, images, gray
        edges) plus the traces of :data:`LINE_TRACES` (role in ``trace.meta``).
    """
    import plotly.graph_objects as go

    graph = obj if graph is None else graph
    atoms = atoms_of(obj)
    fig = graph_figure(atoms, graph if show_edges else None, height=height)
    fig.data = [t for t in fig.data if t.meta not in (SELECTED_EDGES, SELECTED_ATOM)]
    for trace in fig.data:
        if trace.meta == EDGES:
            trace.opacity = 0.25
    for name, color, width in ((AS_E2, E2_COLOR, 6), (AS_E1, E1_COLOR, 6),
                               (BOND, BOND_COLOR, 10)):
        fig.add_trace(go.Scatter3d(mode="lines", name=name, meta=name, hoverinfo="text",
                                   line={"color": color, "width": width}))
    fig.add_trace(go.Scatter3d(mode="markers", name=PARTNER_ATOMS, meta=PARTNER_ATOMS,
                               hoverinfo="text", opacity=0.9, marker={"size": 6}))
    fig.add_trace(go.Scatter3d(mode="markers", name=SHARED, meta=SHARED, hoverinfo="text",
                               marker={"size": 15, "symbol": "circle-open",
                                       "line": {"width": 4}}))
    fig.update_layout(legend={"itemsizing": "constant", "font": {"size": 11},
                              "orientation": "h", "y": 0, "yanchor": "top"})
    update_line_graph_figure(fig, atoms, graph, edge, lg_edge_index, title=title)
    return fig


def update_line_graph_figure(fig: go.Figure, obj: Any, graph: Any, edge: int,
                             lg_edge_index: np.ndarray | None = None,
                             angles: np.ndarray | None = None,
                             title: str | None = None) -> dict[str, np.ndarray]:
    """Redraw the selected bond and its triplets of a :func:`line_graph_figure` in place
    (works on a ``go.FigureWidget``; call it inside ``with fig.batch_update():``).

    Returns:
        The triplets of the bond (:func:`bond_triplets`).
    """
    data = line_graph_trace_data(obj, graph, edge, lg_edge_index, angles)
    for trace in fig.data:
        if trace.meta in data:
            trace.update(data[trace.meta])
    _follow(fig, data)
    info = bond_triplets(graph, edge, lg_edge_index, angles)
    if title is None:
        n1, n2 = int((info["role"] == "e1").sum()), int((info["role"] == "e2").sum())
        title = f"bond {bond_label(graph, edge)}<br>e1 of {n1} triplets, e2 of {n2}"
    fig.layout.title.text = title
    return info


def angle_histogram_figure(angles: np.ndarray, selected: np.ndarray | None = None,
                           height: int = 420) -> go.Figure:
    """Histogram of every triplet angle of a structure, with the triplets of one bond overlaid.

    Both are normalized to fractions of their own triplets, so that the dozen triplets of
    one bond compare with the thousands of the structure.

    Args:
        angles: [n_triplets] angles, degrees.
        selected: angles of the selected bond's triplets, degrees.
        height: figure height in pixels.
    """
    import plotly.graph_objects as go

    bins = {"start": -ANGLE_BIN / 2, "end": 180.0 + ANGLE_BIN / 2, "size": ANGLE_BIN}
    fig = go.Figure()
    fig.add_trace(go.Histogram(
        x=np.asarray(angles), xbins=bins, histnorm="probability", name="all triplets",
        marker_color="#7f7f7f", opacity=0.6,
        hovertemplate="θ ≈ %{x}°: %{y:.1%} of all triplets<extra></extra>"))
    fig.add_trace(go.Histogram(
        x=np.asarray([] if selected is None else selected), xbins=bins,
        histnorm="probability", name="selected bond", marker_color=BOND_COLOR, opacity=0.75,
        hovertemplate="θ ≈ %{x}°: %{y:.1%} of the bond's triplets<extra></extra>"))
    fig.update_layout(
        height=height, barmode="overlay", margin={"t": 50, "l": 60, "r": 20},
        title={"text": "bond angles of the structure"},
        xaxis={"title": {"text": "bond angle θ (degrees)"},
               "range": [-ANGLE_BIN, 180.0 + ANGLE_BIN], "dtick": 30},
        yaxis={"title": {"text": "fraction of triplets"}, "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.25})
    return fig


def triplet_table_html(graph: Any, info: dict[str, np.ndarray], atoms: Any = None,
                       max_rows: int = 40) -> str:
    """An HTML table of the triplets of :func:`bond_triplets` (role, atoms, angle, partner)."""
    atoms = atoms_of(graph) if atoms is None else atoms
    sym = [element_symbol(int(n)) for n in atoms.z]
    rows = []
    for n, (tri, role, p, k, j, i, angle) in enumerate(zip(
            info["triplet"], info["role"], info["partner"], info["k"], info["j"], info["i"],
            info["angle"], strict=True)):
        if n == max_rows:
            rows.append(f"<tr><td colspan=5>… {len(info['triplet']) - max_rows} more</td></tr>")
            break
        color = E1_COLOR if role == "e1" else E2_COLOR
        rows.append(f"<tr><td>{tri}</td><td style='color:{color}'>{role}</td>"
                    f"<td>{sym[k]} {k} → {sym[j]} {j} → {sym[i]} {i}</td>"
                    f"<td style='text-align:right'>{angle:.2f}°</td><td>{p}</td></tr>")
    head = ("<tr><th>triplet</th><th>bond is</th><th>k → j → i</th><th>θ at j</th>"
            "<th>partner edge</th></tr>")
    return ("<div style='max-height:170px;overflow-y:auto'><table style='font-size:12px'>"
            f"{head}{''.join(rows)}</table></div>")


__all__ = [
    "LINE_TRACES",
    "angle_histogram_figure",
    "bond_label",
    "bond_triplets",
    "graph_line_graph",
    "line_graph_figure",
    "line_graph_trace_data",
    "triplet_angles",
    "triplet_table_html",
    "update_line_graph_figure",
]
