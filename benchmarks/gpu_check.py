"""GPU check: every model of the registry trains for one short epoch on CUDA, in float32 and
with bf16 autocast, through the package's own training loop (:func:`companion.train.fit`).

For each model of :data:`companion.models.registry.MODELS` and each precision:

1. its loss on one fixed batch on CUDA must match the CPU loss of the same weights on the
   same batch (float32: relative difference below 1e-3; bf16: below 5e-2);
2. one epoch of :func:`~companion.train.fit` on CUDA must lower the loss on that batch;
3. it prints the time of the epoch and the peak GPU memory.

It runs in well under 5 minutes on one GPU and exits with status 0 when every check passes,
1 when one fails, 2 (with a message) where no CUDA GPU is present. ``--device cpu`` runs the
same logic on the CPU (a dry run, which the tests use: the bf16 losses of step 1 run under
CPU autocast, the epoch itself in float32, as the training loop autocasts on CUDA only).

A model added to the registry is picked up; one whose data set is not ``mp_eform`` (a
potential, a phonon model) needs one line in :data:`DATA`.

Usage: python benchmarks/gpu_check.py [--models cgcnn alignn] [--n 1024] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch

from companion.data import DataError, load
from companion.models.registry import MODELS, build_model, config_fields, graph_kwargs
from companion.train import TrainConfig, fit, seed_everything, task_for

DATA: dict[str, str] = {
    "gatv2": "ethanol_sample",  # a potential: energies and forces (50 frames, shipped)
    "kmvn": "mp_phonons",  # phonon bands (69 DFPT materials; external: COMPANION_DATA_DIRS)
    "vgnna": "mp_phonons",  # the same, with invariant attention
}
"""Model name -> data set name of :func:`companion.data.load` (default ``mp_eform``)."""

TASK: dict[str, str] = {"kmvn": "phonon_bands", "vgnna": "phonon_bands"}
"""Model name -> ``TrainConfig.task`` where the data alone does not say (default ``auto``)."""

TOLERANCE = {"float32": 1e-3, "bf16": 5e-2}
"""Largest relative difference of the CUDA loss from the CPU loss, per precision."""


@dataclass
class Result:
    """One line of the report."""

    model: str
    precision: str
    data: str
    n_graphs: int
    loss_cpu: float
    loss_device: float
    loss_after: float
    epoch_s: float
    peak_mib: float | None

    @property
    def rel_diff(self) -> float:
        return abs(self.loss_device - self.loss_cpu) / max(abs(self.loss_cpu), 1e-12)

    @property
    def matches(self) -> bool:
        return self.rel_diff <= TOLERANCE[self.precision]

    @property
    def decreased(self) -> bool:
        return self.loss_after < self.loss_device

    @property
    def ok(self) -> bool:
        return self.matches and self.decreased and np.isfinite(self.loss_after)


def batch_loss(task: Any, model: torch.nn.Module, batch: Any, device: torch.device,
               amp: bool) -> float:
    """The training loss of ``batch`` (train mode, as in the loop; the model is not changed:
    a copy runs, so batch-norm statistics stay as they are)."""
    net_model = copy.deepcopy(model).to(device).train()
    net = task.module(net_model)
    batch = batch.to(device)
    torch.manual_seed(0)  # the same dropout masks, if any
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        out = task.forward(net, batch)
    return float(task.loss(net_model, out, batch).detach())


def prepare(name: str, n: int, config: TrainConfig, graphs: Any = None
            ) -> tuple[Any, Any, Any]:
    """``(model, task, training graphs)`` of model ``name`` on its data set (first ``n``
    records of the stored training split), built as ``python -m companion train`` does,
    weights from seed 0 (``graphs``: reuse those of an earlier call)."""
    source = load(DATA.get(name, "mp_eform"))
    task = task_for(source, config)
    target = task.target(source, None)
    model_config: dict[str, Any] = {}
    task.configure(model_config, config_fields(name), source)
    seed_everything(0)
    model = build_model(name, model_config)
    if graphs is None:
        indices = np.asarray(source.split["train"])[:n]
        graphs = task.dataset(source, indices, graph_kwargs(name, model_config), target)
    task.prepare(model, graphs)
    return model, task, graphs


def check(name: str, precision: str, device: torch.device, n: int, batch_size: int,
          lr: float, graphs: Any = None) -> tuple[Result, Any]:
    """Steps 1-3 of the module docstring for one model and precision; also returns the
    graphs, for the next precision."""
    amp = precision == "bf16"
    config = TrainConfig(epochs=1, batch_size=batch_size, lr=lr, device=device.type,
                         amp=amp, progress=False, seed=0, schedule="none", patience=0)
    config.task = TASK.get(name, config.task)
    model, task, graphs = prepare(name, n, config, graphs)
    batch = Batch.from_data_list([graphs[i] for i in range(min(batch_size, len(graphs)))])
    loss_cpu = batch_loss(task, model, batch, torch.device("cpu"), False)
    loss_device = batch_loss(task, model, batch, device, amp)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    fit(model, graphs, None, config, task=task)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    epoch_s = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    loss_after = batch_loss(task, model, batch, device, amp)
    return Result(name, precision, DATA.get(name, "mp_eform"), len(graphs), loss_cpu,
                  loss_device, loss_after, epoch_s, peak), graphs


def report(results: list[Result]) -> str:
    """The table the script prints."""
    lines = [f"{'model':8s} {'precision':9s} {'data':15s} {'graphs':>6s} {'CPU loss':>10s} "
             f"{'device':>10s} {'rel diff':>8s} {'after 1 ep':>10s} {'epoch s':>8s} "
             f"{'peak MiB':>8s}  status"]
    for r in results:
        peak = f"{r.peak_mib:8.0f}" if r.peak_mib is not None else f"{'-':>8s}"
        why = [] if r.matches else [f"CPU/device differ > {TOLERANCE[r.precision]:g}"]
        why += [] if r.decreased else ["loss did not decrease"]
        lines.append(f"{r.model:8s} {r.precision:9s} {r.data:15s} {r.n_graphs:6d} "
                     f"{r.loss_cpu:10.5f} {r.loss_device:10.5f} {r.rel_diff:8.1e} "
                     f"{r.loss_after:10.5f} {r.epoch_s:8.2f} {peak}  "
                     f"{'ok' if r.ok else 'FAIL: ' + '; '.join(why)}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (default: every model of the registry, on CUDA)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS),
                        help="models to check (default: every model of the registry)")
    parser.add_argument("--n", type=int, default=1024, help="training graphs per model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                        help="cuda (default); cpu: a dry run of the same logic")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"no CUDA GPU: torch.cuda.is_available() is False (torch {torch.__version__}, "
              f"built for CUDA {torch.version.cuda}). Run this on a machine with an NVIDIA "
              "GPU and a CUDA build of torch (README, GPU users), or with --device cpu for a "
              "dry run of the logic.", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (dry run)"
    print(f"{name}, torch {torch.__version__}; {args.n} graphs, batch {args.batch_size}, "
          f"one epoch per model and precision\n")
    start, results = time.perf_counter(), []
    skipped = []
    for model in args.models:
        graphs = None
        for precision in ("float32", "bf16"):
            try:
                result, graphs = check(model, precision, device, args.n, args.batch_size,
                                       args.lr, graphs)
            except DataError as exc:  # an external set not on this machine: say so, go on
                skipped.append(f"{model}: skipped, its data set is not here ({exc})")
                print(skipped[-1].splitlines()[0], flush=True)
                break
            results.append(result)
            print(report(results[-1:]).splitlines()[-1], flush=True)
    print("\n" + report(results))
    failed = [r for r in results if not r.ok]
    print(f"\n{len(results) - len(failed)} of {len(results)} checks passed in "
          f"{time.perf_counter() - start:.0f} s" + (f"; {len(skipped)} models skipped "
                                                    "(no data)" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
