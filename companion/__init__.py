"""Companion package of the graduate course on graph neural networks for crystals and molecules.

Data flows one way: ``companion.data`` (loaders) -> ``companion.graphs`` (graphs in the
schema of ``companion.graphs.keys``) -> ``companion.models`` -> ``companion.train`` ->
``companion.viz`` (figures and widgets). Nothing heavy runs at import time.
"""

from companion.errors import CompanionError, DataError, StructureError

__version__ = "0.1.0"

__all__ = ["CompanionError", "DataError", "StructureError", "__version__"]
