r"""The output scale and shift of a model, held by the model as buffers.

A network learns best when its raw output is of order one; the quantity it predicts rarely
is (formation energies of -4 to 1 eV/atom, total energies of -4209.6 eV for ethanol). The
model therefore holds a :class:`ScaleShift`, set once from the training split by the task
that trains it (:mod:`companion.train.tasks`), and maps its raw output :math:`\tilde y` to
the target's units:

.. math::
    y = s\, \tilde y + b

- one number per graph (CGCNN, ALIGNN): a scalar pair, :math:`s = \sigma`, :math:`b = \mu`
  (standard deviation and mean of the training targets); buffers in float64, so the map to
  target units is exact in double precision;
- atomic energies (GATv2 / JAT): per-species :math:`s_Z` and :math:`b_Z` applied to each
  atom's energy before the sum (:math:`b_Z` = isolated-atom or least-squares energy plus the
  mean residual per atom, :math:`s_Z` = RMS force component), as MACE's ``ScaleShiftBlock``
  and nequip's per-species scale and shift do; buffers in the model's dtype.

Because these are buffers, a checkpoint of the weights alone says what the model predicts
and in which unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

__all__ = ["ScaleShift"]

MAX_Z = 118
"""Largest atomic number of the species lookup table."""


class ScaleShift(nn.Module):
    r"""``y = scale * x + shift`` with ``scale`` and ``shift`` as buffers.

    Args:
        species: atomic numbers for per-species buffers ([n_species] each); None for one
            scalar pair (graph-level targets).
        dtype: dtype of the buffers (default: torch's default dtype).

    Attributes:
        species: the atomic numbers of the rows, or None.
        scale, shift: buffers, [] or [n_species].
        numbers: buffer (per species only), int64 [n_species], the species again, so that
            the state dict alone says which row is which element.

    Shapes:
        ``forward(x)`` (scalar pair): any shape -> the same shape;
        ``forward(x, index)`` (per species): [n_atoms] outputs and [n_atoms] rows of
        :meth:`index` -> [n_atoms].
    """

    def __init__(self, species: Sequence[int] | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.species = None if species is None else tuple(int(z) for z in species)
        shape = () if self.species is None else (len(self.species),)
        self.register_buffer("scale", torch.ones(shape, dtype=dtype))  # [] or [n_species]
        self.register_buffer("shift", torch.zeros(shape, dtype=dtype))  # [] or [n_species]
        lookup = torch.full((MAX_Z + 1,), -1, dtype=torch.long)  # [119]
        if self.species is not None:
            lookup[list(self.species)] = torch.arange(len(self.species))
            # saved with the weights, so a checkpoint names the rows of scale and shift
            self.register_buffer("numbers", torch.tensor(self.species, dtype=torch.long))
        self.register_buffer("lookup", lookup, persistent=False)  # Z -> row

    @property
    def per_species(self) -> bool:
        """True for per-species buffers (atomic energies)."""
        return self.species is not None

    def index(self, z: torch.Tensor) -> torch.Tensor:
        """[n_atoms] atomic numbers -> [n_atoms] rows of the buffers.

        Raises:
            ValueError: an element without a row (named), or a scalar pair.
        """
        if self.species is None:
            raise ValueError("this ScaleShift is one scalar pair; it has no species rows.")
        rows = self.lookup[z.clamp(0, MAX_Z)]  # [n_atoms]
        if bool((rows < 0).any()):
            bad = sorted({int(v) for v in z[rows < 0].tolist()})
            raise ValueError(f"ScaleShift: no scale and shift for Z={bad}; its species are "
                             f"{self.species}.")
        return rows

    def forward(self, x: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        if index is None:
            if self.species is not None:
                raise ValueError("per-species ScaleShift: pass the species rows (index).")
            return x * self.scale + self.shift
        return self.scale[index] * x + self.shift[index]  # [n_atoms]

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Target units -> raw output units, ``(y - shift) / scale`` (scalar pair only)."""
        if self.species is not None:
            raise ValueError("inverse() needs a scalar ScaleShift (graph-level targets).")
        return (y - self.shift) / self.scale

    @torch.no_grad()
    def set(self, scale: float | Mapping[int, float] | None = None,
            shift: float | Mapping[int, float] | None = None) -> None:
        """Set the buffers (None leaves one as it is).

        Args:
            scale: one number, or (per species) Z -> number; species not named keep 1.
            shift: one number, or (per species) Z -> number; species not named keep 0.

        Raises:
            ValueError: a mapping for a scalar pair, or species the buffers do not have.
        """
        for name, values, default in (("scale", scale, 1.0), ("shift", shift, 0.0)):
            if values is None:
                continue
            buffer = getattr(self, name)
            if self.species is None:
                if isinstance(values, Mapping):
                    raise ValueError(f"{name}: a scalar ScaleShift takes one number.")
                buffer.fill_(float(values))
                continue
            if not isinstance(values, Mapping):
                values = dict.fromkeys(self.species, float(values))
            unknown = set(values) - set(self.species)
            if unknown:
                raise ValueError(f"{name}: species {sorted(unknown)} not in the model's "
                                 f"{self.species}.")
            new = [float(values.get(z, default)) for z in self.species]
            buffer.copy_(torch.tensor(new, dtype=buffer.dtype))

    def as_dict(self) -> dict[str, float | dict[int, float]]:
        """The buffers as plain numbers: ``{"scale", "shift"}`` (per species: Z -> value)."""
        if self.species is None:
            return {"scale": float(self.scale), "shift": float(self.shift)}
        return {name: dict(zip(self.species, getattr(self, name).tolist(), strict=True))
                for name in ("scale", "shift")}

    def extra_repr(self) -> str:
        return "scalar" if self.species is None else f"species={self.species}"
