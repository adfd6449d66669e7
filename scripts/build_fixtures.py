"""Make the small test fixtures of ``data/`` from the registered upstream files.

* ``data/ethanol_sample.npz``: the first 50 configurations of BOTNet's
  ``dataset_ethanol/train.xyz`` (energies, forces, header info) with the isolated-atom
  energies of ``dataset_ethanol/isolated_atoms.xyz``;
* ``data/ean_sample.npz``: the first box (225 atoms) of NeuralIL's
  ``data_sets/EAN/validation_original.json``, with the per-atom residues of
  ``EAN_md_initial.gro``.

The upstream files are found by the normal resolver (``data/``, user cache,
``COMPANION_DATA_DIRS``, or a checksummed download), loaded with the sets' own loaders
(``load("ethanol")``, ``load("ean")``), cut, and written with
:func:`companion.data.sets.samples.write_records_npz` (byte-for-byte reproducible). Each
file records in its ``source`` which upstream files (with their sha256) and which records it
holds; their sha256 go into ``companion/data/registry.txt``. A final check loads every
fixture through :func:`companion.data.load` and compares it with the full set.

Usage::

    COMPANION_DATA_DIRS=../shared/data python scripts/build_fixtures.py [--out data]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from companion.data import DATASETS, LabeledDataset, load  # noqa: E402
from companion.data.resolve import checksum, sha256_file, update_checksums  # noqa: E402
from companion.data.sets import ean, ethanol, samples  # noqa: E402

N_ETHANOL = 50  # configurations of the ethanol fixture
SECTION = "test fixtures in data/ (scripts/build_fixtures.py)"


def _upstream(entry, *paths: str) -> str:
    """``repo@commit: path (sha256 ...), ...`` of the upstream files a fixture is cut from."""
    files = ", ".join(f"{p} (sha256 {checksum(entry.key(p))})" for p in paths)
    return f"{entry.repo}@{entry.commit}: {files}"


def build(out: Path) -> dict[str, str]:
    """Write both fixtures into ``out``; return file name -> sha256."""
    eth = load("ethanol", split="train").subset(np.arange(N_ETHANOL))
    eth.name = "ethanol_sample/train"
    eth_source = (f"records 0-{N_ETHANOL - 1} (ids ethanol/train:0-{N_ETHANOL - 1}) of "
                  + _upstream(ethanol.ENTRY, ethanol.FILES["train"], ethanol.ISOLATED))
    box = load("ean").subset([0])
    box.name = "ean_sample/validation"
    ean_source = ("record 0 (id validation:0, line 1) of "
                  + _upstream(ean.ENTRY, ean.VALIDATION, ean.GRO))
    sums = {}
    for ds, source, entry in ((eth, eth_source, samples.ETHANOL_SAMPLE),
                              (box, ean_source, samples.EAN_SAMPLE)):
        path = out / entry.files[0]
        samples.write_records_npz(path, ds, source=source)
        sums[path.name] = sha256_file(path)
        print(f"{path.name}: {len(ds)} records, {path.stat().st_size} bytes, "
              f"sha256 {sums[path.name]}\n  from {source}")
    return sums


def _same(a: LabeledDataset, b: LabeledDataset) -> None:
    """The fixture's records equal the full set's, field by field."""
    assert [r.id for r in a] == [r.id for r in b]
    assert a.atomic_energies == b.atomic_energies and dict(a.units) == dict(b.units)
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(ra.arrays(), rb.arrays(), strict=True):
            np.testing.assert_array_equal(x, y)
        assert ra.pbc == rb.pbc and dict(ra.targets) == dict(rb.targets)
        assert dict(ra.info) == dict(rb.info) and ra.labels.keys() == rb.labels.keys()
        for k in ra.labels:
            np.testing.assert_array_equal(ra.labels[k], rb.labels[k])
    for k in a.info:
        np.testing.assert_array_equal(a.info[k], b.info[k])


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "data", help="output folder")
    args = parser.parse_args(argv)
    sums = build(args.out)
    if args.out.resolve() == (REPO / "data").resolve():
        update_checksums(sums, SECTION)
        print("updated companion/data/registry.txt")
        _same(DATASETS["ethanol_sample"].load(),
              load("ethanol", split="train").subset(np.arange(N_ETHANOL)))
        _same(DATASETS["ean_sample"].load(), load("ean").subset([0]))
        print("checked: the fixtures load and equal the first records of the full sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
