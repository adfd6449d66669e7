"""An ipywidgets explorer of graph policies: cutoff and k sliders, live figures.

:func:`graph_explorer` shows one structure's graph in 3D (:mod:`companion.viz.graph`) and a
histogram of the number of neighbors per atom over a pool of structures. Moving a slider
rebuilds the graphs with :func:`companion.graphs.to_graph` and updates both figures in place
(``go.FigureWidget`` + ``batch_update``, one message per redraw, no new figures).

What the controls mean for each policy (see :mod:`companion.graphs.build`):

- ``radius``: every pair within the cutoff; the k slider is disabled.
- ``cgcnn``: the k nearest within the cutoff, padded to exactly k (padding is not drawn and
  not counted in the histogram, which shows real neighbors).
- ``alignn``: the k nearest with the whole shell of the k-th, symmetrized; the cutoff is only
  the starting radius (raised until every atom has k neighbors).

CSS classes (used by the browser tests): ``companion-cutoff-slider``, ``companion-k-slider``,
``companion-policy-select``, ``companion-atom-select``, ``companion-neighbor-hist``,
``companion-graph-figure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from companion.graphs import edge_vectors, to_graph
from companion.graphs.arrays import edge_arrays
from companion.graphs.atoms import AtomsArrays, as_atoms_arrays
from companion.viz.graph import edge_summary, graph_figure, update_graph_figure
from companion.viz.style import element_symbol

CUTOFF_CLASS = "companion-cutoff-slider"
K_CLASS = "companion-k-slider"
POLICY_CLASS = "companion-policy-select"
ATOM_CLASS = "companion-atom-select"
HIST_CLASS = "companion-neighbor-hist"
GRAPH_CLASS = "companion-graph-figure"


def real_neighbor_counts(graph: Any) -> np.ndarray:
    """[n_atoms] incoming edges of each atom, padding edges (CGCNN policy) left out."""
    _, dst, _, pad = edge_arrays(graph)
    return np.bincount(dst[~pad], minlength=graph.num_nodes)


class GraphExplorer:
    """Sliders for the cutoff and k, a policy menu, a 3D graph and a neighbor histogram.

    Build it with :func:`graph_explorer`; display it as the last expression of a cell.
    Attributes are the widgets themselves, so a test (or a curious student) can drive it::

        ex = graph_explorer(structure, pool=structures)
        ex.cutoff_slider.value = 4.0          # redraws both figures
        ex.hist_fig.data[0].x                 # the neighbor counts now shown

    Attributes:
        cutoff_slider: ``FloatSlider``, cutoff in Å.
        k_slider: ``IntSlider``, neighbors per atom (cgcnn, alignn).
        policy_select: ``Dropdown`` of ``"radius"``, ``"cgcnn"``, ``"alignn"``.
        atom_select: ``Dropdown`` of the atom whose edges are highlighted.
        graph_fig: ``go.FigureWidget`` of the structure and its graph.
        hist_fig: ``go.FigureWidget`` histogram of neighbors per atom over the pool.
        status: ``HTML`` line with edge counts.
        graph: the current ``CrystalGraph`` of the drawn structure.
        counts: [n_atoms_in_pool] current neighbor counts.
        widget: the ``VBox`` that is displayed.
    """

    def __init__(self, structure: Any, pool: Sequence[Any] | None = None,
                 policy: str = "radius", cutoff: float = 4.0, k: int = 12,
                 cutoff_range: tuple[float, float] = (1.5, 8.0),
                 k_range: tuple[int, int] = (1, 24), height: int = 480,
                 name: str | None = None) -> None:
        import ipywidgets as widgets
        import plotly.graph_objects as go

        self.atoms: AtomsArrays = as_atoms_arrays(structure)
        self.pool = [self.atoms] + [as_atoms_arrays(s) for s in (pool or ())]
        self.name = name or "structure"
        self.cutoff_slider = widgets.FloatSlider(
            value=cutoff, min=cutoff_range[0], max=cutoff_range[1], step=0.1,
            description="cutoff (Å)", continuous_update=False, readout_format=".1f")
        self.k_slider = widgets.IntSlider(value=k, min=k_range[0], max=k_range[1],
                                          description="k", continuous_update=False)
        self.policy_select = widgets.Dropdown(options=["radius", "cgcnn", "alignn"],
                                              value=policy, description="policy")
        self.atom_select = widgets.Dropdown(
            options=[(f"{i}: {element_symbol(z)}", i) for i, z in enumerate(self.atoms.z)],
            value=0, description="atom")
        self.status = widgets.HTML()
        self.cutoff_slider.add_class(CUTOFF_CLASS)
        self.k_slider.add_class(K_CLASS)
        self.policy_select.add_class(POLICY_CLASS)
        self.atom_select.add_class(ATOM_CLASS)

        self.graph = self._build(self.atoms)
        self.counts = self._pool_counts()
        self.graph_fig = go.FigureWidget(graph_figure(self.atoms, self.graph, highlight=0,
                                                      height=height))
        self.graph_fig.add_class(GRAPH_CLASS)
        self.hist_fig = go.FigureWidget(go.Histogram(
            x=self.counts, xbins={"size": 1}, marker_color="#1f77b4",
            hovertemplate="%{x} neighbors: %{y} atoms<extra></extra>"))
        self.hist_fig.update_layout(height=300, margin={"t": 50},
                                    xaxis={"title": "neighbors of an atom"},
                                    yaxis={"title": "atoms"})
        self.hist_fig.add_class(HIST_CLASS)
        for trace in self.graph_fig.data:  # click an atom to highlight its edges
            if trace.customdata is not None:
                trace.on_click(self._on_click)
        self.cutoff_slider.observe(self.redraw, names="value")
        self.k_slider.observe(self.redraw, names="value")
        self.policy_select.observe(self.redraw, names="value")
        self.atom_select.observe(self._highlight, names="value")
        self._label()
        for control in (self.cutoff_slider, self.k_slider, self.policy_select,
                        self.atom_select):
            control.style.description_width = "80px"
            control.layout.width = "420px"
        controls = widgets.VBox([widgets.HBox([self.policy_select, self.atom_select]),
                                 widgets.HBox([self.cutoff_slider, self.k_slider])])
        self.widget = widgets.VBox([controls, self.status, self.graph_fig, self.hist_fig])

    def _build(self, atoms: AtomsArrays) -> Any:
        policy = self.policy_select.value
        k = None if policy == "radius" else self.k_slider.value
        return to_graph(atoms, policy=policy, cutoff=self.cutoff_slider.value,
                        max_neighbors=k, allow_isolated=True)

    def _pool_counts(self) -> np.ndarray:
        graphs = [self.graph] + [self._build(a) for a in self.pool[1:]]
        return np.concatenate([real_neighbor_counts(g) for g in graphs])

    def _label(self) -> None:
        policy, c, k = (self.policy_select.value, self.cutoff_slider.value,
                        self.k_slider.value)
        self.k_slider.disabled = policy == "radius"
        rule = f"cutoff {c:.1f} Å" if policy == "radius" else f"k = {k}, cutoff {c:.1f} Å"
        if policy == "alignn":
            rule = f"k = {k}, starting cutoff {c:.1f} Å"
            _, dist = edge_vectors(self.graph)
            longest = float(dist.max()) if len(dist) else 0.0
            rule += f"; longest edge {longest:.2f} Å"
        self.status.value = (f"<b>{policy}</b> ({rule}): {self.name} has "
                             f"{len(self.atoms)} atoms and {edge_summary(self.graph)}; "
                             f"histogram over {len(self.pool)} structures, "
                             f"{len(self.counts)} atoms, mean {self.counts.mean():.2f} "
                             "neighbors per atom")
        self.hist_fig.layout.title.text = f"neighbors per atom ({policy}, {rule})"

    def redraw(self, change: Any = None) -> None:
        """Rebuild the graphs for the current controls and update both figures in place."""
        self.graph = self._build(self.atoms)
        self.counts = self._pool_counts()
        with self.graph_fig.batch_update():
            update_graph_figure(self.graph_fig, self.atoms, self.graph,
                                highlight=self.atom_select.value)
        with self.hist_fig.batch_update():
            self.hist_fig.data[0].x = self.counts
            self._label()

    def _highlight(self, change: Any = None) -> None:
        with self.graph_fig.batch_update():
            update_graph_figure(self.graph_fig, self.atoms, self.graph,
                                highlight=self.atom_select.value)

    def _on_click(self, trace: Any, points: Any, selector: Any) -> None:
        if points.point_inds:
            self.atom_select.value = int(trace.customdata[points.point_inds[0]])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def graph_explorer(structure: Any, pool: Sequence[Any] | None = None, policy: str = "radius",
                   cutoff: float = 4.0, k: int = 12, name: str | None = None,
                   **kwargs: Any) -> GraphExplorer:
    """Interactive explorer of graph policies for ``structure``.

    Args:
        structure: the structure drawn in 3D (pymatgen, ASE or ``(z, pos, cell)``).
        pool: more structures whose atoms enter the neighbor-count histogram (keep it to a
            few dozen small cells: each slider move rebuilds every graph).
        policy: initial policy, ``"radius"``, ``"cgcnn"`` or ``"alignn"``.
        cutoff: initial cutoff, Å.
        k: initial number of neighbors (cgcnn, alignn).
        name: what to call the structure in the status line (e.g. its formula).
        **kwargs: ``cutoff_range``, ``k_range``, ``height`` of :class:`GraphExplorer`.

    Returns:
        A :class:`GraphExplorer`; display it as the last expression of a cell.
    """
    return GraphExplorer(structure, pool, policy=policy, cutoff=cutoff, k=k, name=name,
                         **kwargs)
