"""Figures and widgets of the course (plotly, nglview, ipywidgets).

The only place of the package that imports plotting or widget libraries, and only when a
function is called: ``import companion.viz`` loads nothing heavy (names are resolved on
first use). Install them with ``pip install -e ".[viz]"``.

Public API:

- :func:`structure_view` (nglview): unit cell, periodic images or a supercell, bonds.
- :func:`graph_figure`, :func:`update_graph_figure` (plotly 3D): a graph's edges drawn to
  the periodic images, atoms colored by element, one atom's edges highlighted.
- :func:`graph_explorer` (ipywidgets): cutoff / k sliders and a policy menu that redraw the
  graph and a live neighbor-count histogram.
- :func:`gaussian_expansion_figure`, :func:`bond_angle_figure`,
  :func:`neighbor_count_figure`, :func:`count_comparison_figure`, :func:`target_histogram`
  (plotly 2D).
- :func:`band_figure` (plotly), :func:`band_explorer` (plotly + nglview): phonon bands with
  labelled special points, a second set overlaid, the DOS beside them; clicking a band
  animates that mode.
- :func:`periodic_attention_figure`, :func:`periodic_attention_explorer` (plotly 3D,
  ipywidgets): Crystalformer's attention over the periodic images of one atom.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "structure_view": "structure",
    "periodic_images": "structure",
    "element_color": "style",
    "element_symbol": "style",
    "graph_figure": "graph",
    "update_graph_figure": "graph",
    "graph_trace_data": "graph",
    "drawn_edge_count": "graph",
    "GraphExplorer": "widgets",
    "graph_explorer": "widgets",
    "real_neighbor_counts": "widgets",
    "gaussian_expansion_figure": "plots",
    "bond_angle_figure": "plots",
    "neighbor_count_figure": "plots",
    "count_comparison_figure": "plots",
    "target_histogram": "plots",
    "LossCurve": "training",
    "loss_curve": "training",
    "history_figure": "training",
    "line_graph_figure": "linegraph",
    "update_line_graph_figure": "linegraph",
    "angle_histogram_figure": "linegraph",
    "LineGraphExplorer": "linegraph_explorer",
    "line_graph_explorer": "linegraph_explorer",
    "bond_triplets": "linegraph",
    "triplet_angles": "linegraph",
    "parity_figure": "parity",
    "error_breakdown_figure": "parity",
    "mae_bar_figure": "parity",
    "attention_figure": "attention",
    "AttentionExplorer": "attention",
    "attention_explorer": "attention",
    "energy_drift_figure": "attention",
    "force_parity_figure": "attention",
    "cutoff_crossing_figure": "attention",
    "band_figure": "phonons",
    "band_path_distance": "phonons",
    "mode_frames": "phonons",
    "BandExplorer": "phonons",
    "band_explorer": "phonons",
    "image_attention": "periodic_attention",
    "outside_share": "periodic_attention",
    "periodic_attention_figure": "periodic_attention",
    "periodic_attention_explorer": "periodic_attention",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"companion.viz.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'companion.viz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
