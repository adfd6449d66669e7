"""Models by name: build one from a plain config dict, and the graphs it needs.

The training engine (:mod:`companion.train`) and the command line
(``python -m companion train --model NAME``) find models here. Model modules are imported on
first use, so ``import companion.models.registry`` is cheap.

Example:
    >>> from companion.models.registry import build_model, graph_kwargs
    >>> model = build_model("cgcnn", {"atom_fea_len": 32, "n_conv": 2})
    >>> graph_kwargs("cgcnn")
    {'line_graph': False, 'policy': 'cgcnn', 'cutoff': 8.0, 'max_neighbors': 12}
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model.

    Attributes:
        module: module holding the model (imported on first use), or ``""`` when
            ``builder`` is given directly.
        model_class: model class name; it is built as ``ModelClass(ConfigClass(**config))``.
        config_class: config dataclass name; its ``graph_options`` property gives the
            keyword arguments of :func:`companion.graphs.to_graph` for the model's graphs.
        graph: graph keyword arguments of a model registered with a ``builder``.
        builder: optional ``config dict -> nn.Module`` (overrides module/classes).
    """

    module: str
    model_class: str
    config_class: str
    graph: Mapping[str, Any] = field(default_factory=dict)
    builder: Callable[[dict[str, Any]], nn.Module] | None = None


_REGISTRY: dict[str, ModelSpec] = {
    "cgcnn": ModelSpec("companion.models.cgcnn", "CGCNN", "CGCNNConfig"),
    "alignn": ModelSpec("companion.models.alignn", "ALIGNN", "ALIGNNConfig"),
    "gatv2": ModelSpec("companion.models.gatv2", "GATv2Potential", "GATv2Config"),
}
_CLASSES: dict[str, type] = {}


def model_names() -> list[str]:
    """Names accepted by :func:`build_model`, sorted."""
    return sorted(_REGISTRY)


def _spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(model_names())}."
                         ) from None


def register_model(name: str, builder: Callable[[dict[str, Any]], nn.Module],
                   graph: Mapping[str, Any], model_class: type | None = None) -> None:
    """Register a model for this process (tests, notebooks experimenting with a new model).

    Args:
        name: registry name.
        builder: ``config dict -> nn.Module``.
        graph: keyword arguments of :func:`companion.graphs.to_graph` for its graphs.
        model_class: the class ``builder`` returns, so :func:`name_of` finds the name.
    """
    cls = model_class.__name__ if model_class is not None else ""
    _REGISTRY[name] = ModelSpec("", cls, "", graph=dict(graph), builder=builder)
    if model_class is not None:
        _CLASSES[name] = model_class


def _config(spec: ModelSpec, name: str, config: Mapping[str, Any] | None) -> Any:
    """``(module, config dataclass instance)`` of a module-based model."""
    module = importlib.import_module(spec.module)
    config_cls = getattr(module, spec.config_class)
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(config or {}) - known)
    if unknown:
        raise ValueError(f"{name}: unknown config keys {unknown}; {spec.config_class} has "
                         f"{sorted(known)}.")
    return module, config_cls(**dict(config or {}))


def build_model(name: str, config: Mapping[str, Any] | None = None) -> nn.Module:
    """Build a model from its name and a plain config dict.

    Args:
        name: one of :func:`model_names`, e.g. ``"cgcnn"``.
        config: hyperparameters (fields of the model's config dataclass); missing ones take
            their defaults.

    Raises:
        ValueError: unknown model, or a config key the model does not have (named).
    """
    spec = _spec(name)
    if spec.builder is not None:
        return spec.builder(dict(config or {}))
    module, cfg = _config(spec, name, config)
    return getattr(module, spec.model_class)(cfg)


def graph_kwargs(name: str, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments of :func:`companion.graphs.to_graph` that model ``name`` needs.

    Args:
        name: registry name.
        config: the model config, when its graphs depend on it (e.g. CGCNN's ``radius``).

    Returns:
        ``{"policy", "cutoff", "line_graph", ...}`` (the config's ``graph_options``).
    """
    spec = _spec(name)
    if spec.builder is not None:
        return {"line_graph": False, **dict(spec.graph)}
    _, cfg = _config(spec, name, config)
    return {"line_graph": False, **dict(cfg.graph_options)}


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
    for name, klass in _CLASSES.items():
        if klass is cls:
            return name
    for name, spec in _REGISTRY.items():
        if spec.module and spec.module == cls.__module__ and spec.model_class == cls.__name__:
            return name
    return cls.__name__
