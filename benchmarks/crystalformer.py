"""Crystalformer speed: the production path against the dense path, and training epochs.

Part 1, for supercells of 8 to 256 atoms (diamond Si; a 30-atom rutile TiO2 supercell for
the issue's 30-atom figure): time and peak memory of one forward + backward of the default
model (float32, batch of one; the fastest of ``--repeats`` runs, the least disturbed on a busy
machine) on the production path (radius list, cutoff 3.5 sigma_max)
and on the dense path (every pair over the box of 125 translations), their ratio, and the
edges per atom (production) and images per atom (dense: n_atoms * 125). Peak memory is the
growth of the process's resident set (``ru_maxrss``), each case in a fresh subprocess.
Dense cases whose tensors would need more than ``--dense-limit-gb`` are skipped (the size
they would need is printed).

Part 2: seconds per training epoch on the FLLA training split (3150 structures) of the
default Crystalformer (its recipe, batch 128), and of CGCNN and ALIGNN at the sizes of
notebooks 02/03 (batch 64 and 32), measured on ``--probe`` steps after 2 warm-up steps and
scaled to the epoch (optimizer step and collation included; no validation).

Run:  PYTHONPATH=. python benchmarks/crystalformer.py [--threads 2] [--device cuda] [--amp]
Timings on a shared machine are noisy: compare ratios measured back to back.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

CASES = {"Si 8": ("si", (1, 1, 1)), "Si 16": ("si", (2, 1, 1)), "TiO2 30": ("tio2", (1, 1, 5)),
         "Si 32": ("si", (2, 2, 1)), "Si 64": ("si", (2, 2, 2)), "Si 128": ("si", (4, 2, 2)),
         "Si 256": ("si", (4, 4, 2))}


def structure(kind: str, reps: tuple[int, int, int]):
    from pymatgen.core import Lattice, Structure

    if kind == "si":
        fcc = [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]
        frac = fcc + [[x + .25 for x in p] for p in fcc]
        s = Structure(Lattice.cubic(5.431), ["Si"] * 8, frac)
    else:
        u = 0.3048
        s = Structure(Lattice.tetragonal(4.594, 2.959), ["Ti", "Ti", "O", "O", "O", "O"],
                      [[0, 0, 0], [.5, .5, .5], [u, u, 0], [1 - u, 1 - u, 0],
                       [.5 + u, .5 - u, .5], [.5 - u, .5 + u, .5]])
    return s * reps


def one_case(name: str, path: str, threads: int, device: str, repeats: int) -> dict:
    """Forward + backward of one supercell on one path (run in a fresh process)."""
    import torch

    from companion.graphs import to_graph
    from companion.models.crystalformer import Crystalformer

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Crystalformer().to(device)
    graph = to_graph(structure(*CASES[name]), **model.config.graph_options).to(device)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats + 1):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        model(graph, path).sum().backward()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else
            (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
    return {"time_s": float(np.min(times[1:])), "peak_mib": peak,
            "edges_per_atom": graph.num_edges / graph.num_nodes}


def dense_gib(n_atoms: int) -> float:
    """Rough size of the dense path's largest tensors: pairs x 125 images x (8 heads + 64
    basis functions) floats, times ~4 for autograd's saved copies."""
    return n_atoms**2 * 125 * (8 + 64) * 4 * 4 / 2**30


