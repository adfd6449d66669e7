"""Speed of the GATv2 / JAT potential on one EAN configuration (225 atoms), CPU.

EAN (ethylammonium nitrate) is the ionic liquid of NeuralIL and JAT (Montes-Campos et al.,
J. Chem. Inf. Model. 62, 88, 2022): 15 ion pairs in a periodic cubic box of 12.9 Å. With the
default :class:`~companion.models.gatv2.GATv2Config` (37,697 parameters, 4 layers, 4 Å
cutoff: about 6000 edges), this script prints

1. one energy-and-forces evaluation, ms (median over ``--repeats``), split into graph
   building (``to_graph``, float64 neighbor search) and model (forward + autograd forces),
   in float32 and float64; target: at most 30 ms per evaluation, graph included (the
   original JAX implementation of JAT takes about 59 ms on the course's 2-core machine);
2. ASE molecular dynamics (``VelocityVerlet``, 0.5 fs) driven by
   :class:`~companion.calculator.PotentialCalculator`: atoms x steps per second;

first with glibc's default allocator settings, then after
:func:`companion.calculator.tune_glibc_malloc`. An evaluation creates and frees some forty
1-2 MB edge tensors; by default glibc hands that memory back to the kernel after each
evaluation and takes it again in the next, and every page of it then costs a page fault
(measured: ~4000 per float64 evaluation, 5-9 ms of system time in this VM). Keeping freed
memory in the process removes them; a notebook or MD script can call the same function.

The model is randomly initialized: speed does not depend on the weights. Timings on a
shared machine fluctuate; the script prints the load average, the fastest evaluation and
the CPU time (user + system) next to the median wall time. With 2 cores ``--threads 1`` is
the robust choice (an OpenMP thread waiting for a busy core stalls every parallel operation).

Usage: python benchmarks/potential_speed.py [--threads 1] [--repeats 50] [--md-steps 50]
(external data: ``COMPANION_DATA_DIRS=../shared/data``)
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from ase import Atoms, units
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet

from companion.calculator import PotentialCalculator, tune_glibc_malloc
from companion.data import load
from companion.graphs import to_graph
from companion.models.gatv2 import GATv2Config, GATv2Potential

TARGET_MS = 30.0  # ms per energy-and-forces evaluation, graph building included
JAX_REFERENCE_MS = 59.0  # the original JAT (JAX) on the course's 2-core machine


def time_evaluations(model: GATv2Potential, atoms: Atoms, dtype: torch.dtype,
                     repeats: int) -> dict[str, float]:
    """Median wall-clock ms of graph building, of the model (energy and forces) and of both;
    the fastest evaluation; the median CPU ms of one (user + system time, less inflated than
    wall time when other processes take the cores); the number of edges."""
    options = model.config.graph_options
    for _ in range(3):  # warm-up: allocator, first-call overheads
        model.energy_and_forces(to_graph(atoms, **options, dtype=dtype))
    graph_ms, model_ms, cpu_ms = [], [], []
    for _ in range(repeats):
        cpu = time.process_time()
        start = time.perf_counter()
        graph = to_graph(atoms, **options, dtype=dtype)
        built = time.perf_counter()
        out = model.energy_and_forces(graph)
        done = time.perf_counter()
        cpu_ms.append(1e3 * (time.process_time() - cpu))
        graph_ms.append(1e3 * (built - start))
        model_ms.append(1e3 * (done - built))
    assert torch.isfinite(out["forces"]).all()
    return {"graph": float(np.median(graph_ms)), "model": float(np.median(model_ms)),
            "total": float(np.median(np.add(graph_ms, model_ms))),
            "best": float(np.min(np.add(graph_ms, model_ms))),
            "cpu": float(np.median(cpu_ms)), "edges": graph.num_edges}


def time_md(model: GATv2Potential, atoms: Atoms, dtype: torch.dtype, steps: int) -> float:
    """Atoms x steps per second of velocity-Verlet MD through the ASE calculator."""
    atoms = atoms.copy()
    atoms.calc = PotentialCalculator(model, dtype=dtype)
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    dyn.run(2)  # warm-up
    start = time.perf_counter()
    dyn.run(steps)
    return len(atoms) * steps / (time.perf_counter() - start)


def report(config: GATv2Config, atoms: Atoms, args: argparse.Namespace, label: str) -> None:
    """One table row per dtype."""
    for dtype in (torch.float32, torch.float64):
        torch.manual_seed(0)
        model = GATv2Potential(config).to(dtype).eval()
        t = time_evaluations(model, atoms, dtype, args.repeats)
        rate = time_md(model, atoms, dtype, args.md_steps)
        verdict = "OK" if t["total"] <= TARGET_MS else "SLOWER THAN TARGET"
        print(f"{label:8s} {str(dtype).removeprefix('torch.'):8s} {t['edges']:6d} "
              f"{t['graph']:6.2f} {t['model']:6.2f} {t['total']:6.2f} {t['best']:6.2f} "
              f"{t['cpu']:6.2f} {1e3 / t['total']:7.1f} {rate:10.0f}  {verdict} "
              f"({JAX_REFERENCE_MS / t['total']:.1f}x JAX JAT)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=50, help="timed evaluations per dtype")
    parser.add_argument("--md-steps", type=int, default=50, help="timed MD steps per dtype")
    parser.add_argument("--config", type=int, default=0, help="index of the EAN configuration")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    atoms = load("ean")[args.config].atoms
    atoms.calc = None
    config = GATv2Config(species=(1, 6, 7, 8))
    n_params = sum(p.numel() for p in GATv2Potential(config).parameters())
    print(f"EAN configuration {args.config}: {len(atoms)} atoms, box "
          f"{atoms.cell.lengths()[0]:.2f} Å; GATv2Config: {config.n_layers} layers, "
          f"F={config.embed_dim}, {config.heads} heads, cutoff {config.cutoff} Å")
    print(f"parameters: {n_params:,}; torch {torch.__version__}, {args.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"per evaluation, ms (target <= {TARGET_MS:g} ms total; JAX JAT "
          f"{JAX_REFERENCE_MS:g} ms); MD in atoms x steps / s")
    print(f"{'malloc':8s} {'dtype':8s} {'edges':>6s} {'graph':>6s} {'model':>6s} "
          f"{'total':>6s} {'best':>6s} {'cpu':>6s} {'eval/s':>7s} {'MD rate':>10s}")
    report(config, atoms, args, "default")
    if tune_glibc_malloc():
        report(config, atoms, args, "tuned")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
