"""Write tests/fixtures/kmvn_reference.npz from the reference run of the authors' k-MVN code.

The reference run (``shared/reference/kmvn``: ``run_ref.py`` with the authors' repository
RyotaroOKabe/phonon_prediction @ 78815766ac9b5719c198c5fdf965c1449343bf84, e3nn 0.5.0,
torch 2.13.0+cpu, torch-geometric 2.8.1, ase 3.29.0, seekpath 2.2.2, a stand-in
``torch_scatter`` calling PyG's ``scatter``; float64, CPU) evaluated their pretrained
``kmvn_241026-182158`` on the five CIFs of their ``cif_folder``. This keeps, per structure,
what the reproduction test needs: the structure (as the authors' code read it with ase),
the q-points it was fed (their q-path helper's, which are not seekpath's correct path for
most cells: trap 1 of the issue) and the frequencies in the model's unit (1000 cm^-1).

Part 2 (``dfpt/...`` keys): the same authors' code run by scripts/kmvn_reference_dfpt.py on
six Materials Project DFPT materials at their DFPT q-points (e3nn 0.5.0; command and versions
stored under ``dfpt/provenance``).

Usage: python scripts/build_kmvn_fixture.py [REFERENCE_DIR [DFPT_DIR]]
       (defaults ../shared/reference/kmvn and /tmp/kmvnref, which holds dfpt_inputs.npz and
       dfpt_out.npz)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "fixtures" / "kmvn_reference.npz"


def main() -> None:
    ref = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared/reference/kmvn"
    summary = json.loads((ref / "out/summary.json").read_text())
    arrays: dict[str, np.ndarray] = {}
    ids = [s["id"] for s in summary["structures"]]
    for mp_id in ids:
        r = np.load(ref / "out" / f"{mp_id}.npz")
        for key in ("numbers", "positions", "cell", "qpts", "output_raw"):
            arrays[f"{mp_id}/{key}"] = r[key]
    provenance = {
        "made_by": "scripts/build_kmvn_fixture.py from shared/reference/kmvn/out",
        "reference_command": "PYTHONPATH=./shim python run_ref.py --src ./src --out ./out",
        "authors_repository": "RyotaroOKabe/phonon_prediction@"
                              "78815766ac9b5719c198c5fdf965c1449343bf84",
        "model": summary["model"], "python": summary["python"],
        "versions": summary["versions"], "ids": ids,
        "units": {"output_raw": "1000 cm^-1", "qpts": "reduced, input cell",
                  "positions": "Å", "cell": "Å, rows"},
    }
    arrays["provenance"] = np.array(json.dumps(provenance))
    dfpt = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/kmvnref")
    inputs, outputs = np.load(dfpt / "dfpt_inputs.npz"), np.load(dfpt / "dfpt_out.npz")
    meta = json.loads(str(outputs["meta"]))
    for mp_id in meta["ids"]:
        for key in ("numbers", "positions", "cell", "qpts"):
            arrays[f"dfpt/{mp_id}/{key}"] = inputs[f"{mp_id}/{key}"]
        arrays[f"dfpt/{mp_id}/output_raw"] = outputs[f"{mp_id}/output_raw"]
    meta["made_by"] = "scripts/kmvn_reference_dfpt.py (export, then run with e3nn 0.5.0)"
    meta["authors_repository"] = provenance["authors_repository"]
    arrays["dfpt/provenance"] = np.array(json.dumps(meta))
    np.savez_compressed(OUT, **arrays)
    print(OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
