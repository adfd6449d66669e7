"""Fixtures and helpers of the figure and widget tests."""

from __future__ import annotations

import numpy as np
import pytest

A_CSCL = 4.11  # Å, CsCl lattice constant
D_CS_CL = A_CSCL * np.sqrt(3) / 2  # Å, 3.56: nearest Cs-Cl distance


@pytest.fixture
def cscl():
    """CsCl: 2 atoms in a cubic cell, Cs at the corner, Cl in the center."""
    z = np.array([55, 17])
    pos = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]) * A_CSCL
    return z, pos, np.eye(3) * A_CSCL


def role(fig, name):
    """The trace of a plotly figure whose ``meta`` names its role."""
    return next(t for t in fig.data if t.meta == name)
