"""The stored notebooks are exactly what their generators (scripts/make_notebookNN.py) write,
so that a change to a generator cannot land without the notebooks, or the other way round."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
GENERATORS = sorted(SCRIPTS.glob("make_notebook*.py"))


def load_generator(path: Path):
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


def test_every_notebook_has_a_generator():
    stems = {load_generator(p).NB.name for p in GENERATORS}
    stored = {p.stem for p in (SCRIPTS.parent / "notebooks").glob("*.ipynb")}
    assert stored <= stems, f"notebooks without a generator: {sorted(stored - stems)}"


@pytest.mark.parametrize("path", GENERATORS, ids=lambda p: p.stem)
def test_stored_notebooks_match_their_generator(path):
    nb = load_generator(path).NB
    for stored, solutions in ((nb.student_path, False), (nb.solutions_path, True)):
        expected = nbformat.writes(nb.build(solutions))
        assert stored.read_text().rstrip("\n") == expected.rstrip("\n"), (
            f"{stored.name} differs from what {path.name} writes: run "
            f"`python scripts/{path.name}` and commit both")
