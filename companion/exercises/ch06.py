"""Self-checks for notebook 06, "phonons: virtual nodes and k-MVN".

Each ``check_*`` prints a green "correct" or a hint and never raises (see
:mod:`companion.exercises`). Expected values are computed at check time: node counts with
:func:`companion.graphs.virtual_nodes.kmvn_graph`, blocks with
:func:`companion.nn.phonons.irreps_to_block_basis`, ``H(q)`` with
:func:`companion.nn.phonons.dynamical_matrix`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from companion.exercises import check, correct, hint

ACOUSTIC_CHOICES = {
    "a": "The DFPT data have no acoustic modes, so the model never learned them.",
    "b": "Nothing ties the blocks together: the on-site blocks are not minus the sum of the "
         "others (no acoustic sum rule), so a rigid translation costs energy; and the faithful "
         "frequencies add eps to every eigenvalue.",
    "c": "The 4 Å cutoff is too short for silicon.",
    "d": "float32 rounding: in float64 the acoustic frequencies vanish.",
}
"""Choices of exercise 4 (answer with the letter)."""


def _array(answer: Any, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    a = np.asarray(answer, dtype=dtype)
    if a.shape != shape:
        raise ValueError(f"expected an array of shape {shape}, got {np.shape(answer)}")
    return a


# --------------------------------------------------------- exercise 1: count the nodes

@check
def check_virtual_node_count(answer: Any, structure: Any, cutoff: float = 4.0) -> bool:
    """Exercise 1: the number of virtual nodes of ``structure``'s k-MVN graph.

    Args:
        answer: an integer, ``N^2 n_s``.
        structure: the crystal of the exercise.
        cutoff: neighbor radius, Å.
    """
    from companion.graphs.virtual_nodes import kmvn_graph

    g = kmvn_graph(structure, cutoff=cutoff)
    n, n_s, expected = g.num_nodes, int(g.n_shifts), int(g.n_vnodes)
    if isinstance(answer, bool) or not float(answer).is_integer():
        return hint("give a whole number of nodes")
    mine = int(answer)
    if mine == expected:
        connected = int(g.vnode_connected.sum())
        return correct(f"N^2 n_s = {n}^2 x {n_s} = {expected} virtual nodes, of which only "
                       f"{connected} receive an edge (one per real edge, self edges "
                       "included); the others carry atom j's features alone.")
    if mine == n * n:
        return hint("that is one block per atom pair: each pair has a block for every "
                    "translation s of the box spanned by the edges' shifts")
    if mine == g.edge_index.shape[1]:
        return hint("that is the number of real edges (the connected virtual nodes); the "
                    "graph has a virtual node for every (j, i, s), connected or not")
    return hint("count N atoms, the translations n_s in the box of the edges' shifts "
                "(g.n_shifts), and take N * N * n_s")


# ------------------------------------------------ exercise 2: a block from its irreps

@check
def check_block(answer: Any, coefficients: Any) -> bool:
    """Exercise 2: the 3 x 3 block of 9 coefficients ``(0e | 1e (x, y, z) | 2e (5))``.

    Args:
        answer: your [3, 3] real block.
        coefficients: the 9 numbers of the exercise.
    """
    import torch

    from companion.nn.phonons import irreps_to_block_basis

    c = np.asarray(coefficients, dtype=np.float64).reshape(9)
    basis = irreps_to_block_basis(torch.float64).numpy()  # [9, 3, 3]
    expected = np.einsum("k,kab->ab", c, basis)
    mine = _array(answer, (3, 3))
    if np.allclose(mine, expected, atol=1e-8):
        return correct("isotropic c0 I/√3, antisymmetric ε_abk c_k/√2 and the symmetric "
                       "traceless part in e3nn's l = 2 order: trace "
                       f"{np.trace(expected):.4f} = √3 c0.")
    if np.allclose(mine, expected.T, atol=1e-8):
        return hint("your antisymmetric part has the wrong sign: B[a, b] = ε_{k a b} / √2 "
                    "(for k = x: B[1, 2] = +1/√2)")
    if np.isclose(np.trace(mine), np.trace(expected)) and \
            np.allclose(mine - mine.T, expected - expected.T, atol=1e-8):
        return hint("the trace and the antisymmetric part are right; check the order of "
                    "the five 2e components (xz, xy, (2y²-x²-z²)/√6, yz, (z²-x²)/√2, "
                    "each off-diagonal pair with 1/√2)")
    return hint("block = Σ_k c_k B_k with companion.nn.phonons.irreps_to_block_basis()")


# ------------------------------------------------------ exercise 3: the Fourier sum

@check
def check_dynamical_matrix(answer: Any, hs: Any, shifts: Any, qpoint: Any) -> bool:
    """Exercise 3: ``H(q) = sum_s H_s exp(2 pi i q.s)`` at one q-point.

    Args:
        answer: your [3N, 3N] complex matrix.
        hs: [n_s, 3N, 3N] real-space blocks (torch or numpy).
        shifts: [n_s, 3] translations.
        qpoint: [3] reduced q-point.
    """
    import torch

    from companion.nn.phonons import dynamical_matrix

    hs_t = torch.as_tensor(np.asarray(hs))
    q = torch.as_tensor(np.asarray(qpoint, dtype=np.float64)).reshape(1, 3)
    expected = dynamical_matrix(hs_t, torch.as_tensor(np.asarray(shifts)), q)[0].numpy()
    mine = _array(answer, expected.shape, np.complex128)
    scale = float(np.abs(expected).max())
    if np.allclose(mine, expected, atol=1e-8 * scale):
        return correct("one einsum over the translations; H(q) is complex and, in faithful "
                       "mode, not Hermitian.")
    if np.allclose(mine, expected.conj(), atol=1e-8 * scale):
        return hint("the sign of the phase: exp(+2πi q·s)")
    if np.allclose(mine, hs_t.sum(0).numpy(), atol=1e-8 * scale):
        return hint("that is H at Gamma (q = 0): multiply each H_s by its phase first")
    return hint("sum over s of H_s * exp(2j*np.pi*(q @ s)), with q in reduced coordinates")


# ---------------------------------------------------- exercise 4: acoustic modes

@check
def check_acoustic_reason(answer: Any) -> bool:
    """Exercise 4: why the authors' model gives acoustic frequencies above 0 at Gamma
    (a letter of :data:`ACOUSTIC_CHOICES`)."""
    key = str(answer).strip().lower()
    if key not in ACOUSTIC_CHOICES:
        return hint(f"answer with one of the letters {', '.join(ACOUSTIC_CHOICES)}")
    if key == "b":
        return correct(ACOUSTIC_CHOICES["b"] + " Physical mode imposes the sum rule on the "
                       "on-site blocks and gets exact zeros.")
    reasons = {"a": "the DFPT bands do have three acoustic branches that vanish at Gamma",
               "c": "a longer cutoff would not force a rigid translation to cost nothing",
               "d": "the reproduction runs in float64 and still gives 1.06 THz for Si"}
    return hint(reasons[key])


# --------------------------------------- exercise 5: what may attention carry (VGNNA)

ATTENTION_CHOICES = {
    "a": "All 36 components of the node features, as one flat vector through a Linear layer "
         "with biases (what the VGNNA code does).",
    "b": "The 0e channels and the norms |x_c| of the l = 1 and l = 2 channels.",
    "c": "The l = 1 channels only, since they are vectors like the edge directions.",
    "d": "The 0e channels and the x components of the l = 1 channels.",
}
"""Choices of exercise 5 (answer with the letter)."""


@check
def check_attention_inputs(answer: Any) -> bool:
    """Exercise 5: what an attention value added to the 0e channels may be built from
    without breaking equivariance (a letter of :data:`ATTENTION_CHOICES`)."""
    key = str(answer).strip().lower()
    if key not in ATTENTION_CHOICES:
        return hint(f"answer with one of the letters {', '.join(ATTENTION_CHOICES)}")
    if key == "b":
        return correct("invariants in, invariants out: a rotation leaves 0e numbers and the "
                       "norms of l > 0 channels unchanged, so the logits, the softmax and the "
                       "update of the scalars are unchanged too (InvariantAttention).")
    reasons = {
        "a": "a bias or a LayerNorm mean added to an l = 1 component does not rotate with "
             "it: the faithful variant's measured violation above",
        "c": "a vector added to a scalar channel changes when the crystal rotates; the "
             "scalar would not be a scalar any more",
        "d": "the x component of a vector depends on how the crystal is oriented",
    }
    return hint(reasons[key])


# ------------------------------------- exercise 6: nodes a batched k-MVN computes

@check
def check_computed_nodes(answer: Any, n_atoms: int, n_shifts: int, n_edges: int) -> bool:
    """Exercise 6: ``(virtual nodes of the authors' graph, rows this package computes)``
    for a cell of ``n_atoms`` atoms, ``n_shifts`` translations and ``n_edges`` real edges
    (self edges included).

    The package computes the atoms, one row per real edge (its connected virtual node) and
    one row per atom for all of its unconnected virtual nodes: ``N + E + N``.
    """
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__len__") or len(answer) != 2:
        return hint("give two whole numbers: (virtual nodes, computed rows)")
    try:
        virtual, rows = (float(x) for x in answer)
    except (TypeError, ValueError):
        return hint("give two whole numbers: (virtual nodes, computed rows)")
    if not (virtual.is_integer() and rows.is_integer()):
        return hint("node counts are whole numbers")
    n, e = n_atoms, n_edges
    want_v, want_r = n * n * n_shifts, n + e + n
    if int(virtual) != want_v:
        if int(virtual) == n * n_shifts:
            return hint("one virtual node per (destination j, source i, translation s): "
                        "N * N * n_s")
        return hint("virtual nodes: N^2 n_s")
    if int(rows) != want_r:
        if int(rows) == n + want_v:
            return hint("that is the authors' graph (atoms + every virtual node); the "
                        "unconnected virtual nodes of one atom all compute the same thing")
        return hint("rows: the N atoms, one per real edge (E), and one per atom for its "
                    "unconnected virtual nodes (N)")
    return correct(f"{want_v} virtual nodes, but only {want_r} distinct rows: "
                   f"{(n + want_v) / want_r:.1f}x fewer nodes to compute, with the same "
                   "numbers (the reproduction tests check it).")
