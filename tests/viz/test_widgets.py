"""Figures and widgets of companion.viz, on a 2-atom cell (no browser needed)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from companion.graphs import neighbor_list, to_graph
from tests.viz.conftest import A_CSCL, D_CS_CL, role

# ---------------------------------------------------------------------------- import


def test_import_loads_no_plotting_library():
    code = ("import sys, companion.viz as v; v.__all__; "
            "print(any(m in sys.modules for m in ('plotly', 'nglview', 'ipywidgets')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_unknown_name_raises_attribute_error():
    import companion.viz as viz

    with pytest.raises(AttributeError):
        viz.no_such_function  # noqa: B018


# ---------------------------------------------------------------------- graph figure


def test_graph_figure_draws_every_edge_to_its_image(cscl):
    from companion.viz import drawn_edge_count, graph_figure

    graph = to_graph(cscl, "radius", cutoff=4.2)  # 8 Cs-Cl at 3.56 Å + 6 own images at 4.11
    assert graph.num_edges == 2 * (8 + 6)
    fig = graph_figure(cscl, graph)
    roles = [t.meta for t in fig.data]
    assert roles == ["unit cell", "atoms", "atoms", "neighbor images", "edges",
                     "selected edges", "selected atom"]
    assert {t.name for t in fig.data if t.meta == "atoms"} == {"Cs", "Cl"}
    assert drawn_edge_count(fig) == graph.num_edges
    assert drawn_edge_count(fig, "selected edges") == 0
    assert drawn_edge_count(fig, "unit cell") == 12
    # every segment starts at a center atom and ends at pos[j] + shift @ cell
    edges = role(fig, "edges")
    x = np.array([v for v in edges.x if v is not None]).reshape(-1, 2)
    y = np.array([v for v in edges.y if v is not None]).reshape(-1, 2)
    z = np.array([v for v in edges.z if v is not None]).reshape(-1, 2)
    length = np.sqrt((x[:, 1] - x[:, 0]) ** 2 + (y[:, 1] - y[:, 0]) ** 2
                     + (z[:, 1] - z[:, 0]) ** 2)
    np.testing.assert_allclose(np.sort(length), np.sort(edge_dist(graph)), atol=1e-5)
    assert np.isclose(length, D_CS_CL, atol=1e-5).sum() == 16
    # the images reached: 8 of Cs around Cl (one is the Cs at the origin, shift 0),
    # 6 + 6 own images of each atom
    src, shift = graph.edge_index[0].numpy(), graph.edge_shift.numpy()
    outside = {(j, *s) for j, s in zip(src.tolist(), shift.round().astype(int).tolist(),
                                       strict=True) if any(s)}
    assert len(role(fig, "neighbor images").x) == len(outside)
    assert "Å" in fig.layout.scene.xaxis.title.text


def edge_dist(graph):
    from companion.graphs import edge_vectors

    return edge_vectors(graph)[1].numpy()


def test_highlight_selects_the_incoming_edges_of_one_atom(cscl):
    from companion.viz import drawn_edge_count, graph_figure

    graph = to_graph(cscl, "radius", cutoff=4.0)  # Cs-Cl only: 8 each
    fig = graph_figure(cscl, graph, highlight=1)
    assert drawn_edge_count(fig, "selected edges") == 8
    assert len(role(fig, "selected atom").x) == 1
    assert role(fig, "selected atom").x[0] == pytest.approx(A_CSCL / 2)
    hover = [t for t in role(fig, "selected edges").hovertext if t]
    assert all("→ 1 (Cl)" in t and "Å" in t for t in hover)


def test_edge_mask_and_label_and_neighbor_list_input(cscl):
    from companion.viz import drawn_edge_count, graph_figure

    nl = neighbor_list(cscl, 4.2)
    own_image = nl.src == nl.dst
    fig = graph_figure(cscl, nl, edge_mask=own_image, selected_label="own images")
    assert drawn_edge_count(fig) == len(nl) == 28
    assert drawn_edge_count(fig, "selected edges") == int(own_image.sum()) == 12
    assert role(fig, "selected edges").name == "own images"


def test_cgcnn_padding_edges_are_not_drawn():
    from companion.viz import drawn_edge_count, graph_figure

    dimer = (np.array([18, 18]), np.array([[0.0, 0, 0], [0, 0, 3.8]]), np.eye(3) * 20.0)
    graph = to_graph(dimer, "cgcnn")
    assert graph.num_edges == 24 and int(graph.edge_pad.sum()) == 22
    fig = graph_figure(dimer, graph)
    assert drawn_edge_count(fig) == 2
    assert "22 padding" in fig.layout.title.text


def test_graph_figure_accepts_a_graph_alone(cscl):
    from companion.viz import drawn_edge_count, graph_figure

    graph = to_graph(cscl, "radius", cutoff=4.0)
    assert drawn_edge_count(graph_figure(graph)) == graph.num_edges == 16


def test_update_graph_figure_in_place(cscl):
    import plotly.graph_objects as go

    from companion.viz import drawn_edge_count, graph_figure, update_graph_figure

    fig = go.FigureWidget(graph_figure(cscl, to_graph(cscl, "radius", cutoff=4.0)))
    traces = list(fig.data)
    with fig.batch_update():
        update_graph_figure(fig, cscl, to_graph(cscl, "radius", cutoff=4.2), highlight=0)
    assert list(fig.data) == traces  # the same trace objects, updated
    assert drawn_edge_count(fig) == 28
    assert drawn_edge_count(fig, "selected edges") == 14


# --------------------------------------------------------------------- nglview view


def test_periodic_images_boundary_and_supercell(cscl):
    from companion.viz import periodic_images

    idx, shift, pos = periodic_images(cscl)
    assert idx.tolist()[:2] == [0, 1]
    assert (idx == 0).sum() == 8 and (idx == 1).sum() == 1  # Cs on the 8 corners
    np.testing.assert_allclose(pos, cscl[1][idx] + shift @ cscl[2])
    idx, _, pos = periodic_images(cscl, supercell=(2, 2, 2), boundary=False)
    assert len(idx) == 16
    assert pos.max() < 2 * A_CSCL
    # an atom stored outside the cell is wrapped back in, and listed first
    z, p, cell = cscl
    idx, shift, pos = periodic_images((z, p + np.array([0, 0, -A_CSCL]), cell))
    assert idx[:2].tolist() == [0, 1] and shift[1].tolist() == [0, 0, 1]


def test_structure_view_builds_an_nglview_widget(cscl):
    import nglview

    from companion.viz import structure_view

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the pkg_resources warning is muted
        view = structure_view(cscl)
    assert isinstance(view, nglview.NGLWidget)
    assert "companion-structure-view" in view._dom_classes
    graph = to_graph(cscl, "radius", cutoff=4.2)
    assert "companion-structure-view" in structure_view(cscl, graph=graph)._dom_classes
    assert isinstance(structure_view(cscl, supercell=(2, 1, 1), bonds=False), nglview.NGLWidget)
    molecule = (np.array([8, 1, 1]), np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]),
                np.zeros((3, 3)), [False] * 3)
    assert isinstance(structure_view(molecule), nglview.NGLWidget)


def test_structure_view_refuses_too_many_atoms(cscl):
    from companion.viz import structure_view

    with pytest.raises(ValueError, match="max_atoms"):
        structure_view(cscl, supercell=(10, 10, 10))


# ---------------------------------------------------------------------- the explorer


def test_explorer_slider_redraws_the_histogram_in_place(cscl):
    import plotly.graph_objects as go

    from companion.viz import drawn_edge_count, graph_explorer

    ex = graph_explorer(cscl, pool=[cscl], cutoff=3.0, name="CsCl")
    assert isinstance(ex.hist_fig, go.FigureWidget) and isinstance(ex.graph_fig, go.FigureWidget)
    assert "companion-neighbor-hist" in ex.hist_fig._dom_classes
    assert "companion-cutoff-slider" in ex.cutoff_slider._dom_classes
    assert "companion-k-slider" in ex.k_slider._dom_classes
    hist, trace = ex.hist_fig, ex.hist_fig.data[0]
    assert list(trace.x) == [0, 0, 0, 0]  # nothing within 3 Å (isolated atoms allowed)
    ex.cutoff_slider.value = 4.0
    assert ex.hist_fig is hist and ex.hist_fig.data[0] is trace  # updated, not replaced
    assert list(trace.x) == [8, 8, 8, 8]
    assert drawn_edge_count(ex.graph_fig) == 16
    ex.cutoff_slider.value = 4.2
    assert list(trace.x) == [14] * 4
    assert "4.2 Å" in hist.layout.title.text
    assert "CsCl" in ex.status.value and "28 edges" in ex.status.value


def test_explorer_k_and_policy(cscl):
    from companion.viz import drawn_edge_count, graph_explorer

    ex = graph_explorer(cscl, cutoff=4.2, k=4)
    assert ex.k_slider.disabled  # radius: k is not used
    ex.policy_select.value = "cgcnn"
    assert not ex.k_slider.disabled
    assert list(ex.hist_fig.data[0].x) == [4, 4]
    ex.k_slider.value = 10  # 8 at 3.56 Å + 2 of the 6 at 4.11 Å
    assert list(ex.hist_fig.data[0].x) == [10, 10]
    ex.cutoff_slider.value = 3.0  # nothing within 3 Å: all padding, nothing drawn
    assert list(ex.hist_fig.data[0].x) == [0, 0]
    assert drawn_edge_count(ex.graph_fig) == 0
    ex.policy_select.value = "alignn"  # whole shells: 8 + 6
    ex.k_slider.value = 12
    assert list(ex.hist_fig.data[0].x) == [14, 14]


def test_explorer_atom_selection(cscl):
    from companion.viz import drawn_edge_count, graph_explorer

    ex = graph_explorer(cscl, cutoff=4.0)
    assert drawn_edge_count(ex.graph_fig, "selected edges") == 8
    ex.atom_select.value = 1
    assert role(ex.graph_fig, "selected atom").x[0] == pytest.approx(A_CSCL / 2)
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()


# -------------------------------------------------------------------------- 2D plots


def test_gaussian_expansion_figure_matches_the_module():
    from companion.nn.radial import GaussianExpansion
    from companion.viz import gaussian_expansion_figure

    fig = gaussian_expansion_figure(distances=(2.0, 3.1))
    expand = GaussianExpansion()
    lines = [t for t in fig.data if t.type == "scatter"]
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(lines) == expand.n_basis == 41 and len(bars) == 2
    np.testing.assert_allclose(bars[1].x, expand.mu.numpy(), atol=1e-6)  # Å
    np.testing.assert_allclose(bars[1].y, expand(torch.tensor([3.1]))[0].numpy(), atol=1e-5)
    assert "Å" in fig.layout.xaxis.title.text


def test_bond_angle_figure_in_degrees():
    from companion.viz import bond_angle_figure

    fig = bond_angle_figure({"a": [1.0, 0.0, -1.0], "b": [0.5]})
    assert len(fig.data) == 2
    np.testing.assert_allclose(fig.data[0].x, [0.0, 90.0, 180.0], atol=1e-9)
    assert "degrees" in fig.layout.xaxis.title.text


def test_count_and_target_figures():
    from companion.viz import count_comparison_figure, neighbor_count_figure, target_histogram

    fig = count_comparison_figure({"naive": [2, 2], "true": [19, 18]}, labels=["0:S", "1:Ta"])
    assert [t.name for t in fig.data] == ["naive", "true"] and list(fig.data[1].y) == [19, 18]
    assert len(neighbor_count_figure({"radius": [1, 2], "cgcnn": [12, 12]}).data) == 2
    fig = target_histogram(np.array([-1.0, 0.5]), "formation energy", "eV/atom")
    assert fig.layout.xaxis.title.text == "formation energy (eV/atom)"
