"""An ASE calculator around a machine-learned potential of the course.

:class:`PotentialCalculator` lets a model with ``model.config.cutoff``,
``model.config.species`` and ``model.energy_and_forces(graph, stress=...)`` (such as
:class:`companion.models.gatv2.GATv2Potential`) drive ASE: molecular dynamics
(``ase.md.verlet.VelocityVerlet``), geometry optimization (``ase.optimize.BFGS``), equations
of state. Each call builds the radius graph of the current structure with
:func:`companion.graphs.to_graph` (float64 positions by default, the model's cutoff), and
returns, in ASE units:

- ``energy`` and ``free_energy`` (eV; the same number: the model has no electronic entropy),
- ``forces`` [n_atoms, 3] (eV/Å),
- ``stress`` [6] (eV/Å³, Voigt order ``xx yy zz yz xz xy``, positive = tensile), only for
  structures periodic along all three axes; for a molecule ``atoms.get_stress()`` raises
  ``PropertyNotImplementedError``.

Example::

    atoms.calc = PotentialCalculator(model)
    BFGS(atoms).run(fmax=0.05)

Speed: on Linux, call :func:`tune_glibc_malloc` once before long MD runs on a CPU
(``benchmarks/potential_speed.py`` measures the difference).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress
from torch import nn

from companion.errors import StructureError
from companion.graphs import to_graph
from companion.models.gatv2 import unknown_species_message


class PotentialCalculator(Calculator):
    """ASE calculator for an energy-and-forces model of :mod:`companion.models`.

    The model is evaluated in ``eval()`` mode (its previous mode is restored after each
    call), on the device of its parameters. Atoms without neighbors within the cutoff are
    allowed: a molecule may dissociate during MD.

    Args:
        model: the potential, e.g. a :class:`~companion.models.gatv2.GATv2Potential`.
        dtype: floating dtype of the graph's positions and cell (and so of the forces);
            a float32 model still receives float64 distances, cast inside it.
        **kwargs: passed to ``ase.calculators.calculator.Calculator``.

    Raises (on calculation):
        StructureError: an element outside ``model.config.species``.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model: nn.Module, dtype: torch.dtype = torch.float64,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.dtype = dtype
        self.cutoff = float(model.config.cutoff)
        self.species = tuple(int(z) for z in model.config.species)

    def check_species(self, atoms: Atoms) -> None:
        """Raise a :class:`StructureError` naming elements the model was not built for."""
        numbers = atoms.get_atomic_numbers()
        if not np.isin(numbers, self.species).all():
            raise StructureError(unknown_species_message(numbers.tolist(), self.species))

    def calculate(self, atoms: Atoms | None = None, properties: Any = ("energy",),
                  system_changes: Any = all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        self.check_species(atoms)
        periodic = bool(np.all(atoms.pbc))
        device = next(self.model.parameters()).device
        graph = to_graph(atoms, policy="radius", cutoff=self.cutoff, dtype=self.dtype,
                         allow_isolated=True).to(device)
        was_training = self.model.training
        self.model.eval()
        try:
            out = self.model.energy_and_forces(graph, stress=periodic, create_graph=False)
        finally:
            self.model.train(was_training)
        energy = float(out["energy"].detach().sum())
        forces = out["forces"].detach().cpu().numpy().astype(np.float64)  # [n_atoms, 3]
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}
        if periodic:
            stress = out["stress"][0].detach().cpu().numpy().astype(np.float64)  # [3, 3]
            self.results["stress"] = full_3x3_to_voigt_6_stress(stress)  # [6]


def tune_glibc_malloc(keep_bytes: int = 1 << 30, mmap_bytes: int = 32 << 20) -> bool:
    """Stop glibc from handing freed memory back to the kernel after every evaluation.

    One energy-and-forces evaluation of a few hundred atoms creates and frees tens of edge
    tensors of 1-2 MB. With its default settings glibc returns that memory to the kernel
    after each evaluation and maps it again in the next, so every page costs a page fault
    (on the course's 2-core VM: ~4000 faults, 5-9 ms of system time per float64 EAN
    evaluation of :class:`~companion.models.gatv2.GATv2Potential`). This keeps up to
    ``keep_bytes`` of free memory at the top of the heap and serves blocks up to
    ``mmap_bytes`` from the heap. Process-wide and irreversible, hence opt-in; the same as
    ``MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=33554432`` in the
    environment before Python starts (PyTorch's CPU tuning guide suggests jemalloc or
    tcmalloc for the same reason).

    Returns:
        True if glibc accepted the settings; False where ``mallopt`` is not available
        (macOS, Windows, musl).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # constants of <malloc.h>
    return bool(libc.mallopt(m_trim_threshold, keep_bytes)
                and libc.mallopt(m_mmap_threshold, mmap_bytes))
