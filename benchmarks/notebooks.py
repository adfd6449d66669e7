"""Run each course notebook in its default (non-FAST) mode; print wall time and peak memory.

    python benchmarks/notebooks.py                  # every notebook under notebooks/
    python benchmarks/notebooks.py 01               # those whose path contains "01"
    python benchmarks/notebooks.py --cores 2        # pin the kernel to 2 CPU cores (default)
    python benchmarks/notebooks.py 02 --save out/   # also keep the executed notebook

Each notebook runs in a fresh kernel of this interpreter (``sys.executable -m
ipykernel_launcher``), with ``COMPANION_FAST`` removed from the environment. Measured:

- wall time: kernel start to the end of the last cell;
- peak memory: the largest resident set size (RSS) of the kernel plus all its child
  processes, summed, sampled every 50 ms with psutil; and, as a floor that sampling cannot
  miss, the kernel's own ``ru_maxrss`` read at the end (in a cell appended to a copy).

Budgets come from DESIGN.md (every notebook: 5 minutes, 2 GB on 2 CPU cores) and are
tighter where a notebook's issue says so (:data:`BUDGETS`). Exit status 1 if a notebook
fails or exceeds its budget. The notebooks are not modified.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"

DEFAULT_BUDGET = (300.0, 2.0)  # (seconds, GB)
BUDGETS = {  # notebook name prefix -> (seconds, GB)
    "01_crystals_as_graphs": (120.0, 2.0),
    "02_cgcnn": (300.0, 2.0),  # solutions too: "02_cgcnn_solutions" starts with it
    "03_alignn": (300.0, 2.0),  # and "03_alignn_solutions"
    "06_phonons": (300.0, 2.0),  # both halves of chapter 6 (issue 12): 5 minutes, 2 GB
    "04_attention_potentials": (300.0, 2.0),
}
GB = 1024**3
PEAK_MARK = "__companion_peak_rss_kb__"
PEAK_CELL = ("import resource\n"
             f"print('{PEAK_MARK}', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


@dataclass
class Result:
    path: Path
    seconds: float
    peak_bytes: int
    error: str | None
    budget: tuple[float, float]

    @property
    def ok(self) -> bool:
        return (self.error is None and self.seconds <= self.budget[0]
                and self.peak_bytes <= self.budget[1] * GB)


def budget_of(path: Path) -> tuple[float, float]:
    for prefix, budget in BUDGETS.items():
        if path.stem.startswith(prefix):
            return budget
    return DEFAULT_BUDGET


class TreeRssSampler(threading.Thread):
    """Samples the summed RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self._done = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._done.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, total)
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def kernel_manager(spec_root: Path):
    """A KernelManager running ``sys.executable -m ipykernel_launcher``."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    name = "companion-benchmark-python"
    (spec_root / name).mkdir(parents=True, exist_ok=True)
    (spec_root / name / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (benchmark)", "language": "python"}))
    return KernelManager(kernel_name=name,
                         kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_root)]))


def run_notebook(path: Path, cell_timeout: float, save: Path | None = None) -> Result:
    """Execute a copy of ``path`` in default mode and measure it; with ``save``, write the
    executed copy (outputs included) into that folder."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    with tempfile.TemporaryDirectory() as tmp:
        km = kernel_manager(Path(tmp))
        client = NotebookClient(nb, km=km, timeout=cell_timeout,
                                resources={"metadata": {"path": str(path.parent)}})
        error, sampler = None, None
        start = end = time.perf_counter()
        try:
            with client.setup_kernel():
                sampler = TreeRssSampler(km.provisioner.pid)
                sampler.start()
                try:
                    for index, cell in enumerate(nb.cells):
                        client.execute_cell(cell, index)
                finally:
                    end = time.perf_counter()
        except CellExecutionError as exc:
            error = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        except Exception as exc:  # timeouts, dead kernels: report, go on with the next one
            error = f"{type(exc).__name__}: {exc}"
        seconds = end - start
        polled = sampler.stop() if sampler is not None else 0
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / path.name)
    self_peak = 0
    for out in nb.cells[-1].get("outputs", []):
        if out.get("output_type") == "stream" and PEAK_MARK in out["text"]:
            self_peak = int(out["text"].split(PEAK_MARK)[1].split()[0]) * 1024  # kB -> B
    return Result(path, seconds, max(polled, self_peak), error, budget_of(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="run notebooks whose path contains one")
    parser.add_argument("--cores", type=int, default=2,
                        help="CPU cores for the kernel (0: no pinning); default 2, as Binder")
    parser.add_argument("--cell-timeout", type=float, default=600.0, help="seconds per cell")
    parser.add_argument("--save", type=Path, default=None,
                        help="folder for the executed notebooks, with their outputs")
    args = parser.parse_args(argv)

    paths = sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if args.patterns:
        paths = [p for p in paths if any(s in str(p.relative_to(NOTEBOOKS)) for s in
                                         args.patterns)]
    if not paths:
        print("no notebook matches", file=sys.stderr)
        return 2
    os.environ.pop("COMPANION_FAST", None)  # default mode; the kernels inherit this
    if args.cores and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[: args.cores]
        os.sched_setaffinity(0, cores)  # inherited by the kernels started from here
        print(f"kernels pinned to CPU cores {cores}")
    print(f"{'notebook':58s} {'wall (s)':>9s} {'budget':>7s} {'peak (GB)':>10s} "
          f"{'budget':>7s}  status")
    failed = False
    for path in paths:
        r = run_notebook(path, args.cell_timeout, args.save)
        status = "ok" if r.ok else ("ERROR: " + r.error if r.error else "OVER BUDGET")
        failed |= not r.ok
        print(f"{str(path.relative_to(NOTEBOOKS)):58s} {r.seconds:9.1f} {r.budget[0]:7.0f} "
              f"{r.peak_bytes / GB:10.2f} {r.budget[1]:7.1f}  {status}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
