"""Predictions for many structure files (a screening): what ``python -m companion predict``
runs.

Files (and folders and glob patterns, :func:`companion.io.expand_inputs`) are read and
turned into graphs in worker processes (:func:`read_graphs`, one file each; a file may hold
many frames), and the model predicts in batches in this process while the workers read on.
Every structure gets one :class:`Row`: its prediction, or the reason it has none (an
unreadable file, a disordered site, an element the model does not know); the run goes on.

Example:
    >>> from companion.train import load_predictor
    >>> predictor = load_predictor("cgcnn/formation-energy-per-atom")
    >>> rows = predict_files(predictor, ["structures/*.cif"], batch_size=64)
    >>> write_rows(rows, "predictions.csv")
"""

from __future__ import annotations

import csv
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from companion.errors import CompanionError, StructureError
from companion.io import expand_inputs, formula_of, read_frames

__all__ = ["Row", "crystal_graph_arrays", "crystal_graph_from_arrays", "format_table",
           "predict_files", "read_graphs", "write_rows"]


@dataclass
class Row:
    """One structure of a screening (one line of ``--out``).

    Attributes:
        source: the file. frame: index of the structure in the file (0 for most formats).
        formula: reduced formula ("" if unreadable). n_atoms: atoms in the cell (0 if
        unreadable). prediction: in ``unit`` (NaN when ``error``). unit, model: what
        predicted it. error: why there is no prediction ("" when there is one).
    """

    source: str
    frame: int
    formula: str
    n_atoms: int
    prediction: float
    unit: str
    model: str
    error: str = ""


COLUMNS = [f.name for f in fields(Row)]
"""Columns of the CSV file, keys of the JSON records."""


def _message(exc: Exception) -> str:
    return str(exc) if isinstance(exc, CompanionError) else f"{type(exc).__name__}: {exc}"


def _formula(structure: Any) -> tuple[str, int]:
    """Reduced formula and number of atoms of a pymatgen Structure or ASE Atoms."""
    composition = getattr(structure, "composition", None)
    try:
        with warnings.catch_warnings():  # e.g. "No Pauling electronegativity for Ne"
            warnings.simplefilter("ignore")
            if composition is not None:
                return composition.reduced_formula, len(structure)
            return formula_of(structure.numbers), len(structure)
    except Exception:  # an element pymatgen does not know: the graph says why
        return "", len(structure)


def crystal_graph_arrays(structure: Any, **graph_kwargs: Any) -> dict[str, np.ndarray]:
    """:func:`companion.graphs.to_graph` of a structure as numpy arrays (the default of
    :class:`companion.train.Predictor`; the CGCNN, ALIGNN and GATv2 graphs)."""
    from companion.graphs import to_graph

    graph = to_graph(structure, **graph_kwargs)
    return {key: value.numpy() for key, value in graph.items()}


def crystal_graph_from_arrays(arrays: Mapping[str, np.ndarray]) -> Any:
    """The :class:`companion.graphs.build.CrystalGraph` of :func:`crystal_graph_arrays`."""
    from companion.graphs.build import CrystalGraph

    return CrystalGraph(**{k: torch.from_numpy(v) for k, v in arrays.items()})


GraphBuilder = Callable[[Any], dict[str, np.ndarray]]
"""``structure -> dict of numpy arrays`` (a predictor's ``graph_arrays``)."""


def _as_builder(graph: GraphBuilder | Mapping[str, Any]) -> GraphBuilder:
    """A builder, or the options of :func:`crystal_graph_arrays` made one."""
    return partial(crystal_graph_arrays, **graph) if isinstance(graph, Mapping) else graph


def _graph_arrays(structure: Any, build: GraphBuilder,
                  periodic: bool | None) -> dict[str, np.ndarray]:
    """The graph of a structure as numpy arrays (sent between processes as plain pickles,
    not one shared-memory file per tensor)."""
    pbc = getattr(getattr(structure, "lattice", None), "pbc", None)
    if pbc is None:
        pbc = getattr(structure, "pbc", (False,))
    if periodic and not all(pbc):
        raise StructureError("no periodic cell (a molecule or a slab); this model predicts "
                             "bulk crystals: give a structure with a lattice, periodic in 3D.")
    return build(structure)


def read_graphs(path: str | Path, graph: GraphBuilder | Mapping[str, Any],
                periodic: bool | None = None) -> list[tuple[int, str, int, Any, str]]:
    """Every structure of one file as ``(frame, formula, n_atoms, graph arrays or None,
    error message)``; never raises for a bad file or structure (the message says why).

    ``graph``: a predictor's ``graph_arrays`` (``structure -> dict of numpy arrays``), or
    the options of :func:`companion.graphs.to_graph`."""
    build = _as_builder(graph)
    try:
        frames = read_frames(path)
    except Exception as exc:  # any reader failure becomes a row
        return [(0, "", 0, None, _message(exc))]
    out = []
    for frame, structure in enumerate(frames):
        formula, n_atoms = _formula(structure)
        try:
            out.append((frame, formula, n_atoms, _graph_arrays(structure, build, periodic),
                        ""))
        except Exception as exc:  # one bad frame does not stop the file
            out.append((frame, formula, n_atoms, None, _message(exc)))
    return out


class _Files(Dataset):
    """Item ``i``: :func:`read_graphs` of file ``i`` (run in DataLoader workers)."""

    def __init__(self, files: Sequence[Path], build: GraphBuilder,
                 periodic: bool | None) -> None:
        self.files, self.build, self.periodic = list(files), build, periodic

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> list[tuple[int, str, int, Any, str]]:
        return read_graphs(self.files[i], self.build, self.periodic)


