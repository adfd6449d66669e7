"""The course's visual style: element symbols and colors (one place for every figure)."""

from __future__ import annotations


def element_symbol(z: int) -> str:
    """Chemical symbol of atomic number ``z``."""
    from ase.data import chemical_symbols

    return chemical_symbols[int(z)]


def element_color(z: int) -> str:
    """Jmol color of element ``z`` as ``"rgb(r, g, b)"`` (the colors NGL uses too)."""
    from ase.data.colors import jmol_colors

    r, g, b = (int(round(255 * c)) for c in jmol_colors[int(z)])
    return f"rgb({r}, {g}, {b})"
