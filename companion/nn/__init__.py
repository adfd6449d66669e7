"""Layers shared by several models (radial bases, envelopes)."""

from companion.nn.radial import GaussianExpansion, gaussian_expansion

__all__ = ["GaussianExpansion", "gaussian_expansion"]
