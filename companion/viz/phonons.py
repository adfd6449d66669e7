"""Phonon band structures: bands along a high-symmetry path, the DOS, and animated modes.

- :func:`band_figure` (plotly 2D): bands against the path length with labelled special
  points, optionally a second set of bands overlaid (prediction vs DFPT), and the DOS in a
  narrow panel beside them sharing the frequency axis.
- :func:`mode_frames`: the positions of a (super)cell vibrating in one mode,
  ``r_a(n, t) = r_a + n + A Re(e_a exp(i (2 pi q.n - 2 pi t / T)))``, ``e_a`` the mode's
  eigendisplacement of atom ``a``, ``n`` the lattice vector of the repeat.
- :func:`band_explorer` (ipywidgets): the band figure as a ``FigureWidget`` beside an
  nglview view; clicking a point of a band animates that mode (q-point, branch). CSS classes
  (for the browser tests): ``companion-band-figure``, ``companion-mode-view``,
  ``companion-mode-label``.

Bands come as [n_q, n_branches] arrays in THz (rows = q-points, e.g.
``record.labels["frequencies"]`` of ``load("mp_phonons")``), the path as the cumulative
distance [n_q] (``band_path_distance``) and the labels one string per q-point. plotly,
ipywidgets and nglview are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from companion.data.phonons import label_ticks
from companion.graphs.atoms import as_atoms_arrays

if TYPE_CHECKING:
    import plotly.graph_objects as go

FIGURE_CLASS = "companion-band-figure"
VIEW_CLASS = "companion-mode-view"
LABEL_CLASS = "companion-mode-label"
COLORS = ("#1f77b4", "#d62728")
"""First (reference, e.g. DFPT) and second (e.g. prediction) band set."""


def band_path_distance(qpoints: np.ndarray, reciprocal_lattice: np.ndarray,
                       labels: Sequence[str] | None = None) -> np.ndarray:
    """Cumulative path length [n_q] (1/Å) of q-points [n_q, 3] (reduced) along a path.

    A jump between two consecutive labelled points (a break such as ``U|K``) adds no length.
    """
    cart = np.asarray(qpoints, dtype=np.float64) @ np.asarray(reciprocal_lattice)  # [n_q, 3]
    step = np.linalg.norm(np.diff(cart, axis=0), axis=1)  # [n_q - 1]
    if labels is not None:
        lab = np.array([bool(x) for x in labels])
        step[lab[:-1] & lab[1:]] = 0.0
    return np.concatenate([[0.0], np.cumsum(step)])


def _band_trace(distance: np.ndarray, bands: np.ndarray, name: str, color: str,
                dash: str | None = None) -> Any:
    import plotly.graph_objects as go

    n_q, n_b = bands.shape
    x = np.concatenate([np.append(distance, np.nan) for _ in range(n_b)])
    y = np.concatenate([np.append(bands[:, b], np.nan) for b in range(n_b)])
    q_idx = np.concatenate([np.append(np.arange(n_q), -1) for _ in range(n_b)])
    branch = np.repeat(np.arange(n_b), n_q + 1)
    return go.Scatter(x=x, y=y, mode="lines", name=name, line={"color": color, "width": 1.6,
                      "dash": dash}, customdata=np.stack([q_idx, branch], axis=1),
                      hovertemplate="q-point %{customdata[0]}, branch %{customdata[1]}"
                                    "<br>%{y:.3f} THz<extra>" + name + "</extra>")


def band_figure(distance: np.ndarray, bands: np.ndarray, labels: Sequence[str],
                overlay: np.ndarray | None = None, names: tuple[str, str] = ("DFPT", "model"),
                dos: tuple[np.ndarray, np.ndarray] | None = None,
                title: str = "") -> go.Figure:
    """Bands along a path with labelled special points, an optional overlay and the DOS.

    Args:
        distance: [n_q] path length (:func:`band_path_distance`).
        bands: [n_q, n_b] frequencies, THz (first set, solid).
        labels: one string per q-point ('' where none).
        overlay: [n_q, n_b'] second set on the same q-points, THz (dashed).
        names: legend names of the two sets.
        dos: ``(frequencies [n], densities [n])`` of the first set, THz and states/THz.
        title: figure title.

    Returns:
        A plotly figure; trace 0 is ``bands``, trace 1 ``overlay`` (if given), then the DOS.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    bands = np.asarray(bands, dtype=np.float64)
    if bands.ndim != 2 or len(bands) != len(distance) or len(labels) != len(distance):
        raise ValueError(f"bands {bands.shape}, distance {len(distance)} and labels "
                         f"{len(labels)} must describe the same q-points (bands [n_q, n_b])")
    fig = make_subplots(rows=1, cols=2 if dos is not None else 1, shared_yaxes=True,
                        column_widths=[0.8, 0.2] if dos is not None else [1.0],
                        horizontal_spacing=0.02)
    fig.add_trace(_band_trace(distance, bands, names[0], COLORS[0]), row=1, col=1)
    if overlay is not None:
        overlay = np.asarray(overlay, dtype=np.float64)
        if len(overlay) != len(distance):
            raise ValueError(f"overlay has {len(overlay)} q-points, bands {len(distance)}")
        fig.add_trace(_band_trace(distance, overlay, names[1], COLORS[1], "dash"),
                      row=1, col=1)
    if dos is not None:
        fig.add_trace(go.Scatter(x=dos[1], y=dos[0], mode="lines", name="DOS",
                                 line={"color": "#555"}, fill="tozerox"), row=1, col=2)
        fig.update_xaxes(title_text="DOS", showticklabels=False, row=1, col=2)
    ticks, texts = label_ticks(list(labels), np.asarray(distance))
    texts = [t.replace("\\Gamma", "Γ") for t in texts]
    fig.update_xaxes(tickvals=ticks, ticktext=texts, showgrid=True, gridcolor="#bbb",
                     range=[float(distance[0]), float(distance[-1])], row=1, col=1)
    fig.update_yaxes(title_text="frequency (THz)", zeroline=True, row=1, col=1)
    fig.update_layout(title=title, height=420, margin={"l": 60, "r": 10, "t": 40, "b": 40},
                      legend={"orientation": "h", "y": 1.08}, clickmode="event")
    return fig


def mode_frames(structure: Any, qpoint: np.ndarray, eigendisplacement: np.ndarray,
                supercell: tuple[int, int, int] = (2, 2, 2), n_frames: int = 20,
                amplitude: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a supercell vibrating in one phonon mode.

    Args:
        structure: the cell (anything :func:`companion.graphs.as_atoms_arrays` reads).
        qpoint: [3] reduced wave vector of the mode.
        eigendisplacement: [n_atoms, 3] complex displacement pattern.
        supercell: repeats of the cell, so that q != 0 shows as a wave.
        n_frames: frames per period.
        amplitude: largest displacement, Å.

    Returns:
        ``z`` [n_shown] and ``frames`` [n_frames, n_shown, 3] (Å).
    """
    atoms = as_atoms_arrays(structure)
    e = np.asarray(eigendisplacement).reshape(len(atoms), 3)  # [n_atoms, 3]
    reps = np.array(np.meshgrid(*[np.arange(k) for k in supercell], indexing="ij"))
    reps = reps.reshape(3, -1).T  # [n_rep, 3]
    base = (atoms.pos[None] + (reps @ atoms.cell)[:, None]).reshape(-1, 3)  # [n_shown, 3]
    phase = np.exp(2j * np.pi * reps @ np.asarray(qpoint, dtype=np.float64))  # [n_rep]
    disp = (phase[:, None, None] * e[None]).reshape(-1, 3)  # [n_shown, 3] complex
    scale = amplitude / max(float(np.abs(disp).max()), 1e-12)
    t = np.exp(-2j * np.pi * np.arange(n_frames) / n_frames)  # [n_frames]
    frames = base[None] + scale * (t[:, None, None] * disp[None]).real  # [n_frames, n, 3]
    return np.tile(atoms.z, len(reps)), frames


class BandExplorer:
    """Band figure + animated mode (see :func:`band_explorer`)."""

    def __init__(self, structure: Any, qpoints: np.ndarray, distance: np.ndarray,
                 bands: np.ndarray, labels: Sequence[str], eigendisplacements: np.ndarray,
                 overlay: np.ndarray | None = None, names: tuple[str, str] = ("DFPT", "model"),
                 dos: tuple[np.ndarray, np.ndarray] | None = None, title: str = "",
                 supercell: tuple[int, int, int] = (2, 2, 2)) -> None:
        import ase
        import ipywidgets as w
        import plotly.graph_objects as go

        from companion.viz.structure import _import_nglview

        nglview = _import_nglview()
        self.structure, self.qpoints = structure, np.asarray(qpoints)
        self.eig = np.asarray(eigendisplacements)  # [n_q, n_b, n_atoms, 3]
        self.bands = np.asarray(bands)
        self.supercell = supercell
        self.figure = go.FigureWidget(band_figure(distance, bands, labels, overlay, names,
                                                  dos, title))
        self.figure.add_class(FIGURE_CLASS)
        z, frames = mode_frames(structure, self.qpoints[0], self.eig[0, -1], supercell)
        self._frames = [ase.Atoms(numbers=z, positions=f) for f in frames]
        self.trajectory = nglview.ASETrajectory(self._frames)
        self.view = nglview.NGLWidget(self.trajectory)
        self.view.clear_representations()
        self.view.add_spacefill(radiusType="vdw", radiusScale=0.3)
        self.view.layout.height = "380px"
        self.view.add_class(VIEW_CLASS)
        self.label = w.HTML()
        self.label.add_class(LABEL_CLASS)
        for trace in self.figure.data[:2 if overlay is not None else 1]:
            trace.on_click(self._on_click)
        self.widget = w.VBox([self.figure, w.HBox([self.view, self.label])])
        self.select(0, self.bands.shape[1] - 1)
        player = getattr(self.view, "_iplayer", None)  # nglview's Play + slider
        if player is not None:
            player.children[0].repeat = True
            player.children[0].playing = True

    def select(self, q_index: int, branch: int) -> None:
        """Animate mode ``branch`` at q-point ``q_index`` (DFPT eigendisplacements)."""
        _, frames = mode_frames(self.structure, self.qpoints[q_index],
                                self.eig[q_index, branch], self.supercell)
        for atoms, f in zip(self._frames, frames, strict=True):
            atoms.positions = f
        self.mode = (int(q_index), int(branch))
        q = ", ".join(f"{v:.3f}" for v in self.qpoints[q_index])
        self.label.value = (f"<b>mode</b> branch {branch} at q = ({q}): "
                            f"{self.bands[q_index, branch]:.3f} THz")
        self.view._set_coordinates(self.view.frame)

    def _on_click(self, trace: Any, points: Any, selector: Any) -> None:
        if not points.point_inds:
            return
        q_index, branch = trace.customdata[points.point_inds[0]]
        if q_index >= 0:
            self.select(int(q_index), int(branch))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def band_explorer(record: Any, overlay: np.ndarray | None = None,
                  names: tuple[str, str] = ("DFPT", "model"), dos: bool = True,
                  supercell: tuple[int, int, int] = (2, 2, 2)) -> BandExplorer:
    """The band explorer of an ``mp_phonons`` record loaded with ``eigendisplacements=True``.

    Args:
        record: bands, q-points, labels, DOS and eigendisplacements (DFPT).
        overlay: [n_q, 3N] second set of bands (THz) on the record's q-points.
        names: legend names (DFPT, overlay).
        dos: draw the DOS beside the bands.
        supercell: repeats of the cell in the animation.
    """
    lab = record.labels
    if "eigendisplacements" not in lab:
        raise ValueError("band_explorer needs eigendisplacements: load the record with "
                         "load('mp_phonons', material_ids=[...], eigendisplacements=True)")
    labels = record.info["qpoint_labels"]
    dist = band_path_distance(lab["qpoints"], lab["reciprocal_lattice"], labels)
    return BandExplorer(record.structure, lab["qpoints"], dist, lab["frequencies"], labels,
                        lab["eigendisplacements"], overlay, names,
                        (lab["dos_frequencies"], lab["dos_densities"]) if dos else None,
                        title=f"{record.info.get('formula', record.id)} ({record.id})",
                        supercell=supercell)
