r"""Attention over periodic images (Crystalformer, notebook 05): which images of which atoms
one atom attends to, and how much weight lies beyond a radius.

- :func:`image_attention`: the numbers: every image :math:`p_j + nL` within ``max_radius``
  of a chosen atom :math:`i`, its distance and its attention weight, either the Gaussian
  alone (:math:`w \propto e^{-d^2/2\sigma^2}` for a given ``sigma``, Crystalformer's bias
  without the ``q.k`` term) or a trained :class:`~companion.models.crystalformer.Crystalformer`
  layer and head (the full softmax, :meth:`Crystalformer.attention_weights`).
- :func:`outside_share`: the share of the weight beyond a radius (the truncation error of a
  cutoff at that radius).
- :func:`periodic_attention_figure` (plotly 3D): the images within ``radius``, colored and
  sized by weight, the chosen atom marked, the unit cell drawn.
- :func:`periodic_attention_explorer` (ipywidgets): sliders for sigma (or layer and head of a
  model), the image radius and the atom; the share outside the radius updates live. CSS
  classes: ``companion-pattn-sigma``, ``companion-pattn-radius``, ``companion-pattn-atom``,
  ``companion-pattn-layer``, ``companion-pattn-head``, ``companion-pattn-share``.

plotly and ipywidgets are imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

MAX_RADIUS = 14.0
"""Å: images up to this distance enter the weights (the softmax's normalization)."""

SIGMA_CLASS, RADIUS_CLASS, ATOM_CLASS = ("companion-pattn-sigma", "companion-pattn-radius",
                                         "companion-pattn-atom")
LAYER_CLASS, HEAD_CLASS, SHARE_CLASS = ("companion-pattn-layer", "companion-pattn-head",
                                        "companion-pattn-share")


@dataclass
class ImageWeights:
    """Images of every atom around one atom ``center`` and their attention weights.

    Attributes:
        center: the query atom i.
        pos: [n_images, 3] Cartesian positions of the images (Å).
        atom: [n_images] the atom j of each image.
        distance: [n_images] |p_j + nL - p_i| (Å), sorted ascending.
        weight: [n_images] attention weights (sum 1 over all images within ``MAX_RADIUS``).
        z: [n_images] atomic numbers.
        sigma: the Gaussian width (Å) of the weights (the model's, for a model).
    """

    center: int
    pos: np.ndarray
    atom: np.ndarray
    distance: np.ndarray
    weight: np.ndarray
    z: np.ndarray
    sigma: float


def _graph(structure: Any, radius: float):
    import torch

    from companion.graphs import to_graph

    if hasattr(structure, "edge_index"):
        structure = (structure.z.numpy(), structure.pos.double().numpy(),
                     structure.cell.reshape(3, 3).double().numpy())
    return to_graph(structure, policy="radius", cutoff=radius, self_interaction=True,
                    dtype=torch.float64)


def image_attention(structure: Any, center: int = 0, sigma: float = 1.4,
                    model: Any = None, layer: int = 0, head: int = 0,
                    max_radius: float = MAX_RADIUS) -> ImageWeights:
    """Attention weights of atom ``center`` over every image within ``max_radius``.

    Args:
        structure: pymatgen ``Structure``, ASE ``Atoms``, arrays or a graph.
        center: the query atom.
        sigma: Å, width of the Gaussian weights (ignored with a model).
        model: a Crystalformer (its weights; sigma comes from the model).
        layer, head: which block and head of the model.
        max_radius: Å, the images that share the weight.
    """
    import torch

    graph = _graph(structure, max_radius)
    src, dst = graph.edge_index.numpy()
    vec = (graph.pos[src] + graph.edge_shift @ graph.cell[0] - graph.pos[dst]).numpy()
    mine = dst == center
    dist = np.linalg.norm(vec[mine], axis=1)
    if model is None:
        logits = -dist**2 / (2 * sigma**2)
        weight = np.exp(logits - logits.max())
        weight /= weight.sum()
    else:
        model = model.double().eval()
        with torch.no_grad():
            record = model.attention_weights(graph)[layer]
        weight = record["weight"][:, head].numpy()[mine]
        sigma = float(record["sigma"][center, head])
    order = np.argsort(dist, kind="stable")
    pos = graph.pos[center].numpy() + vec[mine][order]
    return ImageWeights(center, pos, src[mine][order], dist[order], weight[order],
                        graph.z.numpy()[src[mine][order]], sigma)


def outside_share(images: ImageWeights, radius: float) -> float:
    """Share of the attention weight on images farther than ``radius`` (Å)."""
    return float(images.weight[images.distance > radius].sum())


def _cell_lines(cell: np.ndarray) -> tuple[list, list, list]:
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]) @ cell
    xs, ys, zs = [], [], []
    for a in range(8):
        for b in range(a + 1, 8):
            if bin(a ^ b).count("1") == 1:  # corners that differ along one axis
                for coords, p in zip((xs, ys, zs), (0, 1, 2), strict=True):
                    coords += [corners[a, p], corners[b, p], None]
    return xs, ys, zs


