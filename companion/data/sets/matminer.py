"""The three Materials Project sets shipped in ``data/`` (converted from matminer 0.3.9).

The files, their format and their loader are in :mod:`companion.data.shipped`; each file
also carries its own citation, license and source (``dataset.citation``).
"""

from __future__ import annotations

from pathlib import Path

from companion.data.entry import DatasetEntry
from companion.data.shipped import CrystalDataset, load_shipped

__all__ = ["MP_DIELECTRIC", "MP_EFORM", "MP_ELASTIC", "load_mp_dielectric", "load_mp_eform",
           "load_mp_elastic"]

_SDIST = ("PyPI sdist matminer-0.3.9.tar.gz (sha256 3faf9e83464f3d48f68a759bf476ad24da4c8c3e9"
          "50c8f340cb917d3bb906400), member matminer/datasets/{}, converted by "
          "scripts/build_shipped_data.py")
_LICENSE = ("matminer: BSD (modified BSD license of the matminer package); Materials Project "
            "data: CC BY 4.0")
_MP_CITE = (
    "A. Jain, S. P. Ong, G. Hautier, W. Chen, W. D. Richards, S. Dacek, S. Cholia, D. Gunter, "
    "D. Skinner, G. Ceder, K. A. Persson, 'Commentary: The Materials Project: A materials "
    "genome approach to accelerating materials innovation', APL Mater. 1, 011002 (2013), "
    "doi:10.1063/1.4812323"
)


def load_mp_eform(*, directory: str | Path | None = None) -> CrystalDataset:
    """``mp_eform``: 3938 crystals, formation energy and energy above hull (eV/atom).

    Args:
        directory: Folder of ``mp_eform.npz`` (default: the repository's ``data/``).
    """
    return load_shipped("mp_eform", directory=directory)


def load_mp_dielectric(*, directory: str | Path | None = None) -> CrystalDataset:
    """``mp_dielectric``: 1056 crystals, band gap (eV), refractive index, dielectric constants.

    Args:
        directory: Folder of ``mp_dielectric.npz`` (default: the repository's ``data/``).
    """
    return load_shipped("mp_dielectric", directory=directory)


def load_mp_elastic(*, directory: str | Path | None = None) -> CrystalDataset:
    """``mp_elastic``: 1181 crystals, VRH bulk and shear moduli (GPa) and their log10.

    Args:
        directory: Folder of ``mp_elastic.npz`` (default: the repository's ``data/``).
    """
    return load_shipped("mp_elastic", directory=directory)


MP_EFORM = DatasetEntry(
    name="mp_eform",
    load=load_mp_eform,
    description=("Materials Project formation energies of 3938 crystals (the FLLA 2015 set): "
                 "DFT (GGA/GGA+U) formation energy per atom and energy above the convex hull."),
    files=("mp_eform.npz",),
    license=_LICENSE,
    citation=("F. Faber, A. Lindmaa, O. A. von Lilienfeld, R. Armiento, 'Crystal structure "
              "representations for machine learning models of formation energies', Int. J. "
              "Quantum Chem. 115, 1094 (2015), doi:10.1002/qua.24917; " + _MP_CITE),
    units={"formation_energy_per_atom": "eV/atom", "e_above_hull": "eV/atom"},
    source=_SDIST.format("flla_2015.csv"),
)

MP_DIELECTRIC = DatasetEntry(
    name="mp_dielectric",
    load=load_mp_dielectric,
    description=("Materials Project DFPT dielectric set of 1056 crystals: PBE band gap, "
                 "refractive index n and polycrystalline electronic / total dielectric "
                 "constants."),
    files=("mp_dielectric.npz",),
    license=_LICENSE,
    citation=("I. Petousis, D. Mrdjenovich, E. Ballouz, M. Liu, D. Winston, W. Chen, T. Graf, "
              "T. D. Schladt, K. A. Persson, F. B. Prinz, 'High-throughput screening of "
              "inorganic compounds for the discovery of novel dielectric and optical "
              "materials', Sci. Data 4, 160134 (2017), doi:10.1038/sdata.2016.134; " + _MP_CITE),
    units={"band_gap": "eV", "n": "dimensionless", "poly_electronic": "dimensionless",
           "poly_total": "dimensionless"},
    source=_SDIST.format("dielectric_constant.csv"),
)

MP_ELASTIC = DatasetEntry(
    name="mp_elastic",
    load=load_mp_elastic,
    description=("Materials Project elastic set of 1181 crystals: Voigt-Reuss-Hill bulk and "
                 "shear moduli (GPa) and their base-10 logarithms, the usual learning "
                 "targets."),
    files=("mp_elastic.npz",),
    license=_LICENSE,
    citation=("M. de Jong, W. Chen, T. Angsten, A. Jain, R. Notestine, A. Gamst, M. Sluiter, "
              "C. K. Ande, S. van der Zwaag, J. J. Plata, C. Toher, S. Curtarolo, G. Ceder, "
              "K. A. Persson, M. Asta, 'Charting the complete elastic properties of inorganic "
              "crystalline compounds', Sci. Data 2, 150009 (2015), doi:10.1038/sdata.2015.9; "
              + _MP_CITE),
    units={"K_VRH": "GPa", "G_VRH": "GPa", "log10_K_VRH": "log10(GPa)",
           "log10_G_VRH": "log10(GPa)"},
    source=_SDIST.format("elastic_tensor.csv"),
)
