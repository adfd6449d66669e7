"""Models by name: a plain mapping name -> model class, next to the models.

Each model class carries its config dataclass (``config_class``); a model is built as
``Model(Model.config_class(**config))`` and its graphs come from the config's
``graph_options``. The training engine (:mod:`companion.train`) and the command line
(``python -m companion train --model NAME``) find models here. Importing this module imports
the model modules (and so torch and PyG: about 3 s cold; 0.02 s more once those are
loaded).

Example:
    >>> from companion.models.registry import MODELS, build_model, graph_kwargs
    >>> MODELS["cgcnn"]                        # go to definition works
    <class 'companion.models.cgcnn.CGCNN'>
    >>> model = build_model("cgcnn", {"atom_fea_len": 32, "n_conv": 2})
    >>> graph_kwargs("cgcnn")
    {'line_graph': False, 'policy': 'cgcnn', 'cutoff': 8.0, 'max_neighbors': 12}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from companion.models.alignn import ALIGNN
from companion.models.cgcnn import CGCNN
from companion.models.crystalformer import Crystalformer
from companion.models.gatv2 import GATv2Potential
from companion.models.kmvn import KMVN
from companion.models.vgnna import VGNNA

__all__ = ["MODELS", "build_model", "config_fields", "graph_kwargs", "model_config",
           "model_names", "name_of", "register_model", "train_defaults"]

MODELS: dict[str, type[nn.Module]] = {
    "cgcnn": CGCNN,
    "alignn": ALIGNN,
    "gatv2": GATv2Potential,
    "crystalformer": Crystalformer,
    "kmvn": KMVN,
    "vgnna": VGNNA,
}
"""Name -> model class (each with a ``config_class`` attribute)."""


@dataclass(frozen=True)
class Builder:
    """A model registered for this process with a builder function (tests, notebooks).

    Attributes:
        build: ``config dict -> nn.Module``.
        graph: keyword arguments of :func:`companion.graphs.to_graph` for its graphs.
        model_class: the class ``build`` returns (so :func:`name_of` finds the name).
    """

    build: Callable[[dict[str, Any]], nn.Module]
    graph: Mapping[str, Any] = field(default_factory=dict)
    model_class: type | None = None


BUILDERS: dict[str, Builder] = {}
"""Models registered with :func:`register_model` (checked before :data:`MODELS`)."""


def model_names() -> list[str]:
    """Names accepted by :func:`build_model`, sorted."""
    return sorted({*MODELS, *BUILDERS})


def register_model(name: str, builder: Callable[[dict[str, Any]], nn.Module],
                   graph: Mapping[str, Any], model_class: type | None = None) -> None:
    """Register a model for this process (tests, notebooks experimenting with a new model).

    Args:
        name: registry name.
        builder: ``config dict -> nn.Module``.
        graph: keyword arguments of :func:`companion.graphs.to_graph` for its graphs.
        model_class: the class ``builder`` returns, so :func:`name_of` finds the name.
    """
    BUILDERS[name] = Builder(builder, dict(graph), model_class)


def _model_class(name: str) -> type[nn.Module]:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(model_names())}."
                         ) from None


def config_fields(name: str) -> set[str]:
    """Field names of the config dataclass of model ``name`` (empty for a builder)."""
    if name in BUILDERS:
        return set()
    return {f.name for f in dataclasses.fields(_model_class(name).config_class)}


def _config(name: str, config: Mapping[str, Any] | None) -> Any:
    """The config dataclass instance of a model class, unknown keys named."""
    config_cls = _model_class(name).config_class
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(config or {}) - known)
    if unknown:
        raise ValueError(f"{name}: unknown config keys {unknown}; {config_cls.__name__} has "
                         f"{sorted(known)}.")
    return config_cls(**dict(config or {}))


def build_model(name: str, config: Mapping[str, Any] | None = None) -> nn.Module:
    """Build a model from its name and a plain config dict.

    Args:
        name: one of :func:`model_names`, e.g. ``"cgcnn"``.
        config: hyperparameters (fields of the model's config dataclass); missing ones take
            their defaults.

    Raises:
        ValueError: unknown model, or a config key the model does not have (named).
    """
    if name in BUILDERS:
        return BUILDERS[name].build(dict(config or {}))
    return _model_class(name)(_config(name, config))


def graph_kwargs(name: str, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments of :func:`companion.graphs.to_graph` that model ``name`` needs.

    Args:
        name: registry name.
        config: the model config, when its graphs depend on it (e.g. CGCNN's ``radius``).

    Returns:
        ``{"policy", "cutoff", "line_graph", ...}`` (the config's ``graph_options``).
    """
    if name in BUILDERS:
        return {"line_graph": False, **dict(BUILDERS[name].graph)}
    return {"line_graph": False, **dict(_config(name, config).graph_options)}


def train_defaults(name: str) -> dict[str, Any]:
    """The training recipe model ``name`` recommends: its class's ``train_defaults`` (fields
    of :class:`companion.train.TrainConfig`), ``{}`` if none. ``train_model`` without a
    config and the command line (under the flags given) start from these.

    Example:
        >>> train_defaults("crystalformer")["lr"]
        0.0005
    """
    if name in BUILDERS:
        return {}
    return dict(getattr(_model_class(name), "train_defaults", None) or {})


def model_config(model: nn.Module) -> dict[str, Any]:
    """The model's config as a plain dict (``model.config`` dataclass), or ``{}``."""
    config = getattr(model, "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, Mapping):
        return dict(config)
    return {}


def name_of(model: nn.Module) -> str:
    """Registry name of a model instance (its class name if it is not registered)."""
    cls = type(model)
    for name, builder in BUILDERS.items():
        if builder.model_class is cls:
            return name
    for name, klass in MODELS.items():
        if klass is cls:
            return name
    return cls.__name__
