"""ALIGNN training speed and memory: one epoch on the FLLA formation energies (CPU).

For each config (the paper's default, ~4.03 M parameters, and a small one), in a fresh
process so that peak memory is its own:

  1. builds the graphs of the training split with their line graphs
     (``GraphDataset(..., **config.graph_options).prebuild()``), structures per second;
  2. trains one epoch with the course trainer (:func:`companion.train.fit`, AdamW, batch
     64, L1 loss on the normalized target), structures per second;
  3. prints the peak resident memory of the process (``ru_maxrss``), and the resident
     memory before the epoch (data + graphs), so the difference is the training's.

Usage: python benchmarks/train_alignn.py [--config default|small|both] [--limit N]
       [--batch-size B] [--threads T]

``--limit N`` trains on the first N structures of the training split (the full split is
3150 structures; the default config takes tens of minutes per epoch on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = {
    "default": {},
    "small": {"alignn_layers": 2, "gcn_layers": 2, "hidden_features": 64,
              "embedding_features": 32},
}


def rss_mib() -> float:
    """Current resident memory of this process, MiB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(name: str, limit: int | None, batch_size: int, threads: int | None) -> None:
    import torch

    from companion.data import load
    from companion.graphs.dataset import GraphDataset
    from companion.models.alignn import ALIGNN, ALIGNNConfig, count_parameters
    from companion.train import TrainConfig, fit

    if threads:
        torch.set_num_threads(threads)
    data = load("mp_eform")
    indices = data.split["train"][:limit] if limit else data.split["train"]
    config = ALIGNNConfig(**CONFIGS[name])
    train = GraphDataset(data, indices, "formation_energy_per_atom", **config.graph_options)
    start = time.perf_counter()
    train.prebuild()
    build_s = time.perf_counter() - start
    n_edges = sum(g.edge_index.shape[1] for g in train)
    n_triplets = sum(g.lg_edge_index.shape[1] for g in train) if config.angles else 0
    torch.manual_seed(0)
    model = ALIGNN(config)
    before = rss_mib()
    start = time.perf_counter()
    fit(model, train, None, TrainConfig(epochs=1, batch_size=batch_size, device="cpu",
                                        progress=False, restore_best=False))
    epoch_s = time.perf_counter() - start
    n = len(train)
    print(f"{name:8s} {count_parameters(model):>10,d} params | {n} structures, "
          f"{n_edges / n:.0f} edges and {n_triplets / n:.0f} triplets per structure | "
          f"graphs {n / build_s:7.1f} structures/s | epoch {epoch_s:7.1f} s = "
          f"{n / epoch_s:6.1f} structures/s | RSS before epoch {before:6.0f} MiB, "
          f"peak {peak_rss_mib():6.0f} MiB (batch {batch_size}, "
          f"{torch.get_num_threads()} threads)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=[*CONFIGS, "both"], default="both")
    parser.add_argument("--limit", type=int, default=None,
                        help="first N structures of the training split only")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.config != "both":
        run_one(args.config, args.limit, args.batch_size, args.threads)
        return
    for name in CONFIGS:  # a fresh process each: peak memory is per config
        cmd = [sys.executable, __file__, "--config", name, "--batch-size",
               str(args.batch_size)]
        cmd += ["--limit", str(args.limit)] if args.limit else []
        cmd += ["--threads", str(args.threads)] if args.threads else []
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
