"""Time loading the shipped data sets (budget: well under 0.5 s for mp_eform).

Measures, for each shipped set, ``load(name)`` + ``len`` + every target array:

* cold: a fresh Python process, timed from before ``import companion.data`` (so numpy's
  import, the sha256 check and the decompression are all included; interpreter start-up
  is not), median of several runs;
* warm: repeated loads in one process (the checksum is memoized per file).

Usage::

    python benchmarks/data_load.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_S = 0.5
_COLD = """
import time
t0 = time.perf_counter()
from companion.data import load
ds = load({name!r})
n = len(ds)
ys = [ds.target(t) for t in ds.target_names]
print(time.perf_counter() - t0)
"""


def cold(name: str, repeat: int) -> list[float]:
    """Seconds per cold load, one fresh interpreter each."""
    out = []
    for _ in range(repeat):
        res = subprocess.run([sys.executable, "-c", _COLD.format(name=name)], cwd=REPO,
                             check=True, capture_output=True, text=True)
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return out


def warm(name: str, repeat: int) -> list[float]:
    """Seconds per load within this process."""
    from companion.data import load

    load(name)  # imports and first hash
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ds = load(name)
        _ = len(ds), [ds.target(t) for t in ds.target_names]
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    """Print a table of median load times; exit 1 if mp_eform misses the budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from companion.data.shipped import SHIPPED, load_shipped

    print(f"{'data set':15s} {'records':>8s} {'cold (s)':>9s} {'warm (s)':>9s}")
    ok = True
    for name in SHIPPED:
        c = statistics.median(cold(name, args.repeat))
        w = statistics.median(warm(name, args.repeat))
        print(f"{name:15s} {len(load_shipped(name)):8d} {c:9.3f} {w:9.3f}")
        if name == "mp_eform":
            ok = c < BUDGET_S
    print(f"budget: mp_eform cold load < {BUDGET_S} s -> {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
