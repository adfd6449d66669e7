"""Several models' phonon bands against DFPT, one material at a time, picked from a dropdown.

:func:`band_comparison` draws, for the material chosen in a dropdown, the reference bands
(DFPT, solid) and each model's prediction on the same q-points (dashed, one color per model,
:data:`companion.viz.style.PALETTE`), with the BandLoss and band MAE of every model in the
title. The figure is a ``FigureWidget`` redrawn in place when the selection changes. CSS
classes (for the browser tests): ``companion-band-compare`` (the box),
``companion-band-compare-figure``.

Bands are [n_q, 3N] arrays in THz, one per material (rows = q-points), as
:meth:`companion.train.tasks.PhononBandTask.per_material` returns them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from companion.nn.phonons import band_loss
from companion.viz.phonons import _band_trace, band_figure, band_path_distance
from companion.viz.style import PALETTE

BOX_CLASS = "companion-band-compare"
FIGURE_CLASS = "companion-band-compare-figure"


def _scores(true: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    import torch

    t, p = torch.as_tensor(true, dtype=torch.float64), torch.as_tensor(pred, dtype=torch.float64)
    return float(band_loss(p, t)), float((p - t).abs().mean())


def comparison_figure(record: Any, predictions: Mapping[str, np.ndarray],
                      reference: str = "DFPT") -> Any:
    """One material: reference bands (solid) and every model's bands (dashed).

    Args:
        record: an ``mp_phonons`` record (``labels["qpoints"]``, ``["frequencies"]`` THz,
            ``["reciprocal_lattice"]``, ``info["qpoint_labels"]``).
        predictions: model name -> [n_q, 3N] THz on the record's q-points (None: that
            model has no bands for this material; it is left out).
        reference: legend name of the record's bands.
    """
    lab = record.labels
    labels = record.info["qpoint_labels"]
    dist = band_path_distance(lab["qpoints"], lab["reciprocal_lattice"], labels)
    items = [(name, b) for name, b in predictions.items() if b is not None]
    for name, bands in items:
        if np.shape(bands) != np.shape(lab["frequencies"]):
            raise ValueError(f"{name}: bands {np.shape(bands)} do not match the record's "
                             f"{np.shape(lab['frequencies'])} [n_q, 3N]")
    scores = [f"{name} {_scores(lab['frequencies'], b)[1]:.2f} THz" for name, b in items]
    fig = band_figure(dist, lab["frequencies"], labels,
                      overlay=items[0][1] if items else None,
                      names=(reference, items[0][0] if items else ""),
                      title=f"{record.info.get('formula', record.id)} ({record.id}) · band "
                            f"MAE: {', '.join(scores)}")
    for k, (name, bands) in enumerate(items[1:], start=2):
        fig.add_trace(_band_trace(dist, np.asarray(bands, dtype=np.float64), name,
                                  PALETTE[k % len(PALETTE)], "dot" if k % 2 else "dash"))
    return fig


class BandComparison:
    """Dropdown of materials + the comparison figure (``widget`` to display).

    Attributes:
        dropdown: the material selector; ``figure``: the ``FigureWidget``.
    """

    def __init__(self, records: Sequence[Any], predictions: Mapping[str, Sequence[np.ndarray]],
                 reference: str = "DFPT", start: int = 0) -> None:
        import ipywidgets as w
        import plotly.graph_objects as go

        for name, bands in predictions.items():
            if len(bands) != len(records):
                raise ValueError(f"{name}: {len(bands)} predictions for {len(records)} "
                                 "materials")
        self.records, self.predictions, self.reference = list(records), predictions, reference
        self.dropdown = w.Dropdown(
            options=[(f"{r.info.get('formula', r.id)} ({r.id})", i)
                     for i, r in enumerate(self.records)], value=start,
            description="material", layout=w.Layout(width="420px"))
        self.figure = go.FigureWidget(self._figure(start))
        self.figure.add_class(FIGURE_CLASS)
        self.dropdown.observe(lambda change: self.select(change["new"]), names="value")
        self.widget = w.VBox([self.dropdown, self.figure])
        self.widget.add_class(BOX_CLASS)

    def _figure(self, i: int) -> Any:
        return comparison_figure(self.records[i], {k: v[i] for k, v in
                                                   self.predictions.items()}, self.reference)

    def select(self, i: int) -> None:
        """Show material ``i``."""
        new = self._figure(i)
        with self.figure.batch_update():
            self.figure.data = []
            for trace in new.data:
                self.figure.add_trace(trace)
            self.figure.layout = new.layout
        if self.dropdown.value != i:
            self.dropdown.value = i

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def band_comparison(records: Sequence[Any], predictions: Mapping[str, Sequence[np.ndarray]],
                    reference: str = "DFPT", start: int = 0) -> BandComparison:
    """The dropdown widget of :class:`BandComparison` (module docstring)."""
    return BandComparison(records, predictions, reference, start)
