"""The line-graph view of companion.viz.linegraph, on 2-atom cells (no browser needed)."""

from __future__ import annotations

import numpy as np
import pytest

from companion.graphs import line_graph, to_graph
from tests.viz.conftest import role

A_SI = 5.43  # Å, diamond Si
TETRAHEDRAL = np.degrees(np.arccos(-1.0 / 3.0))  # 109.47°


@pytest.fixture
def silicon():
    """Diamond Si, primitive cell (2 atoms): 4 bonds per atom within 2.5 Å."""
    a = A_SI
    cell = np.array([[0.0, a / 2, a / 2], [a / 2, 0.0, a / 2], [a / 2, a / 2, 0.0]])
    return np.array([14, 14]), np.array([[0.0, 0.0, 0.0], [a / 4, a / 4, a / 4]]), cell


def segments(trace) -> np.ndarray:
    """[n_segments, 2, 3] end points of a lines trace (None-separated)."""
    xyz = [np.array([v for v in getattr(trace, a) if v is not None]) for a in "xyz"]
    return np.stack(xyz, axis=-1).reshape(-1, 2, 3)


def test_plotting_libraries_are_imported_inside_functions_only():
    import ast
    import inspect

    import companion.viz.linegraph as module

    tree = ast.parse(inspect.getsource(module))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = [a.name for n in top for a in n.names] + [n.module or "" for n in top
                                                       if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.split(".")[0] in ("plotly", "ipywidgets")]


# ------------------------------------------------------------------------- the data


def test_bond_triplets_both_roles_without_backtracking(silicon):
    from companion.viz.linegraph import bond_triplets

    graph = to_graph(silicon, "radius", cutoff=2.5)
    assert graph.num_edges == 8  # 4 bonds per atom, both directions
    lg = line_graph(graph.edge_index, graph.edge_shift, backtracking=False)
    assert lg.shape[1] == 2 * 4 * 3  # each atom: 4 in x 4 out - 4 reverses
    src, dst = graph.edge_index.numpy()
    for edge in range(graph.num_edges):
        info = bond_triplets(graph, edge, lg)
        e1 = info["role"] == "e1"
        assert e1.sum() == 3 and (~e1).sum() == 3  # k - 1 partners in each role
        # as e1 (k -> j) the bond's target is j; as e2 (j -> i) its source is j
        assert (info["j"][e1] == dst[edge]).all() and (info["k"][e1] == src[edge]).all()
        assert (info["j"][~e1] == src[edge]).all() and (info["i"][~e1] == dst[edge]).all()
        assert (lg[0, info["triplet"][e1]] == edge).all()
        assert (lg[1, info["triplet"][~e1]] == edge).all()
        assert (src[info["partner"][e1]] == dst[edge]).all()  # partners leave j
        assert (dst[info["partner"][~e1]] == src[edge]).all()  # partners arrive at j
        np.testing.assert_allclose(info["angle"], TETRAHEDRAL, atol=1e-4)


def test_backtracking_adds_one_zero_angle_triplet_per_role(silicon):
    from companion.viz.linegraph import bond_triplets, graph_line_graph

    graph = to_graph(silicon, "radius", cutoff=2.5)
    with_back = graph_line_graph(graph, backtracking=True)
    info = bond_triplets(graph, 2, with_back)
    assert len(info["triplet"]) == 8
    zero = info["angle"] < 1e-3
    assert zero.sum() == 2  # the reverse bond, once as e2 and once as e1
    assert set(info["role"][zero]) == {"e1", "e2"}


def test_graph_line_graph_uses_the_stored_one(silicon):
    from companion.viz.linegraph import graph_line_graph

    graph = to_graph(silicon, "radius", cutoff=2.5, line_graph=True, backtracking=True)
    assert graph_line_graph(graph).shape[1] == graph.lg_edge_index.shape[1] == 32
    assert graph_line_graph(graph, backtracking=False).shape[1] == 24
    plain = to_graph(silicon, "radius", cutoff=2.5)
    assert graph_line_graph(plain).shape[1] == 24  # none stored: without backtracking


