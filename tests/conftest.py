"""Shared fixtures (small real-looking structures built in code) and helpers.

Helpers are imported as ``from tests.conftest import ...`` (``tests`` is a package).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from companion.exercises import CORRECT

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests that read external data find it where CI puts it.
if "COMPANION_DATA_DIRS" not in os.environ and SHARED_DATA.is_dir():
    os.environ["COMPANION_DATA_DIRS"] = str(SHARED_DATA)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a test module (use with ``pytestmark``): graphs of a few atoms
    gain nothing from a second OpenMP thread, which only stalls on a busy CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def nacl():
    """Rock salt NaCl, conventional 8-atom cell, a = 5.64 Å."""
    from pymatgen.core import Lattice, Structure

    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"],
                                     [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.fixture
def skewed():
    """A small, strongly skewed triclinic 3-atom cell (heights ~1.4 Å)."""
    from pymatgen.core import Lattice, Structure

    cell = np.array([[2.1, 0.0, 0.0], [1.7, 1.5, 0.0], [-1.2, 0.9, 1.8]])
    return Structure(Lattice(cell), ["Si", "O", "O"],
                     [[0.0, 0.0, 0.0], [0.31, 0.27, 0.55], [0.72, 0.58, 0.21]])


@pytest.fixture
def ethanol():
    """An ethanol molecule (ASE Atoms), every atom displaced by ~0.05 Å from the G2
    geometry so that no symmetry hides a wrong force. (tests/train/test_potential.py
    overrides this name with the ethanol data set.)"""
    from ase.build import molecule

    atoms = molecule("CH3CH2OH")
    atoms.positions += np.random.default_rng(1).normal(scale=0.05, size=(len(atoms), 3))
    return atoms


@pytest.fixture
def crystal():
    """A skewed triclinic H/C/N/O cell (ASE Atoms) whose heights (~2.8 Å) are below the
    3 Å cutoff of the potential tests, so atoms see their own periodic images."""
    from ase import Atoms

    cell = np.array([[3.2, 0.0, 0.0], [0.9, 3.0, 0.0], [-0.6, 0.7, 3.1]])
    frac = np.array([[0.0, 0.0, 0.0], [0.45, 0.1, 0.2], [0.2, 0.55, 0.6], [0.7, 0.6, 0.1]])
    return Atoms("CNOH", scaled_positions=frac, cell=cell, pbc=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random proper rotation matrix [3, 3]."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


# ----------------------------------------------------------------- exercise self-checks
def verdict(capsys, check, *args, **kwargs) -> str:
    """Run a self-check and return what it printed (a check returns nothing), with its line
    breaks (messages are wrapped between words) read as spaces."""
    assert check(*args, **kwargs) is None  # a check prints, it returns nothing
    return capsys.readouterr().out.replace("\n", " ")


def assert_correct(out: str) -> None:
    assert CORRECT in out and "not yet" not in out, out


def assert_hint(out: str, *words: str) -> None:
    """Not correct, with a hint that contains every one of ``words``."""
    assert CORRECT not in out and "not yet" in out and "Hint" in out, out
    for word in words:
        assert word in out, out