def periodic_attention_figure(images: ImageWeights, radius: float,
                              cell: np.ndarray | None = None,
                              fig: go.Figure | None = None) -> go.Figure:
    """3D figure: images within ``radius`` colored (log10 of the weight) and sized by their
    weight, the center atom as a black diamond, the unit cell in grey. Passing ``fig``
    updates its traces in place (a ``FigureWidget``)."""
    import plotly.graph_objects as go

    from companion.viz.style import element_symbol

    keep = images.distance <= radius
    w = images.weight[keep]
    logw = np.log10(np.maximum(w, 1e-12))
    text = [f"{element_symbol(int(z))}{j}  d = {d:.2f} Å  weight {x:.2e}"
            for z, j, d, x in zip(images.z[keep], images.atom[keep], images.distance[keep], w,
                                  strict=True)]
    share = outside_share(images, radius)
    title = (f"atom {images.center}: {keep.sum()} images within {radius:.1f} Å, "
             f"sigma = {images.sigma:.2f} Å; weight outside: {share:.2e}")
    points = go.Scatter3d(
        x=images.pos[keep, 0], y=images.pos[keep, 1], z=images.pos[keep, 2], mode="markers",
        name="images", text=text, hoverinfo="text",
        marker={"size": 3 + 25 * np.sqrt(w / max(w.max(), 1e-12)), "color": logw,
                "colorscale": "Viridis", "cmin": -6, "cmax": 0,
                "colorbar": {"title": "log10 weight"}})
    center = images.pos[0]  # the self image, distance 0
    me = go.Scatter3d(x=[center[0]], y=[center[1]], z=[center[2]], mode="markers",
                      name=f"atom {images.center}",
                      marker={"size": 8, "color": "black", "symbol": "diamond"})
    traces = [points, me]
    if cell is not None:
        xs, ys, zs = _cell_lines(np.asarray(cell, dtype=float))
        traces.append(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", name="unit cell",
                                   line={"color": "grey", "width": 2}, hoverinfo="skip"))
    if fig is None:
        fig = go.Figure(traces)
        fig.update_layout(height=520, margin={"l": 0, "r": 0, "t": 40, "b": 0},
                          scene={"aspectmode": "data"}, legend={"x": 0})
    else:
        with fig.batch_update():
            for old, new in zip(fig.data, traces, strict=False):
                old.update({k: v for k, v in new.to_plotly_json().items() if k != "type"})
    fig.update_layout(title={"text": title, "font": {"size": 13}})
    return fig


def periodic_attention_explorer(structure: Any, model: Any = None,
                                max_radius: float = MAX_RADIUS) -> Any:
    """Widgets: sigma slider (or layer and head of ``model``), image-radius slider, atom
    selector, a live figure and the share of the weight outside the radius."""
    import ipywidgets as widgets
    import plotly.graph_objects as go

    graph = _graph(structure, max_radius)
    cell = graph.cell[0].numpy()
    radius = widgets.FloatSlider(value=6.9, min=1.0, max=max_radius, step=0.1,
                                 description="radius (Å)", continuous_update=False)
    atom = widgets.Dropdown(options=list(range(graph.num_nodes)), value=0, description="atom")
    share = widgets.HTML()
    controls: list[Any] = [atom, radius]
    if model is None:
        sigma = widgets.FloatSlider(value=1.4, min=0.5, max=3.0, step=0.05,
                                    description="sigma (Å)", continuous_update=False)
        sigma.add_class(SIGMA_CLASS)
        controls.insert(0, sigma)
    else:
        layer = widgets.Dropdown(options=list(range(model.config.n_layers)), value=0,
                                 description="layer")
        head = widgets.Dropdown(options=list(range(model.config.real_heads)), value=0,
                                description="head")
        layer.add_class(LAYER_CLASS)
        head.add_class(HEAD_CLASS)
        controls[:0] = [layer, head]
    for widget, css in ((radius, RADIUS_CLASS), (atom, ATOM_CLASS), (share, SHARE_CLASS)):
        widget.add_class(css)

    def current() -> ImageWeights:
        if model is None:
            return image_attention(graph, atom.value, sigma=sigma.value, max_radius=max_radius)
        return image_attention(graph, atom.value, model=model, layer=layer.value,
                               head=head.value, max_radius=max_radius)

    fig = go.FigureWidget(periodic_attention_figure(current(), radius.value, cell))

    def redraw(_: Any = None) -> None:
        images = current()
        periodic_attention_figure(images, radius.value, cell, fig)
        share.value = (f"<b>weight outside {radius.value:.1f} Å:</b> "
                       f"{outside_share(images, radius.value):.3e} (sigma = {images.sigma:.2f} Å)")

    for widget in controls:
        widget.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(controls), share, fig])
