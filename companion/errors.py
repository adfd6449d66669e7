"""Errors raised by the package: each names the problem and how to fix it."""


class CompanionError(Exception):
    """Base class of every error raised on purpose by ``companion``."""


class StructureError(CompanionError, ValueError):
    """A structure that cannot become a graph (bad coordinates, disorder, ...)."""


class DataError(CompanionError, OSError):
    """A data set that cannot be found, read or verified."""