def test_bond_triplets_rejects_a_bad_edge(silicon):
    from companion.viz.linegraph import bond_triplets

    graph = to_graph(silicon, "radius", cutoff=2.5)
    with pytest.raises(IndexError, match="8 edges"):
        bond_triplets(graph, 8)


# ----------------------------------------------------------------------- the figure


def test_partners_meet_the_selected_bond_at_the_shared_atom(cscl):
    from companion.viz.linegraph import (
        AS_E1,
        AS_E2,
        BOND,
        SHARED,
        bond_triplets,
        line_graph_figure,
    )

    graph = to_graph(cscl, "radius", cutoff=4.2)  # 8 Cs-Cl + 6 own images per atom
    edge = int(np.flatnonzero((graph.edge_shift.abs().sum(1) > 0).numpy())[0])  # an image
    fig = line_graph_figure(cscl, graph, edge)
    info = bond_triplets(graph, edge)
    (bond,) = segments(role(fig, BOND))  # from the target t to the image of the source s
    t_pos, s_pos = bond[0], bond[1]
    e1, e2 = segments(role(fig, AS_E1)), segments(role(fig, AS_E2))
    assert len(e1) == (info["role"] == "e1").sum() == 13
    assert len(e2) == (info["role"] == "e2").sum() == 13
    np.testing.assert_allclose(e1[:, 1], np.broadcast_to(t_pos, e1[:, 1].shape), atol=1e-9)
    np.testing.assert_allclose(e2[:, 0], np.broadcast_to(s_pos, e2[:, 0].shape), atol=1e-9)
    # the angle drawn is the angle of the triplet
    for seg, angle in zip(e1, info["angle"][info["role"] == "e1"], strict=True):
        u, v = s_pos - t_pos, seg[0] - t_pos
        # clipped: a 180° angle may round past -1
        cos = np.clip(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)), -1, 1)
        drawn = np.degrees(np.arccos(cos))
        assert drawn == pytest.approx(angle, abs=1e-3)
    for seg, angle in zip(e2, info["angle"][info["role"] == "e2"], strict=True):
        u, v = seg[1] - s_pos, t_pos - s_pos
        # clipped: a 180° angle may round past -1
        cos = np.clip(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)), -1, 1)
        drawn = np.degrees(np.arccos(cos))
        assert drawn == pytest.approx(angle, abs=1e-3)
    # hover text names the angle; the shared atoms are the two ends of the bond
    assert all("θ at" in t for t in role(fig, AS_E1).hovertext if t)
    shared = role(fig, SHARED)
    np.testing.assert_allclose(np.c_[shared.x, shared.y, shared.z], [t_pos, s_pos], atol=1e-9)
    assert "e1 of 13" in fig.layout.title.text and "e2 of 13" in fig.layout.title.text


def test_figure_keeps_the_graph_traces_and_drops_the_atom_highlight(silicon):
    from companion.viz import drawn_edge_count
    from companion.viz.linegraph import LINE_TRACES, line_graph_figure

    graph = to_graph(silicon, "radius", cutoff=2.5)
    fig = line_graph_figure(silicon, graph, 0)
    roles = [t.meta for t in fig.data]
    assert "selected edges" not in roles and "selected atom" not in roles
    assert set(LINE_TRACES) <= set(roles)
    assert drawn_edge_count(fig) == graph.num_edges
    assert drawn_edge_count(fig, "selected bond") == 1
    hidden = line_graph_figure(silicon, graph, 0, show_edges=False)
    assert drawn_edge_count(hidden) == 0


def test_angle_histogram_has_two_axes():
    from companion.viz.linegraph import angle_histogram_figure

    fig = angle_histogram_figure(np.array([90.0, 90.0, 180.0]), np.array([90.0]))
    assert len(fig.data) == 2 and fig.data[1].histnorm == "probability"
    assert "degrees" in fig.layout.xaxis.title.text


