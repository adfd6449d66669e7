"""Layers shared by several models (atom tables, radial bases, envelopes, output scale and
shift)."""

from companion.nn.atom_table import CGCNNAtomTable
from companion.nn.envelope import (
    BesselBasis,
    CosineCutoff,
    PolynomialEnvelope,
    cosine_cutoff,
    make_envelope,
    polynomial_envelope,
)
from companion.nn.radial import GaussianExpansion, gaussian_expansion
from companion.nn.scale_shift import ScaleShift

__all__ = [
    "BesselBasis",
    "CGCNNAtomTable",
    "CosineCutoff",
    "GaussianExpansion",
    "PolynomialEnvelope",
    "ScaleShift",
    "cosine_cutoff",
    "gaussian_expansion",
    "make_envelope",
    "polynomial_envelope",
]