def measure(name: str, path: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--one", name, path, "--threads", str(args.threads),
           "--device", args.device, "--repeats", str(args.repeats)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def paths_table(args: argparse.Namespace) -> None:
    print(f"forward + backward, default Crystalformer (float32), {args.threads} threads, "
          f"{args.device}")
    print(f"{'case':8s} {'atoms':>5s} {'edges/atom':>10s} {'images/atom':>11s} "
          f"{'prod s':>8s} {'prod MiB':>8s} {'dense s':>8s} {'dense MiB':>9s} {'ratio':>6s}")
    for name in CASES:
        n = int(name.split()[1])
        prod = measure(name, "edges", args)
        if dense_gib(n) > args.dense_limit_gb:
            dense_s, dense_m, ratio = "skip", f"~{dense_gib(n):.0f}G", "-"
        else:
            dense = measure(name, "dense", args)
            dense_s, dense_m = f"{dense['time_s']:.3f}", f"{dense['peak_mib']:.0f}"
            ratio = f"{dense['time_s'] / prod['time_s']:.1f}"
        print(f"{name:8s} {n:5d} {prod['edges_per_atom']:10.0f} {n * 125:11d} "
              f"{prod['time_s']:8.3f} {prod['peak_mib']:8.0f} {dense_s:>8s} {dense_m:>9s} "
              f"{ratio:>6s}", flush=True)


def epoch_seconds(model, dataset, batch_size: int, lr: float, device: str,
                  amp: bool) -> tuple[float, float]:
    """One full training epoch (after 2 warm-up steps): its wall time, and the median step
    time times the number of steps (less sensitive to a busy machine's stalls)."""
    import torch
    from torch_geometric.loader import DataLoader

    from companion.train.runtime import autocast

    model = model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(0))

    def step(batch) -> float:
        start = time.perf_counter()
        batch = batch.to(device)
        with autocast(torch.device(device), amp):
            out = model(batch)
        loss = (out.float() - batch.y.float()).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for _, batch in zip(range(2), loader, strict=False):
        step(batch)
    start = time.perf_counter()
    times = [step(batch) for batch in loader]  # collation is in the wall time only
    return time.perf_counter() - start, float(np.median(times)) * len(times)


def epochs_table(args: argparse.Namespace) -> None:
    import torch

    from companion.data import load
    from companion.graphs.dataset import GraphDataset
    from companion.models.alignn import ALIGNN, ALIGNNConfig
    from companion.models.cgcnn import CGCNN, CGCNNConfig
    from companion.models.crystalformer import Crystalformer, CrystalformerConfig

    torch.set_num_threads(args.threads)
    data = load("mp_eform")
    idx = data.split["train"]
    alignn = ALIGNNConfig(alignn_layers=1, gcn_layers=3, hidden_features=32,
                          embedding_features=32, max_neighbors=8)
    runs = {
        "Crystalformer (default, batch 128)": (Crystalformer, CrystalformerConfig(), 128, 5e-4,
                                               {}),
        "Crystalformer K=0 (batch 128)": (Crystalformer, CrystalformerConfig(n_basis=0), 128,
                                          5e-4, {}),
        "CGCNN (notebook 03 size, batch 32)": (CGCNN, CGCNNConfig(atom_fea_len=32,
                                                                  h_fea_len=64), 32, 3e-3, {}),
        "ALIGNN (notebook 03 size, batch 32)": (ALIGNN, alignn, 32, 5e-3,
                                                {"backtracking": False}),
    }
    print(f"\nseconds per training epoch on FLLA ({len(idx)} structures), {args.threads} "
          f"threads, {args.device}{' bf16' if args.amp else ''}")
    for name, (cls, config, batch, lr, extra) in runs.items():
        start = time.perf_counter()
        ds = GraphDataset(data, idx, "formation_energy_per_atom",
                          **{**config.graph_options, **extra}).prebuild()
        built = time.perf_counter() - start
        torch.manual_seed(0)
        wall, median = epoch_seconds(cls(config), ds, batch, lr, args.device, args.amp)
        print(f"{name:38s} {wall:7.1f} s/epoch  {len(idx) / wall:7.1f} structures/s  "
              f"(median step x steps: {median:.1f} s, {len(idx) / median:.0f} structures/s; "
              f"graphs built in {built:.1f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dense-limit-gb", type=float, default=6.0)
    parser.add_argument("--skip-paths", action="store_true")
    parser.add_argument("--skip-epochs", action="store_true")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_case(*args.one, args.threads, args.device, args.repeats)))
        return
    if not args.skip_paths:
        paths_table(args)
    if not args.skip_epochs:
        epochs_table(args)


if __name__ == "__main__":
    main()