# ----------------------------------------------------------------------- the widget


def test_explorer_updates_in_place(silicon):
    from companion.viz.linegraph import AS_E1, BOND
    from companion.viz.linegraph_explorer import line_graph_explorer

    graph = to_graph(silicon, "radius", cutoff=2.5)
    ex = line_graph_explorer(silicon, graph, edge=0, name="Si")
    figure, histogram = ex.figure, ex.histogram
    before = role(ex.figure, BOND).x
    assert len(ex.info["angle"]) == 6 and len(ex.histogram.data[0].x) == 24
    assert len(ex.histogram.data[1].x) == 6
    ex.bond_select.value = 5
    assert ex.figure is figure and ex.histogram is histogram  # same widgets, new data
    assert role(ex.figure, BOND).x != before
    assert "bond 5" in ex.figure.layout.title.text and "Si" in ex.status.value
    assert "109.47°" in ex.table.value
    ex.backtracking_toggle.value = True
    assert len(ex.histogram.data[0].x) == 32 and len(ex.info["angle"]) == 8
    assert ex.lg_edge_index.shape[1] == 32
    assert len(segments(role(ex.figure, AS_E1))) == 4
    assert "with backtracking" in ex.status.value


def test_explorer_click_selects_an_edge(silicon):
    from companion.viz.linegraph_explorer import line_graph_explorer

    ex = line_graph_explorer(silicon, to_graph(silicon, "radius", cutoff=2.5))

    class Points:
        point_inds = [3 * 6 + 1]  # a vertex of the 7th drawn edge

    ex._on_click(None, Points(), None)
    assert ex.bond_select.value == 6


def test_explorer_defaults_to_the_alignn_graph(cscl):
    from companion.viz.linegraph_explorer import line_graph_explorer

    ex = line_graph_explorer(cscl)
    counts = np.bincount(ex.graph.edge_index[1].numpy(), minlength=2)
    assert (counts >= 12).all()  # ALIGNN policy: at least 12 neighbors per atom
    # symmetric graph, no backtracking: d_j (d_j - 1) triplets at an atom with d_j bonds
    assert ex.lg_edge_index.shape[1] == int((counts * (counts - 1)).sum())


def test_viz_exports_the_explorer():
    import companion.viz as viz

    assert "line_graph_explorer" in viz.__all__
    assert viz.line_graph_explorer.__module__ == "companion.viz.linegraph_explorer"


def test_view_follows_the_selected_bond_and_partners_show_their_role(cscl):
    from companion.viz.linegraph import AS_E1, AS_E2, BOND, PARTNER_ATOMS
    from companion.viz.linegraph_explorer import SIDE_PX, VIEW_PX, line_graph_explorer

    graph = to_graph(cscl, "radius", cutoff=4.2)
    ex = line_graph_explorer(cscl, graph, edge=0)
    assert VIEW_PX + SIDE_PX <= 960 and not ex.figure.layout.showlegend  # one row, no legend

    def inside(edge):
        ex.bond_select.value = edge
        scene = ex.figure.layout.scene
        ranges = [scene.xaxis.range, scene.yaxis.range, scene.zaxis.range]
        assert len({hi - lo for lo, hi in ranges}) == 1  # a cube: no axis stretched
        drawn = [role(ex.figure, name) for name in (BOND, AS_E1, AS_E2)]
        for axis, (lo, hi) in zip("xyz", ranges, strict=True):
            values = [v for t in drawn for v in getattr(t, axis) if v is not None]
            assert lo < min(values) and max(values) < hi  # the view holds the whole selection

    inside(0)
    inside(int(np.flatnonzero((graph.edge_shift.abs().sum(1) > 1).numpy())[0]))  # an image
    partners = role(ex.figure, PARTNER_ATOMS)
    n_e1 = int((ex.info["role"] == "e1").sum())
    assert set(partners.marker.color[:n_e1]) <= {"#ff7f0e"}  # colored by role, not element
    assert set(partners.marker.color[n_e1:]) <= {"#1f77b4"}
