"""Baselines that any crystal GNN must beat: the mean predictor and a composition-only model.

- :class:`MeanPredictor` predicts the mean of the training targets for every structure: the
  error of a model that knows nothing about the crystal (its MAE is the mean absolute
  deviation of the test targets from the training mean).
- :func:`composition_forest` is a scikit-learn random forest on **element fractions**: the
  vector :math:`c_Z = n_Z / N` (atoms of element :math:`Z` over atoms in the cell), which
  knows the chemistry but not the structure: polymorphs of one compound get one prediction.
- :func:`fit_baselines` fits both on the training split of a data set and evaluates them on
  another split (the test split by default), the comparison of notebook 02.

Features come from the atomic numbers alone (:func:`element_fractions`): ``z`` arrays, the
``arrays(i)`` of a :class:`~companion.data.shipped.CrystalDataset`, pymatgen ``Structure``
or ``Composition`` objects, or ASE ``Atoms``.

Example:
    >>> from companion.data import load
    >>> from companion.baselines import fit_baselines
    >>> results = fit_baselines(load("mp_eform"), "formation_energy_per_atom")
    >>> {name: round(r.metrics["mae"], 3) for name, r in results.items()}   # eV/atom
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "MAX_Z",
    "BaselineResult",
    "MeanPredictor",
    "composition_features",
    "composition_forest",
    "element_fractions",
    "fit_baselines",
]

MAX_Z = 103
"""Elements covered by the features: Z = 1..103 (column ``Z - 1``); heavier ones raise."""

FOREST_DEFAULTS: dict[str, Any] = {"n_estimators": 200, "min_samples_leaf": 1,
                                   "max_features": "sqrt"}
"""Random-forest settings of :func:`composition_forest`, compared on the validation split of
``mp_eform`` (MAE 0.257 eV/atom with ``sqrt``, 0.259 with a third or all of the features at
each split, 0.279 with ``min_samples_leaf=2``); ``sqrt`` is also the fastest."""


def _atomic_numbers(item: Any) -> np.ndarray:
    """Atomic numbers of one structure given in any of the accepted forms ([n_atoms] int)."""
    if isinstance(item, tuple) and len(item) == 3:  # (z, pos, cell) of dataset.arrays(i)
        item = item[0]
    if hasattr(item, "numbers") and not hasattr(item, "lattice"):  # ASE Atoms
        return np.asarray(item.numbers, dtype=np.int64)
    if hasattr(item, "atomic_numbers") and hasattr(item, "lattice"):  # pymatgen Structure
        return np.asarray(item.atomic_numbers, dtype=np.int64)
    return np.asarray(item, dtype=np.int64).reshape(-1)


def _composition_row(composition: Any) -> np.ndarray:
    """Element fractions [MAX_Z] of a pymatgen ``Composition``."""
    row = np.zeros(MAX_Z)  # [MAX_Z]
    for element, amount in composition.items():
        row[_column(int(element.Z))] += float(amount)
    return row / row.sum()


def _column(z: int) -> int:
    if not 1 <= z <= MAX_Z:
        raise ValueError(f"atomic number {z} outside 1..{MAX_Z} of the composition features")
    return z - 1


def element_fractions(structures: Iterable[Any]) -> np.ndarray:
    """Element-fraction vectors: row ``k`` holds ``n_Z / N`` of structure ``k`` in column
    ``Z - 1``.

    Args:
        structures: per structure, an array of atomic numbers, a ``(z, pos, cell)`` tuple,
            a pymatgen ``Structure`` or ``Composition``, or an ASE ``Atoms``.

    Returns:
        float64 [n_structures, MAX_Z]; each row sums to 1.

    Raises:
        ValueError: an empty structure, or an atomic number outside 1..:data:`MAX_Z`.
    """
    rows = []
    for item in structures:
        if hasattr(item, "get_el_amt_dict"):
            rows.append(_composition_row(item))
            continue
        z = _atomic_numbers(item)  # [n_atoms]
        if z.size == 0:
            raise ValueError("a structure with no atoms has no composition")
        if z.min() < 1 or z.max() > MAX_Z:
            _column(int(z.min()) if z.min() < 1 else int(z.max()))
        rows.append(np.bincount(z - 1, minlength=MAX_Z) / z.size)  # [MAX_Z]
    return np.asarray(rows, dtype=np.float64).reshape(-1, MAX_Z)


def composition_features(dataset: Any, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """:func:`element_fractions` of records of a dataset with ``arrays(i)`` (fast path).

    Args:
        dataset: e.g. ``load("mp_eform")``.
        indices: record indices, e.g. ``dataset.split["train"]``.

    Returns:
        float64 [len(indices), MAX_Z].
    """
    return element_fractions(dataset.arrays(int(i))[0] for i in np.asarray(indices))


class MeanPredictor:
    """Predicts the mean training target for every input (scikit-learn style).

    Attributes:
        mean_: the mean of the training targets (target units), after :meth:`fit`.
    """

    def fit(self, features: Any, y: Sequence[float] | np.ndarray) -> MeanPredictor:
        """Remember the mean of ``y`` (``features`` are ignored; any length-n object)."""
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if y.size == 0:
            raise ValueError("MeanPredictor.fit needs at least one target")
        self.mean_ = float(y.mean())
        return self

    def predict(self, features: Any) -> np.ndarray:
        """``mean_`` repeated once per row of ``features`` ([n], target units)."""
        if not hasattr(self, "mean_"):
            raise RuntimeError("call fit() before predict()")
        return np.full(len(features), self.mean_)

    def __repr__(self) -> str:
        return f"MeanPredictor(mean_={self.mean_:.6g})" if hasattr(self, "mean_") else \
            "MeanPredictor()"


def composition_forest(seed: int = 0, n_jobs: int | None = None, **overrides: Any) -> Any:
    """An unfitted ``RandomForestRegressor`` for element fractions (:data:`FOREST_DEFAULTS`).

    Args:
        seed: ``random_state`` (the bootstrap samples and feature draws).
        n_jobs: parallel jobs (None: 1; -1: all cores).
        **overrides: other ``RandomForestRegressor`` arguments.
    """
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(**{**FOREST_DEFAULTS, **overrides}, random_state=seed,
                                 n_jobs=n_jobs)


@dataclass
class BaselineResult:
    """A fitted baseline and its predictions on the evaluation split.

    Attributes:
        name: label, e.g. ``"mean predictor"``.
        model: the fitted estimator (``predict(features)``).
        indices: record indices of the evaluation split ([n]).
        prediction: predictions there ([n], target units).
        target: the true values there ([n], target units).
        metrics: ``{"mae", "rmse", "r2"}`` in target units.
    """

    name: str
    model: Any
    indices: np.ndarray
    prediction: np.ndarray
    target: np.ndarray
    metrics: dict[str, float] = field(default_factory=dict)


def fit_baselines(dataset: Any, target: str, train: str = "train", test: str = "test",
                  split: Mapping[str, np.ndarray] | None = None, seed: int = 0,
                  n_jobs: int | None = None) -> dict[str, BaselineResult]:
    """Fit the mean predictor and the composition forest on one split, evaluate on another.

    Args:
        dataset: a dataset with ``arrays(i)``, ``target(name)`` and ``split``.
        target: target name, e.g. ``"formation_energy_per_atom"``.
        train: split that the baselines are fitted on.
        test: split that they are evaluated on (``"val"`` to choose settings).
        split: index arrays by split name (default ``dataset.split``), e.g. a FAST subset.
        seed: seed of the forest.
        n_jobs: parallel jobs of the forest.

    Returns:
        ``{"mean predictor": ..., "composition forest": ...}`` as :class:`BaselineResult`.
    """
    from companion.train import regression_metrics

    split = dict(dataset.split if split is None else split)
    y_all = np.asarray(dataset.target(target), dtype=np.float64)  # [n_records]
    idx_train = np.asarray(split[train], dtype=np.int64)
    idx_test = np.asarray(split[test], dtype=np.int64)
    x_train = composition_features(dataset, idx_train)  # [n_train, MAX_Z]
    x_test = composition_features(dataset, idx_test)  # [n_test, MAX_Z]
    models = {"mean predictor": MeanPredictor(),
              "composition forest": composition_forest(seed, n_jobs)}
    results = {}
    for name, model in models.items():
        model.fit(x_train, y_all[idx_train])
        pred = np.asarray(model.predict(x_test), dtype=np.float64)  # [n_test]
        results[name] = BaselineResult(name, model, idx_test, pred, y_all[idx_test],
                                       regression_metrics(pred, y_all[idx_test]))
    return results
