"""Build ``data/chgnet_phonons.npz``: CHGNet phonons, not DFT (a model-labelled training set).

Candidates: the shipped ``mp_eform``, ``mp_dielectric`` and ``mp_elastic`` crystals with at
most 10 atoms per cell, de-duplicated by material id, minus every material of the 69 DFPT
evaluation set (by mp id and by reduced formula); shuffled with seed 0, the first ``--limit``.
Each material is relaxed with CHGNet and its phonon bands computed with phonopy
(:func:`companion.data.teacher.teacher_phonons`). One ``.npz`` per finished material (and a
``.json`` per failure) goes to ``--work``; rerunning skips them. ``--pack`` (also run at the
end) writes the data file and its sha256 into ``companion/data/registry.txt``.

``--dfpt`` runs the pipeline on the 69 ``mp_phonons`` cells at each record's own q-points and
packs ``data/chgnet_phonons_dfpt69.npz`` (needs ``COMPANION_DATA_DIRS``); ``--report`` prints
the teacher's error against DFPT.

Usage:
    nice -n 10 python scripts/build_phonon_teacher.py --workers 2 --limit 1300
    nice -n 10 python scripts/build_phonon_teacher.py --dfpt --workers 2
    python scripts/build_phonon_teacher.py --pack [--dfpt]
    python scripts/build_phonon_teacher.py --report
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DESCRIPTION = ("CHGNet phonons, not DFT: phonon band structures labelled by the universal "
               "potential CHGNet 0.4.2 (relaxation + phonopy finite displacements) for "
               "crystals of the shipped Materials Project sets (<= 10 atoms), excluding the "
               "69 DFPT evaluation materials. Model labels, not DFT.")
FORMAT_VERSION = 1
_MODEL: Any = None


def _init_worker() -> None:
    """Worker initializer: one torch thread, the CHGNet model loaded once."""
    global _MODEL
    import torch

    torch.set_num_threads(1)
    from companion.data.teacher import load_model

    _MODEL = load_model()


def _reduced_formula(numbers: np.ndarray | str) -> str:
    from pymatgen.core import Composition, Element

    if isinstance(numbers, str):
        return Composition(numbers).reduced_formula
    counts: dict[str, float] = {}
    for z in numbers:
        sym = Element.from_Z(int(z)).symbol
        counts[sym] = counts.get(sym, 0.0) + 1.0
    return Composition(counts).reduced_formula


def candidates(limit: int, max_atoms: int = 10) -> list[dict[str, Any]]:
    """The shuffled (seed 0) candidate list: id, source set, formula, z, pos, cell."""
    from companion.data import load
    from companion.data.sets.mp_phonons import STEMS

    held_ids = {"-".join(s.split("-")[:2]) for s in STEMS}
    held_formulas = {_reduced_formula(s.split("-", 2)[2]) for s in STEMS}
    seen: set[str] = set()
    out = []
    for name in ("mp_eform", "mp_dielectric", "mp_elastic"):
        ds = load(name)
        for i in range(len(ds)):
            mid = str(ds.material_ids[i])
            if mid in seen or mid in held_ids or int(ds.n_atoms[i]) > max_atoms:
                continue
            z, pos, cell = ds.arrays(i)
            formula = _reduced_formula(z)
            if formula in held_formulas:
                continue
            seen.add(mid)
            out.append({"id": mid, "source_set": name, "formula": formula, "numbers": z,
                        "positions": pos, "cell": cell, "qpoints": None})
    order = np.random.default_rng(0).permutation(len(out))
    return [out[k] for k in order[:limit]]


def dfpt_candidates() -> list[dict[str, Any]]:
    """The 69 ``mp_phonons`` cells with their own DFPT q-points, smallest cells first (so
    that a run stopped early has covered as many cells as its time allowed)."""
    from companion.data import load

    records = sorted(load("mp_phonons"), key=lambda r: r.n_atoms)  # stable: id order within
    return [{"id": r.id, "source_set": "mp_phonons", "formula": _reduced_formula(r.numbers),
             "numbers": r.numbers, "positions": r.positions, "cell": r.cell,
             "qpoints": np.asarray(r.labels["qpoints"])} for r in records]


def _run_one(task: tuple[dict[str, Any], str, float]) -> tuple[str, str, float]:
    """Run one material; write ``done/<id>.npz`` or ``failed/<id>.json``."""
    cand, work, qdist = task
    from companion.data.teacher import teacher_phonons

    t0 = time.perf_counter()
    work_dir = Path(work)
    try:
        res = teacher_phonons(cand["numbers"], cand["positions"], cand["cell"], model=_MODEL,
                              qpoints=cand["qpoints"], qpoint_distance=qdist)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded with its reason
        (work_dir / "failed" / f"{cand['id']}.json").write_text(json.dumps({
            "id": cand["id"], "formula": cand["formula"], "source_set": cand["source_set"],
            "reason": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - t0,
            "traceback": traceback.format_exc(limit=3)}))
        return cand["id"], f"FAILED {type(exc).__name__}: {exc}"[:160], time.perf_counter() - t0
    arrays = {k: np.asarray(v) for k, v in res.items()}
    arrays.update(id=np.array(cand["id"]), source_set=np.array(cand["source_set"]),
                  formula=np.array(cand["formula"]))
    tmp = work_dir / "done" / f"{cand['id']}.part.npz"
    np.savez(tmp, **arrays)
    tmp.replace(work_dir / "done" / f"{cand['id']}.npz")
    msg = (f"n={len(res['numbers'])} sc={res['supercell'].tolist()} "
           f"steps={res['relax_steps']}{'' if res['relax_converged'] else '(!)'} "
           f"nq={len(res['qpoints'])} wmin={res['min_frequency']:.2f}")
    return cand["id"], msg, res["seconds"]


def build(cands: list[dict[str, Any]], work: Path, workers: int, qdist: float) -> None:
    """Run every candidate not yet done or failed in ``work``, with progress lines."""
    for sub in ("done", "failed"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    finished = {p.name.split(".")[0] for p in (work / "done").glob("*.npz")}
    finished |= {p.stem for p in (work / "failed").glob("*.json")}
    todo = [c for c in cands if c["id"] not in finished]
    print(f"{len(cands)} candidates, {len(cands) - len(todo)} already finished, "
          f"{len(todo)} to run with {workers} workers", flush=True)
    tasks = [(c, str(work), qdist) for c in todo]
    t0 = time.time()
    if workers <= 1:
        _init_worker()
        results = map(_run_one, tasks)
    else:
        import multiprocessing as mp

        pool = mp.get_context("spawn").Pool(workers, initializer=_init_worker)
        results = pool.imap_unordered(_run_one, tasks)
    for k, (mid, msg, sec) in enumerate(results, 1):
        el = time.time() - t0
        eta = el / k * (len(todo) - k)
        print(f"[{k}/{len(todo)}] {mid} {sec:.1f}s {msg} | elapsed {el / 60:.1f} min, "
              f"eta {eta / 60:.1f} min", flush=True)


def unpack(packed: Path, work: Path) -> int:
    """Write every material of a packed file back as ``work/done/<id>.npz`` (those not
    there yet), so that a build on a fresh machine continues from a shipped file instead of
    starting over. Returns the number written."""
    from companion.data.records import read_arrays

    a = read_arrays(packed, FORMAT_VERSION)
    (work / "done").mkdir(parents=True, exist_ok=True)
    written = 0
    for i, mid in enumerate(a["id"].tolist()):
        dest = work / "done" / f"{mid}.npz"
        if dest.is_file():
            continue
        s = slice(int(a["offsets"][i]), int(a["offsets"][i + 1]))
        qs = slice(int(a["q_offsets"][i]), int(a["q_offsets"][i + 1]))
        fs = slice(int(a["f_offsets"][i]), int(a["f_offsets"][i + 1]))
        n_q = qs.stop - qs.start
        np.savez(dest, numbers=a["numbers"][s].astype(np.int64), positions=a["positions"][s],
                 cell=a["cell"][i], energy=a["energy"][i],
                 relax_steps=a["relax_steps"][i], relax_converged=a["relax_converged"][i],
                 supercell=a["supercell"][i], qpoints=a["qpoints"][qs],
                 qpoint_labels=a["qpoint_labels"][qs],
                 frequencies=a["frequencies"][fs].astype(np.float64).reshape(n_q, -1),
                 min_frequency=a["min_frequency"][i], imaginary=a["imaginary"][i],
                 seconds=a["seconds"][i], id=np.array(mid),
                 source_set=np.array(a["source_set"][i]), formula=np.array(a["formula"][i]))
        written += 1
    return written


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    return {p: md.version(p) for p in ("chgnet", "phonopy", "seekpath", "spglib", "ase",
                                       "torch", "numpy", "pymatgen")}


def pack(cands: list[dict[str, Any]], work: Path, out: Path, qdist: float,
         command: str) -> None:
    """Concatenate the finished materials (candidate order) into one npz without pickles."""
    from companion.data.records import SPLIT_NAMES
    from companion.data.teacher import SETTINGS

    rows = []
    for c in cands:
        p = work / "done" / f"{c['id']}.npz"
        if p.is_file():
            with np.load(p, allow_pickle=False) as f:
                row = {k: f[k] for k in f.files}
            shape = (len(row["qpoints"]), 3 * len(row["numbers"]))
            if row["frequencies"].shape != shape:  # never pack bands of another cell
                raise SystemExit(f"{p}: frequencies {row['frequencies'].shape}, expected "
                                 f"{shape} [n_q, 3n]; delete the file and rerun the build")
            rows.append(row)
    failed = [json.loads(p.read_text()) for p in sorted((work / "failed").glob("*.json"))
              if p.stem in {c["id"] for c in cands}]
    if not rows:
        raise SystemExit(f"nothing finished in {work}/done")
    n = len(rows)
    n_at = np.array([len(r["numbers"]) for r in rows], dtype=np.int64)
    n_q = np.array([len(r["qpoints"]) for r in rows], dtype=np.int64)
    imag = np.array([bool(r["imaginary"]) for r in rows])
    # split over non-imaginary materials: 90/10 train/val, seeded permutation (seed 0)
    split = np.full(n, -1, dtype=np.int8)  # -1 = flagged imaginary, in no split
    ok = np.flatnonzero(~imag)
    perm = ok[np.random.default_rng(0).permutation(len(ok))]
    n_val = int(round(0.1 * len(ok)))
    split[perm[n_val:]] = SPLIT_NAMES.index("train")
    split[perm[:n_val]] = SPLIT_NAMES.index("val")
    meta = {"versions": _versions(), "settings": {**SETTINGS, "qpoint_reference_distance":
                                                  qdist, "split": "90/10 train/val, seed 0, "
                                                  "non-imaginary only", "max_atoms": 10},
            "command": command, "date": datetime.datetime.now(datetime.UTC).isoformat(),
            "n_candidates": len(cands), "n_failed": len(failed),
            "failures": {f["id"]: f["reason"][:200] for f in failed}}
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "description": np.array(DESCRIPTION),
        "metadata_json": np.array(json.dumps(meta, sort_keys=True)),
        "id": np.array([str(r["id"]) for r in rows]),
        "source_set": np.array([str(r["source_set"]) for r in rows]),
        "formula": np.array([str(r["formula"]) for r in rows]),
        "n_atoms": n_at,
        "offsets": np.concatenate([[0], np.cumsum(n_at)]).astype(np.int64),
        "numbers": np.concatenate([r["numbers"] for r in rows]).astype(np.uint8),
        "positions": np.concatenate([r["positions"] for r in rows]).astype(np.float64),
        "cell": np.stack([r["cell"] for r in rows]).astype(np.float64),
        "supercell": np.stack([r["supercell"] for r in rows]).astype(np.int64),
        "q_offsets": np.concatenate([[0], np.cumsum(n_q)]).astype(np.int64),
        "qpoints": np.concatenate([r["qpoints"] for r in rows]).astype(np.float64),
        "qpoint_labels": np.concatenate([r["qpoint_labels"].astype(str) for r in rows]),
        "f_offsets": np.concatenate([[0], np.cumsum(n_q * 3 * n_at)]).astype(np.int64),
        # float32 (7 digits) keeps the file small; the loader returns float64
        "frequencies": np.concatenate([r["frequencies"].ravel() for r in rows]).astype(
            np.float32),
        "imaginary": imag,
        "min_frequency": np.array([float(r["min_frequency"]) for r in rows]),
        "relax_steps": np.array([int(r["relax_steps"]) for r in rows], dtype=np.int64),
        "relax_converged": np.array([bool(r["relax_converged"]) for r in rows]),
        "energy": np.array([float(r["energy"]) for r in rows]),
        "seconds": np.array([float(r["seconds"]) for r in rows]),
        "split": split,
        "split_seed": np.array(0, dtype=np.int64),
    }
    assert not any(a.dtype.hasobject for a in arrays.values())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    if out.resolve().parent == (ROOT / "data").resolve():  # only files shipped in data/
        _register(out.name, digest)
    sec = arrays["seconds"]
    print(f"wrote {out}: {n} materials ({imag.sum()} imaginary, {len(failed)} failed), "
          f"{out.stat().st_size / 1e6:.1f} MB, sha256 {digest}; seconds/material "
          f"mean {sec.mean():.1f} median {np.median(sec):.1f}", flush=True)


def _register(name: str, digest: str) -> None:
    """Write/replace the ``<sha256>  <name>`` line of ``companion/data/registry.txt``."""
    reg = ROOT / "companion" / "data" / "registry.txt"
    lines = reg.read_text().splitlines()
    header = "# CHGNet phonons, not DFT (scripts/build_phonon_teacher.py)"
    lines = [ln for ln in lines if not ln.endswith(f"  {name}")]
    if header not in lines:
        lines += ["", header]
    lines.insert(lines.index(header) + 1, f"{digest}  {name}")
    reg.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=1300)
    ap.add_argument("--work", type=Path, default=Path("/work/teacher-work"))
    ap.add_argument("--qpoint-distance", type=float, default=0.05)
    ap.add_argument("--dfpt", action="store_true", help="the 69 mp_phonons cells instead")
    ap.add_argument("--pack", action="store_true", help="only pack what is finished")
    ap.add_argument("--report", action="store_true", help="teacher error against DFPT")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--from-pack", action="store_true",
                    help="first unpack the shipped file (data/chgnet_phonons*.npz) into the "
                    "work folder: continue a build on a fresh machine")
    args = ap.parse_args(argv)
    if args.report:
        from companion.data.teacher import format_report, teacher_error

        print(format_report(*teacher_error()))
        return
    work = args.work / ("dfpt69" if args.dfpt else "train")
    out = args.out or ROOT / "data" / ("chgnet_phonons_dfpt69.npz" if args.dfpt
                                       else "chgnet_phonons.npz")
    cands = dfpt_candidates() if args.dfpt else candidates(args.limit)
    command = "python scripts/build_phonon_teacher.py " + " ".join(sys.argv[1:])
    if args.from_pack:
        print(f"{unpack(out, work)} materials unpacked from {out}", flush=True)
    if not args.pack:
        build(cands, work, args.workers, args.qpoint_distance)
    pack(cands, work, out, args.qpoint_distance, command)


if __name__ == "__main__":
    main()
