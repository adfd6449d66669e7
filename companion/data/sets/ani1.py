"""ANI-1 subset (registered for provenance only: its HDF5 file needs h5py to read)."""

from __future__ import annotations

from typing import NoReturn

from companion.data.entry import DatasetEntry
from companion.errors import DataError

__all__ = ["ENTRY", "load_ani1_subset"]


def load_ani1_subset() -> NoReturn:
    """Not readable here.

    Raises:
        DataError: always; reading the HDF5 file needs h5py, which the course environment
            does not install.
    """
    raise DataError("ani1_subset is registered for provenance only: reading its HDF5 file "
                    "needs h5py, which the course environment does not install")


ENTRY = DatasetEntry(
    name="ani1_subset",
    load=load_ani1_subset,
    provenance_only=True,
    description=(
        "ANI-1 subset ani_gdb_s01.h5: 10,800 conformations of CH4, NH3, H2O with DFT "
        "(wB97x/6-31G(d)) energies, no forces. HDF5: reading it needs h5py, which the "
        "course environment does not install; the entry is here for provenance."
    ),
    repo="stefanhoedl/JAT_potential",
    commit="cb5bd6ed47b806a01027d8163be4f77e5dadadca",
    files=("ani1/ANI-1_release/ani_gdb_s01.h5",),
    license="Apache-2.0 (repository); ANI-1 data CC BY 4.0",
    citation=(
        "J. S. Smith, O. Isayev, A. E. Roitberg, 'ANI-1, A data set of 20 million "
        "calculated off-equilibrium conformations for organic molecules', "
        "Sci. Data 4, 170193 (2017)"
    ),
    units={"energy": "Hartree", "positions": "Å"},
)
