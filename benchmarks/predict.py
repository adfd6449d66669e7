"""Throughput of ``python -m companion predict`` on 1000 CIF files: one structure at a time
(the command before batching) against the batched path (worker processes read the files and
build the graphs, the model predicts 64 structures per forward pass), reading included.

The CIF files are written from the shipped ``mp_eform`` structures (Materials Project, FLLA
2015) into a temporary folder; the model is the authors' pretrained CGCNN
(``cgcnn/formation-energy-per-atom``) unless ``--model`` names another catalogue model or a
run folder. Both paths must give the same numbers; the script prints both throughputs,
their ratio, the CPU time per structure of each (this process and its workers: the work
done, which a busy machine does not change much, unlike the wall time) and the largest
difference between the predictions.

Measured on the course's shared 2-core machine (busy: load average 5-8, so the wall times
are noisy; the CPU times less so), 1000 files, pretrained CGCNN:

- one torch thread in both paths: 60 -> 238 structures/s (3.9x; CPU time 5.9 -> 2.1 ms per
  structure, 2.8x); the same predictions to 1.3e-6 eV/atom (float32 rounding: a batch of 64
  rounds differently from a batch of 1);
- torch's default of two threads: 5 -> 318 structures/s (64x: a batch of one small graph on
  two threads mostly waits on a busy CPU).

Usage: python benchmarks/predict.py [--n 1000] [--workers 2] [--threads 2] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from companion.data import load
from companion.screening import predict_files
from companion.train import load_predictor


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished children (workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def write_cifs(n: int, folder: Path) -> list[Path]:
    """The first ``n`` mp_eform structures as CIF files (pymatgen's CifWriter, P1)."""
    from pymatgen.io.cif import CifWriter

    data = load("mp_eform")
    paths = []
    for i in range(min(n, len(data))):
        path = folder / f"{i:05d}_{data.material_ids[i]}.cif"
        CifWriter(data[i].structure).write_file(path)
        paths.append(path)
    return paths


def read_as_before(path: Path):
    """``read_structure`` as it was: ``Structure.from_file`` (CIF check included), then
    the graph checks (valid atoms, no overlap)."""
    from pymatgen.core import Structure

    from companion.graphs.atoms import as_atoms_arrays
    from companion.graphs.neighbors import neighbor_list

    structure = Structure.from_file(path)
    as_atoms_arrays(structure)
    neighbor_list(structure, 0.5)
    return structure


def one_at_a_time(predictor, paths: list[Path]) -> np.ndarray:
    """What ``predict`` did before: read and check a file, predict it alone, next file."""
    out = []
    for path in paths:
        structure = read_as_before(path)
        out.append(float(predictor.predict_structures([structure])[0]))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="CIF files (default 1000)")
    parser.add_argument("--model", default="cgcnn/formation-energy-per-atom",
                        help="catalogue name or run folder")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="reader processes (batched)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (both paths)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # pymatgen's notes on CIF files and electronegativity
    predictor = load_predictor(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_cifs(args.n, Path(tmp))
        n = len(paths)
        print(f"{n} CIF files, model {predictor.model_name} ({predictor.unit}), torch "
              f"{torch.__version__}, {args.threads} torch threads\n")

        start, cpu = time.perf_counter(), cpu_seconds()
        before = one_at_a_time(predictor, paths)
        t_before, cpu_before = time.perf_counter() - start, cpu_seconds() - cpu

        start, cpu = time.perf_counter(), cpu_seconds()
        rows = predict_files(predictor, [tmp], args.batch_size, args.workers, progress=False)
        t_after, cpu_after = time.perf_counter() - start, cpu_seconds() - cpu

    after = np.array([r.prediction for r in rows])
    failed = [r for r in rows if r.error]
    assert not failed, failed[:3]
    assert [r.source for r in rows] == [str(p) for p in paths]
    diff = float(np.abs(after - before).max())
    scale = float(np.abs(before).max())
    print(f"one at a time (read, check, predict)   {n / t_before:8.1f} structures/s  "
          f"({t_before:6.2f} s; CPU {1e3 * cpu_before / n:5.2f} ms/structure)")
    print(f"batched ({args.workers} reader processes, batch {args.batch_size:3d})  "
          f"{n / t_after:8.1f} structures/s  ({t_after:6.2f} s; CPU "
          f"{1e3 * cpu_after / n:5.2f} ms/structure)")
    print(f"CPU time ratio {cpu_before / cpu_after:.2f}x")
    same = "bitwise identical" if diff == 0 else (
        "the same to float32 rounding" if diff <= 1e-5 * max(scale, 1.0) else "DIFFERENT")
    print(f"ratio {t_before / t_after:.2f}x; largest difference between the predictions "
          f"{diff:.2g} {predictor.unit}: {same}")
    if same == "DIFFERENT":
        raise SystemExit("the batched predictions differ from the one-at-a-time ones")


if __name__ == "__main__":
    main()
