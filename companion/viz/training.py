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

SERIES = (("train_mae", "train MAE", "#1f77b4", "solid"),
          ("val_mae", "validation MAE", "#d62728", "solid"))


def _layout(unit: str, log_y: bool, height: int) -> dict[str, Any]:
    label = f"MAE ({unit})" if unit else "MAE"
    return {
        "height": height, "margin": {"l": 60, "r": 60, "t": 30, "b": 45},
        "xaxis": {"title": {"text": "epoch"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": label}, "type": "log" if log_y else "linear"},
        "yaxis2": {"title": {"text": "learning rate"}, "overlaying": "y", "side": "right",
                   "showgrid": False, "exponentformat": "e"},
        "legend": {"orientation": "h", "y": 1.08},
    }


def _traces() -> list[Any]:
    import plotly.graph_objects as go

    traces = [go.Scatter(x=[], y=[], name=name, mode="lines+markers",
                         line={"color": color, "dash": dash}) for _, name, color, dash in SERIES]
    traces.append(go.Scatter(x=[], y=[], name="learning rate", mode="lines", yaxis="y2",
                             line={"color": "#7f7f7f", "dash": "dot", "width": 1}))
    return traces


def _columns(history: History) -> list[tuple[list[float], list[float]]]:
    epochs = [r["epoch"] for r in history.epochs]
    cols = []
    for key in [s[0] for s in SERIES] + ["lr"]:
        pairs = [(r["epoch"], r[key]) for r in history.epochs if key in r]
        cols.append(([p[0] for p in pairs], [p[1] for p in pairs]) if pairs else (epochs, []))
    return cols


def history_figure(history: History, unit: str = "", log_y: bool = True,
                   height: int = 360) -> go.Figure:
    """A static figure of a finished run's curves (see the module docstring)."""
    import plotly.graph_objects as go

    fig = go.Figure(_traces(), layout=_layout(unit, log_y, height))
    for trace, (x, y) in zip(fig.data, _columns(history), strict=True):
        trace.x, trace.y = x, y
    return fig


class LossCurve:
    """A fit callback that redraws a plotly ``FigureWidget`` after every epoch.

    Args:
        unit: the target's unit, for the axis label.
        log_y: MAE on a log axis.
        height: figure height in pixels.

    Attributes:
        widget: the ``FigureWidget`` (display it before calling ``fit``).
    """

    def __init__(self, unit: str = "", log_y: bool = True, height: int = 360) -> None:
        import plotly.graph_objects as go

        self.widget = go.FigureWidget(_traces(),
                                      layout=_layout(unit, log_y, height))

    def __call__(self, history: History) -> bool:
        """Update the curves from ``history`` (never asks to stop)."""
        with self.widget.batch_update():
            for trace, (x, y) in zip(self.widget.data, _columns(history), strict=True):
                trace.x, trace.y = x, y
        return False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def loss_curve(unit: str = "", log_y: bool = True, height: int = 360) -> LossCurve:
    """A :class:`LossCurve` (shorthand for notebooks)."""
    return LossCurve(unit, log_y, height)
