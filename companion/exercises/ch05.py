"""Self-checks for notebook 05, "Crystalformer".

Each ``check_*`` prints a green "correct" or a hint and never raises (see
:mod:`companion.exercises`). Expected values are computed at check time from the closed form
of the one-atom cubic cell and from :class:`companion.models.crystalformer.CrystalformerConfig`;
nothing is stored.
"""

from __future__ import annotations

import math

import numpy as np

from companion.exercises import check, correct, hint

SIGMA_CHOICES = {
    "a": "sigma must stay below a known sigma_max so that a finite cutoff c * sigma_max holds "
         "all but a known small share of every query's weight; an unbounded sigma would "
         "spread the weight over ever more images (exp(alpha) grows like "
         "(2 pi sigma^2)^(3/2) / V) and no radius list could hold it.",
    "b": "A large sigma divides by zero in -d^2 / 2 sigma^2.",
    "c": "A small sigma lets the softmax overflow, so sigma is bounded from below, not above.",
    "d": "The bound only speeds up training; the sums converge the same for any sigma.",
}
"""Choices of the sigma exercise (answer with the letter)."""


def one_atom_alpha(a: float, sigma: float, k_max: int = 30) -> float:
    """alpha_11 of one atom in a simple cubic cell of side ``a``: ``3 log sum_k
    exp(-k^2 a^2 / 2 sigma^2)`` (the sum over the images factorizes per axis)."""
    k = np.arange(-k_max, k_max + 1)
    return float(3 * np.log(np.exp(-(k * a) ** 2 / (2 * sigma**2)).sum()))


def _number(answer: object) -> float | None:
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# ----------------------------------------------------- exercise 1: a cell doubles


@check
def check_doubled_cell(answer: float, a: float = 2.0, sigma: float = 1.4) -> bool:
    """Exercise 1: one atom in a cubic cell of side ``a`` becomes a 2 x 2 x 2 supercell
    (8 atoms, the same crystal). Give ``log sum_j exp(alpha_1j)`` over the 8 atoms j of the
    supercell, for width ``sigma``.

    Args:
        answer: your value (a number).
        a: Å, side of the small cell.
        sigma: Å.
    """
    value = _number(answer)
    expected = one_atom_alpha(a, sigma)
    alone = one_atom_alpha(2 * a, sigma)  # the atom with its own images in the big cell
    if value is None:
        return hint("give one number (the log of a sum, dimensionless).")
    if abs(value - expected) < 1e-6:
        return correct(f"{expected:.6f}, alpha_11 of the small cell: the 8 atoms of the "
                       "supercell and their images are exactly the images of the one atom, "
                       "so the softmax sees the same crystal. A supercell changes nothing.")
    if abs(value - alone) < 1e-6:
        return hint("that is alpha_11 in the supercell: the atom with its own images only "
                    "(side 2a). The other 7 atoms are images of it in the small cell too.")
    if abs(value - (expected - math.log(8))) < 1e-6 or abs(value - 8 * alone) < 1e-6:
        return hint("exp(alpha_1j) sums the Gaussians over the images of atom j; summing over "
                    "the 8 atoms j sums over every image of the small cell once.")
    return hint(f"alpha_11 of a cubic cell is 3 log sum_k exp(-k^2 a^2 / 2 sigma^2). Which "
                f"set of points do the 8 atoms of the supercell and their images form? "
                f"(a = {a} Å, sigma = {sigma} Å)")


# ----------------------------------------------------- exercise 2: why sigma is bounded


@check
def check_sigma_bound(answer: str) -> bool:
    """Exercise 2: why must sigma be bounded? Answer with a letter of ``SIGMA_CHOICES``."""
    letter = str(answer).strip().lower().strip("()")
    if letter not in SIGMA_CHOICES:
        return hint(f"answer with one letter: {', '.join(SIGMA_CHOICES)}.")
    if letter == "a":
        return correct("rho > b keeps sigma < r0 / sqrt(b) = 1.98 Å by default, so the "
                       "production path's radius list (3.5 sigma_max = 6.93 Å) is fixed "
                       "before the weights are known, with a known truncation error.")
    if letter == "b":
        return hint("-d^2 / 2 sigma^2 is finite for any sigma > 0; what grows with sigma?")
    if letter == "c":
        return hint("a narrow Gaussian only favours the nearest images; the exponent is at "
                    "most 0. Think of what a wide one needs.")
    return hint("the cost of the sum and the error of a cutoff both depend on sigma: the "
                "tail beyond c * sigma holds the same share for every sigma, but only if the "
                "cutoff is c times the largest sigma.")


# ----------------------------------------------------- exercise 3: images in the cutoff


def images_within(a: float, radius: float) -> int:
    """Lattice points ``n a`` (n integer vectors) of a simple cubic lattice within ``radius``."""
    k = int(radius // a) + 1
    grid = np.arange(-k, k + 1)
    n = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    return int(((n * a) ** 2).sum(-1).__le__(radius**2 + 1e-9).sum())


@check
def check_image_count(answer: int, a: float = 2.0) -> bool:
    """Exercise 3: one atom in a simple cubic cell of side ``a``: how many of its images
    (itself included) does the default production path keep (cutoff 3.5 sigma_max)?

    Args:
        answer: your count.
        a: Å.
    """
    from companion.models.crystalformer import CrystalformerConfig

    radius = CrystalformerConfig().cutoff
    expected = images_within(a, radius)
    value = _number(answer)
    if value is None or value != int(value):
        return hint("a number of images is a whole number.")
    value = int(value)
    box = (2 * int(radius // a) + 1) ** 3
    if value == expected:
        return correct(f"{expected} images within {radius:.2f} Å: the lattice points n with "
                       f"|n| a <= 3.5 sigma_max, about 4/3 pi (r / a)^3 = "
                       f"{4 / 3 * math.pi * (radius / a) ** 3:.0f}.")
    if value == expected - 1:
        return hint("the atom itself (n = 0, distance 0) is an image too: the self pair is "
                    "part of the sum.")
    if value == box:
        return hint("that is the whole box of translations; the cutoff is a sphere.")
    return hint(f"sigma_max = r0 / sqrt(b) = 1.4 / sqrt(0.5) Å, so the cutoff is "
                f"{radius:.3f} Å. Count the integer vectors n with |n| a <= that radius.")