def _identity(item: Any) -> Any:
    return item


def default_workers(n_files: int) -> int:
    """Reader processes: none for a few files (starting workers costs more than it saves),
    else one per available core, at most 8."""
    if n_files < 32:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(8, cores or 1)


def _file_items(files: Sequence[Path], build: GraphBuilder,
                periodic: bool | None, workers: int
                ) -> Iterator[tuple[Path, list[tuple[int, str, int, Any, str]]]]:
    """``(file, read_graphs(file))`` in file order, read by ``workers`` processes."""
    loader = DataLoader(_Files(files, build, periodic), batch_size=None,
                        num_workers=workers, collate_fn=_identity,
                        prefetch_factor=8 if workers else None)
    yield from zip(files, loader, strict=True)


def _predict_pending(predictor: Any, pending: list[tuple[Row, Any]], batch_size: int) -> None:
    """Fill the predictions of ``pending`` rows (graph arrays beside each); a batch that
    fails is retried one structure at a time, so one bad structure fails alone."""
    graphs = [predictor.from_arrays(arrays) for _, arrays in pending]
    try:
        values = predictor.predict_graphs(graphs, batch_size)
    except StructureError:
        values = []
        for (row, _), graph in zip(pending, graphs, strict=True):
            try:
                values.append(float(predictor.predict_graphs([graph], 1)[0]))
            except StructureError as exc:
                row.error = str(exc)
                values.append(float("nan"))
    for (row, _), value in zip(pending, values, strict=True):
        row.prediction = float(value)
    pending.clear()


def predict_files(predictor: Any, inputs: Iterable[str | Path], batch_size: int = 64,
                  workers: int | None = None, progress: bool | None = None) -> list[Row]:
    """Predict every structure in files, folders and glob patterns, in batches.

    Args:
        predictor: a :class:`companion.train.Predictor` (:func:`companion.train.
            load_predictor`).
        inputs: files (any format pymatgen or ASE reads; many frames per file are fine),
            folders and glob patterns (:func:`companion.io.expand_inputs`).
        batch_size: structures per forward pass.
        workers: processes that read files and build graphs (0: this process); default
            :func:`default_workers`.
        progress: a progress bar on stderr; default: for more than 50 files on a terminal.

    Returns:
        One :class:`Row` per structure, in the order of the files (and of the frames in a
        file), after one row for each input that names no file (with the reason); a
        structure without a prediction has ``error`` set and a NaN prediction.
    """
    files, unmatched = expand_inputs(inputs)
    workers = default_workers(len(files)) if workers is None else workers
    if progress is None:
        progress = len(files) > 50 and sys.stderr.isatty()
    unit, name = predictor.unit, predictor.model_name
    rows = [Row(text, 0, "", 0, float("nan"), unit, name,
                "no such file, folder or glob match") for text in unmatched]
    items = _file_items(files, predictor.graph_arrays, predictor.periodic, workers)
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, total=len(files), desc="predict", unit="file", file=sys.stderr)
    pending: list[tuple[Row, Any]] = []
    with _model_threads(workers):
        _predict_all(predictor, items, rows, pending, batch_size)
    return rows


@contextmanager
def _model_threads(workers: int) -> Iterator[None]:
    """Fewer torch threads for the model while ``workers`` processes keep the cores busy
    (torch's threads would only wait on each other; measured 3.5x slower on 2 busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before - workers) if workers else before)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _predict_all(predictor: Any, items: Iterable[tuple[Path, list]], rows: list[Row],
                 pending: list[tuple[Row, Any]], batch_size: int) -> None:
    """Append a row per structure of ``items`` to ``rows``, predicting in batches."""
    unit, name = predictor.unit, predictor.model_name
    for path, structures in items:
        for frame, formula, n_atoms, arrays, error in structures:
            row = Row(str(path), frame, formula, n_atoms, float("nan"), unit, name, error)
            rows.append(row)
            if arrays is not None:
                pending.append((row, arrays))
        if len(pending) >= batch_size:
            _predict_pending(predictor, pending, batch_size)
    if pending:
        _predict_pending(predictor, pending, batch_size)


def write_rows(rows: Sequence[Row], path: str | Path) -> None:
    """Write rows to ``.csv`` (columns :data:`COLUMNS`; empty prediction when failed) or
    ``.json`` (a list of records; ``null`` prediction when failed).

    Raises:
        ValueError: another suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValueError(f"{path}: --out must end in .csv or .json.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    records = [asdict(r) for r in rows]
    for r in records:
        if np.isnan(r["prediction"]):
            r["prediction"] = None
    with open(tmp, "w", newline="") as f:
        if suffix == ".json":
            json.dump(records, f, indent=1)
        else:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows({k: ("" if v is None else v) for k, v in r.items()}
                             for r in records)
    os.replace(tmp, path)


def format_table(rows: Sequence[Row], target: str = "") -> str:
    """A terminal table of the predicted rows: file (and frame), formula, prediction."""
    good = [r for r in rows if not r.error]
    if not good:
        return ""
    frames = any(r.frame for r in good)
    names = [f"{r.source}:{r.frame}" if frames else r.source for r in good]
    unit = good[0].unit
    header = f"{target} ({unit})" if target and unit else target or "prediction"
    width = max(len("file"), *(len(n) for n in names))
    fwidth = max(len("formula"), *(len(r.formula) for r in good))
    lines = [f"{'file':{width}s}  {'formula':{fwidth}s}  {header}"]
    lines += [f"{n:{width}s}  {r.formula:{fwidth}s}  {r.prediction:.4f}"
              for n, r in zip(names, good, strict=True)]
    return "\n".join(lines)
