"""Data sets: shipped (``data/``), external (registry + resolver) and their loaders.

* :func:`load` — one entry point by name. Shipped sets (``mp_eform``, ``mp_dielectric``,
  ``mp_elastic``) load from ``data/*.npz`` in well under a second; external sets
  (``ethanol``, ``3bpa``, ``acac``, ``ean``, ``mlearn``, ``mp_phonons``,
  ``matcalc_elasticity``, ``matcalc_heat_capacity``, ``perov_5``) are resolved through
  :mod:`companion.data.resolve` (``data/``, user cache, ``COMPANION_DATA_DIRS``, download)
  and parsed by :mod:`companion.data.external`; keyword arguments go to their loader.
* :mod:`companion.data.registry` — upstream location, commit, sha256, license, citation.
* :mod:`companion.data.shipped` — :class:`~companion.data.shipped.CrystalDataset`.

Submodules are imported on first use; importing this package is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from companion.errors import DataError

if TYPE_CHECKING:
    from companion.data.external import LabeledDataset
    from companion.data.shipped import CrystalDataset

__all__ = ["DataError", "available", "load", "test_split"]

_SHIPPED = ("mp_eform", "mp_dielectric", "mp_elastic")
# name -> (function in companion.data.external, fixed positional arguments)
_EXTERNAL: dict[str, tuple[str, tuple[Any, ...]]] = {
    "ethanol": ("load_ethanol", ()),
    "3bpa": ("load_3bpa", ()),
    "acac": ("load_acac", ()),
    "ean": ("load_ean", ()),
    "mlearn": ("load_mlearn", ()),
    "mp_phonons": ("load_mp_phonons", ()),
    "matcalc_elasticity": ("load_matcalc", ("elasticity",)),
    "matcalc_heat_capacity": ("load_matcalc", ("heat_capacity",)),
    "perov_5": ("load_perov_5", ()),
}
_SUBMODULES = ("external", "registry", "resolve", "shipped")
# potential data sets whose upstream test file ``python -m companion train`` evaluates on
_TEST_SPLITS = {"ethanol": "test_md", "acac": "test_md_300k", "mlearn": "test"}


def available() -> list[str]:
    """Names accepted by :func:`load`: the shipped sets, then the external ones."""
    return [*_SHIPPED, *_EXTERNAL]


def test_split(name: str) -> str | None:
    """The upstream test split of a data set, for ``load(name, split=test_split(name))``.

    ``"test_md"`` for ``ethanol``, ``"test_md_300k"`` for ``acac``, ``"test"`` for
    ``mlearn``; None for sets without an upstream test file.
    """
    if name not in available():
        raise DataError(f"unknown data set '{name}'; available: {', '.join(available())}")
    return _TEST_SPLITS.get(name)


def load(name: str, **kwargs: Any) -> CrystalDataset | LabeledDataset:
    """Load a data set by name.

    Args:
        name: A shipped set (``mp_eform``, ``mp_dielectric``, ``mp_elastic``) or an external
            one (see :func:`available`).
        **kwargs: Passed to the loader: ``directory=`` for shipped sets; e.g. ``split=`` for
            ``ethanol``, ``element=`` and ``split=`` for ``mlearn``.

    Returns:
        A :class:`~companion.data.shipped.CrystalDataset` (shipped) or a
        :class:`~companion.data.external.LabeledDataset` (external).

    Raises:
        DataError: unknown name (the message lists the available names), or a file that is
            missing or fails its checksum.
    """
    if name in _SHIPPED:
        from companion.data.shipped import load_shipped

        return load_shipped(name, **kwargs)
    if name in _EXTERNAL:
        from companion.data import external

        func, args = _EXTERNAL[name]
        return getattr(external, func)(*args, **kwargs)
    if name == "ani1_subset":
        raise DataError("ani1_subset is registered for provenance only: reading its HDF5 file "
                        "needs h5py, which the course environment does not install")
    raise DataError(f"unknown data set '{name}'; available: {', '.join(available())}")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"companion.data.{name}")
    raise AttributeError(f"module 'companion.data' has no attribute '{name}'")
