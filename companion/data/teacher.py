"""CHGNet-teacher phonons (CHGNet phonons, not DFT): the per-material pipeline and the
teacher's error against the 69 DFPT band structures.

Pipeline of :func:`teacher_phonons` for one crystal (``chgnet`` and ``phonopy`` needed,
``pip install 'companion[teacher]'``):

1. Relax positions and cell with CHGNet: ASE ``FIRE`` on ``FrechetCellFilter(atoms)`` with a
   ``FixSymmetry`` constraint until ``max |F| < fmax`` (0.01 eV/Å) or ``max_steps`` (300).
2. Diagonal supercell ``diag(n_1, n_2, n_3)`` with ``n_i = ceil(d_min |b_i|)`` where
   ``b = (A^{-1})^T`` are the reciprocal vectors without 2π (rows), so every interplanar
   spacing of the supercell ``n_i / |b_i| >= d_min`` (10 Å).
3. phonopy finite displacements (0.01 Å), CHGNet forces on each displaced supercell, force
   constants ``Φ_{ij}^{αβ} = -∂F_i^α/∂u_j^β``, symmetrised (translational invariance and
   index permutation).
4. Frequencies ``ω(q)`` (THz) at the given reduced q-points of the relaxed cell: eigenvalues
   of the dynamical matrix ``D(q) = Σ_R Φ(0, R) e^{2πi q·R} / sqrt(m_i m_j)``, ``ν = sqrt(λ)/2π``
   (negative = imaginary), columns sorted ascending per q-point.

:func:`teacher_error` compares the teacher's bands on the 69 DFPT cells
(``data/chgnet_phonons_dfpt69.npz``) with ``load("mp_phonons")``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from companion.errors import DataError

__all__ = ["IMAGINARY_THZ", "SETTINGS", "supercell_diagonal", "teacher_error",
           "teacher_phonons"]

IMAGINARY_THZ = -0.3  # a material is flagged imaginary when min frequency < this (THz)
SETTINGS: dict[str, Any] = {
    "relax_optimizer": "ase.optimize.FIRE",
    "relax_filter": "ase.filters.FrechetCellFilter",
    "relax_constraint": "ase.constraints.FixSymmetry",
    "fmax_eV_per_A": 0.01,
    "max_steps": 300,
    "displacement_A": 0.01,
    "min_supercell_spacing_A": 10.0,
    "max_supercell_atoms": 600,
    "force_constants": "phonopy produce_force_constants + symmetrize_force_constants",
    "imaginary_threshold_THz": IMAGINARY_THZ,
    "device": "cpu",
}

_INSTALL = "pip install 'chgnet==0.4.2' 'phonopy==4.10.0'  (or: pip install -e '.[teacher]')"


def supercell_diagonal(cell: np.ndarray, min_spacing: float = 10.0) -> np.ndarray:
    """Smallest diagonal supercell whose interplanar spacings are all ``>= min_spacing``.

    Args:
        cell: Lattice vectors as rows, [3, 3] Å.
        min_spacing: Minimum interplanar spacing ``d_i = n_i / |b_i|`` (Å).

    Returns:
        ``n`` int64 [3], ``n_i = ceil(min_spacing |b_i|)`` with ``b = (A^{-1})^T`` (no 2π).
    """
    b = np.linalg.inv(np.asarray(cell, dtype=np.float64)).T  # [3, 3] rows = b_i, 1/Å
    return np.array([max(1, math.ceil(min_spacing * np.linalg.norm(v) - 1e-9)) for v in b],
                    dtype=np.int64)


def load_model() -> Any:
    """The pretrained CHGNet (``CHGNet.load()``, CPU), or a :class:`DataError` naming the pip
    command when chgnet is not installed."""
    try:
        from chgnet.model import CHGNet
    except ImportError as exc:
        raise DataError(f"the CHGNet teacher needs chgnet and phonopy: {_INSTALL}") from exc
    return CHGNet.load(verbose=False)


def teacher_phonons(
    numbers: np.ndarray,
    positions: np.ndarray,
    cell: np.ndarray,
    *,
    model: Any = None,
    qpoints: np.ndarray | None = None,
    qpoint_distance: float = 0.05,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Relax one crystal with CHGNet and compute its phonon bands with phonopy.

    Args:
        numbers: Atomic numbers [n].
        positions: Cartesian positions [n, 3] Å.
        cell: Lattice vectors as rows [3, 3] Å.
        model: A loaded CHGNet (default: :func:`load_model`).
        qpoints: Reduced q-points [n_q, 3] of the (relaxed) cell; None = the seekpath path of
            the relaxed structure (:func:`companion.data.phonons.qpoint_path`).
        qpoint_distance: ``reference_distance`` (1/Å, with 2π) of that path.
        settings: Overrides of :data:`SETTINGS`.

    Returns:
        ``numbers`` [n], ``positions`` [n, 3] Å and ``cell`` [3, 3] Å (relaxed),
        ``energy`` (CHGNet, eV per cell, relaxed), ``relax_steps``, ``relax_converged``,
        ``supercell`` int [3], ``n_displacements``, ``qpoints`` [n_q, 3],
        ``qpoint_labels`` (list[str]), ``frequencies`` [n_q, 3n] THz sorted per row,
        ``min_frequency`` (THz), ``imaginary`` (bool), ``seconds`` (wall time).

    Raises:
        DataError: chgnet/phonopy missing, or the supercell exceeds ``max_supercell_atoms``.
    """
    t0 = time.perf_counter()
    cfg = {**SETTINGS, **(settings or {})}
    try:
        from ase import Atoms
        from ase.constraints import FixSymmetry
        from ase.filters import FrechetCellFilter
        from ase.optimize import FIRE
        from chgnet.model.dynamics import CHGNetCalculator
        from phonopy import Phonopy
        from phonopy.structure.atoms import PhonopyAtoms
    except ImportError as exc:
        raise DataError(f"the CHGNet teacher needs chgnet and phonopy: {_INSTALL}") from exc
    if model is None:
        model = load_model()
    calc = CHGNetCalculator(model=model, use_device=cfg["device"], on_isolated_atoms="ignore")

    try:  # fail before the relaxation when phonopy has no mass for an element (e.g. Pu)
        PhonopyAtoms(numbers=np.asarray(numbers).tolist(), cell=np.asarray(cell, float),
                     scaled_positions=np.asarray(positions, float) @ np.linalg.inv(cell))
    except RuntimeError as exc:
        raise DataError(f"phonopy: {exc}") from exc

    # 1. relaxation (symmetry kept, so reduced q-points of the input cell stay meaningful)
    atoms = Atoms(numbers=np.asarray(numbers), positions=np.asarray(positions, float),
                  cell=np.asarray(cell, float), pbc=True)
    atoms.calc = calc
    atoms.set_constraint(FixSymmetry(atoms))
    opt = FIRE(FrechetCellFilter(atoms), logfile=None)
    converged = bool(opt.run(fmax=cfg["fmax_eV_per_A"], steps=cfg["max_steps"]))
    steps = int(opt.nsteps)
    energy = float(atoms.get_potential_energy())
    atoms.set_constraint()
    rcell = np.array(atoms.cell[:], dtype=np.float64)  # [3, 3]
    rpos = np.array(atoms.positions, dtype=np.float64)  # [n, 3]
    z = np.array(atoms.numbers, dtype=np.int64)  # [n]

    # 2.-3. finite displacements on a diagonal supercell
    n_sc = supercell_diagonal(rcell, cfg["min_supercell_spacing_A"])
    if int(np.prod(n_sc)) * len(z) > cfg["max_supercell_atoms"]:
        raise DataError(f"supercell {n_sc.tolist()} has {int(np.prod(n_sc)) * len(z)} atoms "
                        f"> max_supercell_atoms={cfg['max_supercell_atoms']}")
    unit = PhonopyAtoms(numbers=z.tolist(), cell=rcell,
                        scaled_positions=rpos @ np.linalg.inv(rcell))
    # primitive_matrix="P": the given cell is the primitive one. phonopy 4's default
    # ("auto") would reduce a conventional cell to its primitive cell, giving fewer than 3n
    # branches at q-points meant for this cell.
    ph = Phonopy(unit, supercell_matrix=np.diag(n_sc), primitive_matrix="P")
    ph.generate_displacements(distance=cfg["displacement_A"])
    from pymatgen.core import Lattice, Structure

    forces = []
    for sc in ph.supercells_with_displacements:
        # energy + forces only (no stress/magmom): about 2x faster than the ASE calculator
        st = Structure(Lattice(sc.cell), sc.numbers.tolist(), sc.scaled_positions)
        pred = model.predict_structure(st, task="ef")
        forces.append(np.asarray(pred["f"], dtype=np.float64))  # [N_sc, 3] eV/Å
    ph.forces = np.stack(forces)  # [n_disp, N_sc, 3]
    ph.produce_force_constants()
    ph.symmetrize_force_constants()

    # 4. bands at the q-points of the relaxed cell
    if qpoints is None:
        from companion.data.phonons import qpoint_path

        path = qpoint_path((z, rpos, rcell), reference_distance=qpoint_distance)
        q, labels = path["qpoints"], list(path["labels"])
    else:
        q = np.asarray(qpoints, dtype=np.float64).reshape(-1, 3)
        labels = [""] * len(q)
    ph.run_qpoints(q)
    freq = np.sort(np.asarray(ph.get_qpoints_dict()["frequencies"], float), axis=1)  # [n_q, 3n]
    if freq.shape != (len(q), 3 * len(z)):
        raise DataError(f"phonopy returned {freq.shape[1]} branches for {len(z)} atoms "
                        f"(expected {3 * len(z)}) at {len(q)} q-points")
    wmin = float(freq.min())
    return {"numbers": z, "positions": rpos, "cell": rcell, "energy": energy,
            "relax_steps": steps, "relax_converged": converged, "supercell": n_sc,
            "n_displacements": len(forces), "qpoints": q, "qpoint_labels": labels,
            "frequencies": freq, "min_frequency": wmin, "imaginary": wmin < IMAGINARY_THZ,
            "seconds": time.perf_counter() - t0}


