"""Self-checks for notebook 04, "attention potentials (GATv2 / JAT)".

Each ``check_*`` prints a green "correct" or a hint and never raises (see
:mod:`companion.exercises`). Expected values are computed here, at check time: forces by
automatic differentiation of the student's model, attention sums with
``torch_geometric``'s ``scatter``, unit conversions from ``ase.units``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from companion.exercises import check, correct, hint

DISTANCE_ONLY_CHOICES = {
    "a": "The model can no longer tell a C atom from an O atom: the species enter only "
         "through the attention.",
    "b": "The weights α_ij of a center depend only on the distances d_ij: two neighbors at "
         "the same distance get the same weight, whatever their element or environment "
         "(the messages still carry the neighbors' features).",
    "c": "The forces are no longer the negative gradient of the energy, so molecular "
         "dynamics stops conserving energy.",
    "d": "The weights of a center no longer sum to 1, so the model sees how many neighbors "
         "each atom has.",
}
"""Choices of exercise 5 (answer with the letter)."""


def _vector(answer: Any, n: int) -> np.ndarray:
    a = np.asarray(answer, dtype=np.float64).reshape(-1)
    if a.shape != (n,):
        raise ValueError(f"expected {n} numbers, got an array of shape {np.shape(answer)}")
    return a


# ---------------------------------------------------- exercise 1: finite differences

def model_forces(model: Any, atoms: Any) -> np.ndarray:
    """Forces (eV/Å, [n_atoms, 3]) of ``model`` on ``atoms`` by automatic differentiation,
    float64 positions (the model in its own dtype, eval mode)."""
    import torch

    from companion.graphs import to_graph

    dtype = next(model.parameters()).dtype
    graph = to_graph(atoms, **model.config.graph_options, dtype=dtype, allow_isolated=True)
    was_training = model.training
    model.eval()
    try:
        out = model.energy_and_forces(graph, create_graph=False)
    finally:
        model.train(was_training)
    return out["forces"].detach().to(torch.float64).numpy()


@check
def check_finite_difference_force(answer: Any, model: Any, atoms: Any, atom: int = 0,
                                  tol: float = 2e-3) -> bool:
    """Exercise 1: the force on ``atom`` (eV/Å, 3 numbers) by central finite differences.

    Args:
        answer: your ``[F_x, F_y, F_z]`` from :math:`-(E(r + h e) - E(r - h e)) / 2h`.
        model: the (float64) model you differentiated.
        atoms: the structure (ASE ``Atoms``).
        atom: the atom you displaced.
        tol: accepted error, eV/Å (relative to the largest component when that is > 1).
    """
    expected = model_forces(model, atoms)[atom]  # [3]
    mine = _vector(answer, 3)
    scale = max(1.0, float(np.abs(expected).max()))
    err = float(np.abs(mine - expected).max())
    if err <= tol * scale:
        return correct(f"F = {np.round(expected, 4).tolist()} eV/Å; your finite differences "
                       f"agree to {err:.1e} eV/Å. The forces of the model are exactly the "
                       "negative gradient of its energy, which is what makes it conservative.")
    if np.abs(mine + expected).max() <= tol * scale:
        return hint("the sign is flipped: the force is MINUS the derivative of the energy, "
                    "F = -(E(+h) - E(-h)) / (2h).")
    if np.abs(mine - expected).max() <= 0.1 * scale:
        return hint(f"close (largest error {err:.2g} eV/Å), but not to finite-difference "
                    "accuracy. Use central differences in float64 (model.double(), a "
                    "PotentialCalculator with float64 graphs) and h around 1e-3 Å; in "
                    "float32 an energy of -4200 eV is only known to ~0.5 meV.")
    return hint("displace atom `atom` by +h and by -h along x (then y, z) on a copy of the "
                "atoms, compute the energy each time, and take -(E+ - E-) / (2h). Compare "
                "with atoms.get_forces()[atom].")


# ------------------------------------------------ exercise 2: attention sums to one

def attention_sums(model: Any, graph: Any, layer: int = 0) -> np.ndarray:
    """[n_atoms, H] sums of the attention weights of ``layer`` over each center's incoming
    edges (0 for an atom without neighbors)."""
    import torch
    from torch_geometric.utils import scatter

    with torch.no_grad():
        alpha = model.attention_weights(graph)[layer]  # [n_edges, H]
    n_atoms = int(graph.z.numel())
    return scatter(alpha.double(), graph.edge_index[1], dim=0, dim_size=n_atoms,
                   reduce="sum").numpy()  # [n_atoms, H]


@check
def check_attention_sums(answer: Any, model: Any, graph: Any, layer: int = 0,
                         tol: float = 1e-5) -> bool:
    """Exercise 2: per atom and head, the sum of the attention weights of its incoming edges.

    Args:
        answer: your [n_atoms, H] array (numpy or torch).
        model: the model whose ``attention_weights(graph)`` you used.
        graph: the graph.
        layer: the layer (0-based).
        tol: accepted error.
    """
    import torch
    from torch_geometric.utils import scatter

    expected = attention_sums(model, graph, layer)
    mine = np.asarray(answer.detach() if hasattr(answer, "detach") else answer,
                      dtype=np.float64)
    if mine.shape != expected.shape:
        return hint(f"expected one sum per atom and head, shape {expected.shape}; yours is "
                    f"{mine.shape}. Sum over edges (dim 0), grouped by the center atom.")
    if np.abs(mine - expected).max() <= tol:
        return correct("every center's weights sum to 1 in every head: attention is a "
                       "weighted *average* of the neighbors' messages (the envelope only "
                       "decides how much of that average an edge near the cutoff gets).")
    with torch.no_grad():
        alpha = model.attention_weights(graph)[layer].double()
    by_source = scatter(alpha, graph.edge_index[0], dim=0, dim_size=expected.shape[0],
                        reduce="sum").numpy()
    if np.abs(mine - by_source).max() <= tol:
        return hint("you grouped by the source j (edge_index[0]); the softmax runs over the "
                    "neighbors j of each center i, so group by edge_index[1].")
    return hint("alpha = model.attention_weights(graph)[layer] is [n_edges, H]; add the rows "
                "of the edges that share a center: scatter(alpha, graph.edge_index[1], dim=0, "
                "reduce='sum').")


# ------------------------------------------------------------ exercise 3: units

def kcal_per_mol_in_ev() -> float:
    """1 kcal/mol in eV (about 0.0433641), from ``ase.units``."""
    from ase import units

    return float(units.kcal / units.mol)


@check
def check_kcal_per_mol(answer: float, mae_mev_per_atom: float, n_atoms: int = 9,
                       rtol: float = 1e-3) -> bool:
    """Exercise 3: an energy MAE in meV/atom as the MAE of the molecule's energy in kcal/mol.

    Args:
        answer: your number (kcal/mol).
        mae_mev_per_atom: the energy MAE you converted, meV/atom.
        n_atoms: atoms per molecule (ethanol: 9).
        rtol: accepted relative error.
    """
    per_mol_ev = float(mae_mev_per_atom) * n_atoms / 1000.0
    expected = per_mol_ev / kcal_per_mol_in_ev()
    answer = float(answer)
    if abs(answer - expected) <= rtol * abs(expected):
        return correct(f"{mae_mev_per_atom:.3g} meV/atom x {n_atoms} atoms = "
                       f"{1000 * per_mol_ev:.3g} meV per molecule = {expected:.3g} kcal/mol "
                       "(1 kcal/mol = 43.36 meV). 'Chemical accuracy' is 1 kcal/mol.")
    if abs(answer - expected / n_atoms) <= rtol * abs(expected / n_atoms):
        return hint("that is per atom; the literature quotes the energy of the whole "
                    f"molecule: multiply by its {n_atoms} atoms.")
    inverse = per_mol_ev * kcal_per_mol_in_ev()  # multiplied instead of divided
    if abs(answer - inverse) <= rtol * abs(inverse):
        return hint("check the direction of the conversion: 1 kcal/mol is 0.0434 eV, so a "
                    "number of eV is 23.06 times as many kcal/mol.")
    if abs(answer - 1000 * expected) <= rtol * abs(1000 * expected):
        return hint("meV -> eV first (divide by 1000).")
    return hint("meV/atom x atoms = meV per molecule; / 1000 = eV; / (units.kcal / units.mol) "
                "= kcal/mol.")


# ------------------------------------------------------ exercise 4: the ablation

@check
def check_ablation_ratio(answer: float, attention: Mapping[str, float],
                         distance_only: Mapping[str, float], rtol: float = 1e-3) -> bool:
    """Exercise 4: the test force MAE of the distance-only ablation divided by the one of
    the attention model (same data, same budget).

    Args:
        answer: your ratio.
        attention: test metrics of the attention model (``"force_mae"``, meV/Å).
        distance_only: test metrics of the ablation.
        rtol: accepted relative error.
    """
    expected = float(distance_only["force_mae"]) / float(attention["force_mae"])
    answer = float(answer)
    if abs(answer - expected) <= rtol * expected:
        verdict = ("attention helps: the same budget gives a "
                   f"{100 * (1 - 1 / expected):.0f} % lower force error"
                   if expected > 1.0 else
                   "at this budget the distance-only model is as good or better: "
                   "attention costs optimization steps before it pays off")
        return correct(f"ratio {expected:.2f}: {verdict}. One run per model is a single "
                       "sample: rerun with other seeds before you trust a difference of a "
                       "few per cent.")
    if abs(answer - 1.0 / expected) <= rtol / expected:
        return hint("that is the inverse: distance-only MAE / attention MAE.")
    return hint("divide the 'force_mae' of the distance-only test metrics by the attention "
                "model's.")


# ------------------------------------------------ exercise 5: what distance_only removes

@check
def check_distance_only(answer: str) -> bool:
    """Exercise 5: what ``GATv2Config(distance_only=True)`` removes (a letter of
    :data:`DISTANCE_ONLY_CHOICES`)."""
    key = str(answer).strip().lower().strip("()")
    if key not in DISTANCE_ONLY_CHOICES:
        return hint(f"answer with one of the letters {', '.join(DISTANCE_ONLY_CHOICES)}.")
    if key == "b":
        return correct("the logits become a^T act(W_e φ(d_ij)): a learned radial filter, "
                       "normalized over the neighbors, as in SchNet-like continuous-filter "
                       "convolutions. GATv2's logits a^T act(W_t h_i + W_s h_j + W_e φ) let "
                       "the ranking of neighbors depend on who is looking (h_i) and who is "
                       "looked at (h_j).")
    return hint({
        "a": "the species enter through the embedding h_i^(0) and through the messages "
             "W_s h_j, which distance_only keeps.",
        "c": "the energy is still a sum of atomic energies differentiated by autograd: "
             "the forces stay exact gradients, whatever the weights depend on.",
        "d": "the weights still come from a softmax over each center's neighbors.",
    }[key])
