"""The line-graph explorer of notebook 03: pick a bond, see its angle triplets.

The figures and the triplet data are in :mod:`companion.viz.linegraph`; this module lays them
out as one widget that fits a notebook column (the 3D view and, beside it, the angle histogram
and the list of triplets, under the bond menu), with a color key in place of a legend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from companion.graphs.arrays import atoms_of, edge_arrays
from companion.viz.graph import EDGES
from companion.viz.linegraph import (
    BACKTRACK_CLASS,
    BOND_CLASS,
    BOND_COLOR,
    E1_COLOR,
    E2_COLOR,
    FIGURE_CLASS,
    HIST_CLASS,
    angle_histogram_figure,
    bond_label,
    graph_line_graph,
    line_graph_figure,
    triplet_angles,
    triplet_table_html,
    update_line_graph_figure,
)

__all__ = ["LineGraphExplorer", "line_graph_explorer"]

VIEW_PX, SIDE_PX = 560, 390
"""Widths of the 3D view and of the column beside it: together within the 970 px column."""

KEY = (f"<span style='color:{BOND_COLOR}'>━ selected bond</span> · "
       f"<span style='color:{E1_COLOR}'>━ ◆ partners where it is e1</span> · "
       f"<span style='color:{E2_COLOR}'>━ ◆ partners where it is e2</span> · "
       "○ shared atoms j · gray: other bonds · faint atoms: periodic images")


class LineGraphExplorer:
    """Pick a bond: its triplets in 3D, their angles in a table and on the angle histogram.

    Build it with :func:`line_graph_explorer`; display it as the last expression of a cell.
    The attributes are the widgets, so a test (or a curious student) can drive it::

        ex = line_graph_explorer(structure)
        ex.bond_select.value = 5           # redraws the 3D view, table and histogram
        ex.info["angle"]                   # angles of bond 5's triplets, degrees

    Attributes:
        graph: the ``CrystalGraph`` drawn.
        bond_select: ``Dropdown`` of the bonds (edges).
        backtracking_toggle: ``Checkbox``, include the pairs of a bond with its reverse.
        figure: ``go.FigureWidget`` of :func:`line_graph_figure`.
        histogram: ``go.FigureWidget`` of :func:`angle_histogram_figure`.
        table: ``HTML`` list of the selected bond's triplets.
        status: ``HTML`` line with the counts.
        lg_edge_index: the current line graph ([2, n_triplets]); angles: its angles (°).
        info: the selected bond's triplets (:func:`bond_triplets`).
        widget: the box that is displayed.
    """

    def __init__(self, structure: Any, graph: Any = None, edge: int = 0,
                 backtracking: bool = False, height: int = 480, name: str | None = None
                 ) -> None:
        import ipywidgets as widgets
        import plotly.graph_objects as go

        from companion.graphs import to_graph

        self.atoms = atoms_of(structure)
        if graph is None:
            graph = to_graph(structure, "alignn")
        self.graph = graph
        self.name = name or "structure"
        n_edges = int(graph.edge_index.shape[1])
        if n_edges == 0:
            raise ValueError("the graph has no edges: nothing to select.")
        self._lines = {flag: graph_line_graph(graph, flag) for flag in (False, True)}
        self._angles = {flag: triplet_angles(graph, lg) for flag, lg in self._lines.items()}
        self.bond_select = widgets.Dropdown(
            options=[(bond_label(graph, e, self.atoms), e) for e in range(n_edges)],
            value=int(edge), description="bond")
        self.backtracking_toggle = widgets.Checkbox(value=bool(backtracking),
                                                    description="backtracking triplets")
        self.bond_select.add_class(BOND_CLASS)
        self.backtracking_toggle.add_class(BACKTRACK_CLASS)
        self.bond_select.layout.width = "440px"
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.figure = go.FigureWidget(line_graph_figure(self.atoms, graph, int(edge),
                                                        self.lg_edge_index, height=height))
        # no legend beside the 3D view (it squeezed the scene): the key is a line of text
        self.figure.update_layout(width=VIEW_PX, autosize=False, showlegend=False,
                                  margin={"l": 0, "r": 0, "t": 50, "b": 0})
        self.key = widgets.HTML(f"<div style='font-size:12px'>{KEY}</div>")
        self.figure.add_class(FIGURE_CLASS)
        self.histogram = go.FigureWidget(angle_histogram_figure(self.angles, height=300))
        self.histogram.update_layout(width=SIDE_PX, autosize=False,
                                     margin={"t": 40, "l": 55, "r": 10, "b": 40},
                                     legend={"orientation": "h", "y": 1.0, "yanchor": "bottom",
                                             "x": 0, "font": {"size": 11}},
                                     title={"text": ""})
        self.histogram.add_class(HIST_CLASS)
        for trace in self.figure.data:  # click a gray edge to select it
            if trace.meta == EDGES:
                trace.on_click(self._on_click)
        self.info: dict[str, np.ndarray] = {}
        self.bond_select.observe(self.redraw, names="value")
        self.backtracking_toggle.observe(self._toggle, names="value")
        self.redraw()
        right = widgets.VBox([self.histogram, self.table],
                             layout=widgets.Layout(width=f"{SIDE_PX}px"))
        views = widgets.HBox([self.figure, right], layout=widgets.Layout(flex_flow="row nowrap"))
        controls = widgets.HBox([self.bond_select, self.backtracking_toggle])
        self.widget = widgets.VBox([controls, self.status, views, self.key])

    @property
    def lg_edge_index(self) -> np.ndarray:
        """[2, n_triplets] line graph shown now (with or without backtracking)."""
        return self._lines[self.backtracking_toggle.value]

    @property
    def angles(self) -> np.ndarray:
        """[n_triplets] angles of :attr:`lg_edge_index`, degrees."""
        return self._angles[self.backtracking_toggle.value]

    def redraw(self, change: Any = None) -> None:
        """Update the 3D view, the histogram, the table and the status for the selected bond."""
        edge = int(self.bond_select.value)
        with self.figure.batch_update():
            self.info = update_line_graph_figure(self.figure, self.atoms, self.graph, edge,
                                                 self.lg_edge_index, self.angles)
        # One update per trace, not one batch_update for both: a batch that sets different
        # properties on different traces sends the others' as undefined, and plotly's
        # widget then deletes them (x of "all triplets") from a FigureWidget that is not
        # displayed yet and shown inside a box, as here.
        self.histogram.data[0].update(x=self.angles, name=f"all {len(self.angles)} triplets")
        self.histogram.data[1].update(x=self.info["angle"],
                                      name=f"bond {edge}: {len(self.info['angle'])} triplets")
        self.table.value = triplet_table_html(self.graph, self.info, self.atoms)
        n1 = int((self.info["role"] == "e1").sum())
        n2 = len(self.info["role"]) - n1
        back = "with" if self.backtracking_toggle.value else "without"
        self.status.value = (
            f"<b>{self.name}</b>: {len(self.atoms)} atoms, {self.graph.edge_index.shape[1]} "
            f"bonds, {self.lg_edge_index.shape[1]} triplets ({back} backtracking). Bond "
            f"{edge} is <span style='color:{E1_COLOR}'>e1 of {n1}</span> and "
            f"<span style='color:{E2_COLOR}'>e2 of {n2}</span> triplets.")

    def _toggle(self, change: Any = None) -> None:
        self.redraw()

    def _on_click(self, trace: Any, points: Any, selector: Any) -> None:
        if not points.point_inds:
            return
        _, _, _, pad = edge_arrays(self.graph)
        drawn = np.flatnonzero(~pad)  # the gray trace has 3 points per drawn edge
        self.bond_select.value = int(drawn[points.point_inds[0] // 3])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def line_graph_explorer(structure: Any, graph: Any = None, edge: int = 0,
                        backtracking: bool = False, name: str | None = None,
                        **kwargs: Any) -> LineGraphExplorer:
    """Interactive view of a structure's line graph: pick a bond, see its angle triplets.

    Args:
        structure: pymatgen ``Structure``, ASE ``Atoms`` or ``(z, pos, cell)``.
        graph: its ``CrystalGraph`` (default: ``to_graph(structure, "alignn")``); any graph
            works, with or without a stored line graph (it is rebuilt both ways).
        edge: the bond selected first.
        backtracking: show the backtracking triplets (a bond with its own reverse, 0°).
        name: what to call the structure in the status line (e.g. its formula).
        **kwargs: ``height`` of the 3D view.

    Returns:
        A :class:`LineGraphExplorer`; display it as the last expression of a cell.
    """
    return LineGraphExplorer(structure, graph, edge=edge, backtracking=backtracking,
                             name=name, **kwargs)
