"""Live training curves for notebooks: a plotly ``FigureWidget`` updated by a fit callback.

Example (in a notebook):
    >>> from companion.train import TrainConfig, fit
    >>> from companion.viz.training import LossCurve
    >>> curve = LossCurve(unit="eV/atom")
    >>> curve.widget                            # displays an empty figure
    >>> history = fit(model, train, val, TrainConfig(epochs=20), callbacks=[curve])

The curves are the per-epoch records of :class:`companion.train.History`: training MAE (over
the epoch's training batches) and validation MAE in the target's units, on a log axis, and
the learning rate on a second axis. :func:`history_figure` draws the same from a finished
history (no widget needed, e.g. for a static page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from companion.train import History

from companion.viz.style import PALETTE, log_ticks, theme

SERIES = (("train_mae", "train MAE", PALETTE[0], "solid"),
          ("val_mae", "validation MAE", PALETTE[1], "solid"))
WAITING = "waiting for the first epoch…"


def _layout(unit: str, log_y: bool, height: int, label: str = "MAE") -> dict[str, Any]:
    title = f"{label} ({unit})" if unit else label
    return {
        "height": height, "margin": {"l": 70, "r": 75, "t": 40, "b": 50},
        "xaxis": {"title": {"text": "epoch"}, "range": [0, 1], "tick0": 0, "dtick": 1,
                  "tickformat": "d"},
        "yaxis": {"title": {"text": title}, "type": "log" if log_y else "linear",
                  "showticklabels": False},
        "yaxis2": {"title": {"text": "learning rate"}, "overlaying": "y", "side": "right",
                   "showgrid": False, "tickmode": "auto", "nticks": 6, "rangemode": "tozero",
                   "exponentformat": "power", "showticklabels": False},
        "annotations": [{"text": WAITING, "showarrow": False, "xref": "paper",
                         "yref": "paper", "x": 0.5, "y": 0.5, "font": {"color": "#888"}}],
    }


def _traces() -> list[Any]:
    import plotly.graph_objects as go

    traces = [go.Scatter(x=[], y=[], name=name, mode="lines+markers",
                         line={"color": color, "dash": dash},
                         hovertemplate="epoch %{x}: %{y:.4g}<extra>" + name + "</extra>")
              for _, name, color, dash in SERIES]
    traces.append(go.Scatter(x=[], y=[], name="learning rate", mode="lines", yaxis="y2",
                             line={"color": PALETTE[7], "dash": "dot", "width": 1},
                             hovertemplate="epoch %{x}: lr %{y:.3g}<extra></extra>"))
    return traces


def _columns(history: History) -> list[tuple[list[float], list[float]]]:
    epochs = [r["epoch"] for r in history.epochs]
    cols = []
    for key in [s[0] for s in SERIES] + ["lr"]:
        pairs = [(r["epoch"], r[key]) for r in history.epochs if key in r]
        cols.append(([p[0] for p in pairs], [p[1] for p in pairs]) if pairs else (epochs, []))
    return cols


def _axes(cols: list[tuple[list[float], list[float]]], log_y: bool) -> dict[str, Any]:
    """Axis updates for the current curves: whole epochs on x (every epoch up to 10, then
    a 1-2-5 step), 1-2-5 ticks on a log y axis, tick labels once there is data."""
    epochs = max((max(x) for x, _ in cols if x), default=0)
    if not epochs:
        return {}
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if epochs / s <= 10)
    values = [v for _, y in cols[:-1] for v in y if v and v > 0]
    y_axis: dict[str, Any] = {"showticklabels": True}
    if log_y and values:
        vals, text = log_ticks(min(values), max(values))
        y_axis |= {"tickvals": vals, "ticktext": text}
    return {"xaxis": {"range": [0.5, epochs + 0.5], "dtick": step, "tick0": 0},
            "yaxis": y_axis, "yaxis2": {"showticklabels": True}}


def _set_axes(fig: Any, cols: list[tuple[list[float], list[float]]], log_y: bool) -> None:
    axes = _axes(cols, log_y)
    if axes:
        fig.update_layout(axes)
        fig.layout.annotations = ()  # the "waiting" note goes with the first epoch


def history_figure(history: History, unit: str = "", log_y: bool = True,
                   height: int = 360, label: str = "MAE") -> go.Figure:
    """A static figure of a finished run's curves (see the module docstring)."""
    import plotly.graph_objects as go

    fig = theme(go.Figure(_traces(), layout=_layout(unit, log_y, height, label)))
    cols = _columns(history)
    for trace, (x, y) in zip(fig.data, cols, strict=True):
        trace.x, trace.y = x, y
    _set_axes(fig, cols, log_y)
    return fig


class LossCurve:
    """A fit callback that redraws a plotly ``FigureWidget`` after every epoch.

    Args:
        unit: the unit of the curves, for the axis title (e.g. ``"meV/Å"``).
        log_y: MAE on a log axis.
        height: figure height in pixels.
        label: what the curves are (axis title before the unit), e.g. ``"force MAE"``.

    Attributes:
        widget: the ``FigureWidget`` (display it before calling ``fit``).
    """

    def __init__(self, unit: str = "", log_y: bool = True, height: int = 360,
                 label: str = "MAE") -> None:
        import plotly.graph_objects as go

        self.log_y = log_y
        self.widget = theme(go.FigureWidget(_traces(),
                                            layout=_layout(unit, log_y, height, label)))

    def __call__(self, history: History) -> bool:
        """Update the curves from ``history`` (never asks to stop)."""
        cols = _columns(history)
        with self.widget.batch_update():
            for trace, (x, y) in zip(self.widget.data, cols, strict=True):
                trace.x, trace.y = x, y
            _set_axes(self.widget, cols, self.log_y)
        return False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def loss_curve(unit: str = "", log_y: bool = True, height: int = 360,
               label: str = "MAE") -> LossCurve:
    """A :class:`LossCurve` (shorthand for notebooks)."""
    return LossCurve(unit, log_y, height, label)
