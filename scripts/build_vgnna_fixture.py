"""Write tests/fixtures/vgnna_reference.npz from a run of scripts/vgnna_reference.py.

``scripts/vgnna_reference.py`` runs the VGNNA authors' code (hasson827/VGNNA @ 9c637f1, e3nn
0.5.0, torch 2.13.0+cpu, in a throwaway environment) with seeded random weights on the five
structures of ``tests/fixtures/kmvn_reference.npz``. This copies what
``tests/models/test_vgnna_reference.py`` needs (outputs [n_q, 3N] in 1000 cm^-1, the state
dict as float64 arrays ``state/<key>``, the attention block's input and output on one
structure, the provenance JSON), checks it, adds ``format_version`` (read with
:func:`companion.data.records.read_arrays`) and writes it compressed (no pickles). The
structures and q-points are not copied: the test reads them from the k-MVN fixture.

Usage: python scripts/build_vgnna_fixture.py [RUN_OUTPUT]   (default /tmp/vgnnaref/vgnna_out.npz)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "fixtures" / "vgnna_reference.npz"
FORMAT_VERSION = 1
MAX_BYTES = 1_500_000


def main() -> None:
    run = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/vgnnaref/vgnna_out.npz")
    with np.load(run, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    provenance = json.loads(str(arrays["provenance"]))
    kmvn = np.load(REPO / "tests/fixtures/kmvn_reference.npz", allow_pickle=False)
    for mp_id in provenance["ids"]:
        n_q, n_atoms = len(kmvn[f"{mp_id}/qpts"]), len(kmvn[f"{mp_id}/numbers"])
        shape = arrays[f"{mp_id}/output_raw"].shape
        if shape != (n_q, 3 * n_atoms):
            raise ValueError(f"{run}: {mp_id}/output_raw has shape {shape}, expected "
                             f"({n_q}, {3 * n_atoms}); rerun scripts/vgnna_reference.py")
    n_state = sum(v.size for k, v in arrays.items() if k.startswith("state/"))
    print(len(provenance["ids"]), "structures;", n_state, "state numbers;",
          provenance["num_params"], "parameters")
    provenance["fixture_made_by"] = "scripts/build_vgnna_fixture.py"
    arrays["provenance"] = np.array(json.dumps(provenance))
    arrays["format_version"] = np.array(FORMAT_VERSION)
    np.savez_compressed(OUT, **arrays)
    size = OUT.stat().st_size
    print(OUT, size, "bytes")
    if size > MAX_BYTES:
        raise ValueError(f"{OUT} is {size} bytes, over {MAX_BYTES}: store fewer arrays")


if __name__ == "__main__":
    main()
