"""Every course notebook runs top to bottom in FAST mode, and every solved exercise passes.

Each notebook under ``notebooks/`` (student versions and ``solutions/``, not
``.ipynb_checkpoints``) is executed with nbclient in a kernel that runs this interpreter
(a kernelspec written to a temporary folder, so the virtual environment's Python is used
whatever kernels are installed elsewhere), with ``COMPANION_FAST=1``. A solutions notebook
must also print the self-check's "correct" once for every ``check_...(`` call.

Works under pytest-xdist: each test starts its own kernel with its own connection files.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
CELL_TIMEOUT = 300  # s, per cell
CHECK_CALL = re.compile(r"\bch\d+\.check_\w+\(")

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def notebook_paths() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def kernel_manager(tmp_path: Path):
    """A KernelManager whose kernel is ``sys.executable -m ipykernel_launcher``."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    name = "companion-test-python"
    spec_dir = tmp_path / "kernels" / name
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
    }))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name=name, kernel_spec_manager=specs)


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "".join(parts)


def test_there_are_notebooks():
    assert (NOTEBOOKS / "01_crystals_as_graphs.ipynb").is_file()
    assert (NOTEBOOKS / "solutions" / "01_crystals_as_graphs_solutions.ipynb").is_file()


@pytest.mark.parametrize("path", notebook_paths(),
                         ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_notebook_runs_in_fast_mode(path, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    from companion.exercises import CORRECT, NOT_ANSWERED

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # stored clean: no outputs, no execution counts
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: stored with outputs: run `make notebooks`, which strips them")
    monkeypatch.setenv("COMPANION_FAST", "1")  # the kernel inherits the environment
    client = NotebookClient(nb, km=kernel_manager(tmp_path), timeout=CELL_TIMEOUT,
                            allow_errors=False, resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError with the traceback on the first error
    print(f"{path.relative_to(NOTEBOOKS)}: {time.perf_counter() - start:.1f} s (FAST)")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o["output_type"] == "error"]
    solutions = path.parent.name == "solutions"
    for cell in nb.cells:
        calls = len(CHECK_CALL.findall(cell.source)) if cell.cell_type == "code" else 0
        if not calls:
            continue
        text = output_text(cell)
        if solutions:
            assert text.count(CORRECT) == calls, (
                f"{path.name}: a solved exercise did not pass its self-check:\n"
                f"{cell.source}\n--- output ---\n{text}")
        else:  # the student version leaves every exercise open
            assert text.count(NOT_ANSWERED) == calls, (
                f"{path.name}: an exercise is not left open for the student:\n"
                f"{cell.source}\n--- output ---\n{text}")