def teacher_error() -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The CHGNet teacher's error against DFPT on the 69 ``mp_phonons`` cells.

    Per material, with ``ω`` sorted ascending per q-point (both [n_q, 3n], THz):
    ``MAE = mean_{q,ν} |ω_teacher - ω_DFPT|`` and ``ratio = max ω_teacher / max ω_DFPT``.

    Returns:
        ``(table, summary)``: one dict per material (``id``, ``formula``, ``n_atoms``,
        ``mae_thz``, ``max_ratio``, ``teacher_min_thz``, ``dfpt_min_thz``, ``imaginary``) and
        ``n``, ``mean_mae_thz``, ``median_mae_thz``, ``median_max_ratio``,
        ``mean_max_ratio``, ``n_imaginary``.

    Raises:
        DataError: a material's q-points or branch count differ between the two sets.
    """
    from companion.data import load
    from companion.data.sets.chgnet_phonons import load_chgnet_phonons_dfpt69

    teacher = {r.id: r for r in load_chgnet_phonons_dfpt69()}
    table = []
    for ref in load("mp_phonons"):
        if ref.id not in teacher:
            continue
        t = teacher[ref.id]
        w_t = np.sort(np.asarray(t.labels["frequencies"]), axis=1)  # [n_q, 3n]
        w_d = np.sort(np.asarray(ref.labels["frequencies"]), axis=1)  # [n_q, 3n]
        if w_t.shape != w_d.shape or not np.allclose(t.labels["qpoints"],
                                                     ref.labels["qpoints"]):
            raise DataError(f"{ref.id}: teacher bands {w_t.shape} do not match DFPT "
                            f"{w_d.shape}; rebuild with build_phonon_teacher.py --dfpt")
        table.append({"id": ref.id, "formula": ref.info["formula"], "n_atoms": ref.n_atoms,
                      "mae_thz": float(np.abs(w_t - w_d).mean()),
                      "max_ratio": float(w_t.max() / w_d.max()),
                      "teacher_min_thz": float(w_t.min()), "dfpt_min_thz": float(w_d.min()),
                      "imaginary": bool(t.info["imaginary"])})
    if not table:
        raise DataError("no material in common between chgnet_phonons_dfpt69 and mp_phonons")
    mae = np.array([r["mae_thz"] for r in table])
    ratio = np.array([r["max_ratio"] for r in table])
    summary = {"n": float(len(table)), "mean_mae_thz": float(mae.mean()),
               "median_mae_thz": float(np.median(mae)),
               "median_max_ratio": float(np.median(ratio)),
               "mean_max_ratio": float(ratio.mean()),
               "n_imaginary": float(sum(r["imaginary"] for r in table))}
    return table, summary


def format_report(table: list[dict[str, Any]], summary: dict[str, float]) -> str:
    """A plain-text table of :func:`teacher_error`."""
    lines = [f"{'id':28s} {'n':>3s} {'MAE THz':>8s} {'max ratio':>9s} {'min T':>7s} "
             f"{'min DFPT':>8s}"]
    for r in table:
        lines.append(f"{r['id']:28s} {r['n_atoms']:3d} {r['mae_thz']:8.3f} "
                     f"{r['max_ratio']:9.3f} {r['teacher_min_thz']:7.2f} "
                     f"{r['dfpt_min_thz']:8.2f}{'  imaginary' if r['imaginary'] else ''}")
    lines.append(f"CHGNet phonons, not DFT, vs DFPT on {int(summary['n'])} cells: MAE mean "
                 f"{summary['mean_mae_thz']:.3f} THz, median {summary['median_mae_thz']:.3f} "
                 f"THz; max-frequency ratio teacher/DFPT median "
                 f"{summary['median_max_ratio']:.3f} (mean {summary['mean_max_ratio']:.3f}); "
                 f"{int(summary['n_imaginary'])} flagged imaginary")
    return "\n".join(lines)
