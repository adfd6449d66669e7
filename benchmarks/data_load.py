"""Time loading the shipped data sets (budget: well under 0.5 s for mp_eform).

Measures, for each shipped set, ``load(name)`` + ``len`` + every target array:

* cold: a fresh Python process, timed from before ``import companion.data`` (so numpy's
  import, the sha256 check and the decompression are all included; interpreter start-up
  is not), median of several runs;
* warm: repeated loads in one process (the checksum is memoized per file).

``--external`` instead times one ``load(name)`` of every other registered set (the external
sets, with their default arguments, and the fixtures of ``data/``) in this process; the
files are resolved as usual (``data/``, the user cache, ``COMPANION_DATA_DIRS``); a file
that is not local yet is downloaded first, and that time is included.

Usage::

    python benchmarks/data_load.py [--repeat 5]
    COMPANION_DATA_DIRS=../shared/data python benchmarks/data_load.py --external
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


def external() -> int:
    """Print the time of one load of every registered set that is not shipped."""
    from companion.data import DATASETS
    from companion.data.shipped import SHIPPED

    print(f"{'data set':22s} {'records':>8s} {'load (s)':>9s}")
    for name, entry in DATASETS.items():
        if name in SHIPPED or entry.provenance_only:
            continue
        t0 = time.perf_counter()
        ds = entry.load()
        print(f"{name:22s} {len(ds):8d} {time.perf_counter() - t0:9.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Print a table of median load times; exit 1 if mp_eform misses the budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--external", action="store_true",
                        help="time every external set and fixture instead")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.external:
        return external()
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
