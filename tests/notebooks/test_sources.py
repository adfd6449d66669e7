"""Notebooks are derived from their sources ``notebooks/src/*.py`` by ``scripts/notebooks.py``.

The stored notebooks are exactly what the derivation writes; an edit made in JupyterLab (in
the paired solutions notebook) or in the source reaches both notebooks; a hand-edited student
notebook is never overwritten; cell ids do not depend on position.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.paired_paths import paired_paths

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted((REPO / "notebooks" / "src").glob("*.py"))
FIX = ("run `make notebooks` (python scripts/notebooks.py) and commit the result; it does not "
       "lose edits: a solutions notebook saved in JupyterLab is synced into its source first, "
       "and a student notebook edited by hand is refused, not overwritten")


def load_script():
    spec = importlib.util.spec_from_file_location("notebooks_script",
                                                  REPO / "scripts" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nbs = load_script()


@pytest.fixture
def copy(tmp_path, monkeypatch):
    """A copy of notebooks/ under tmp_path, with the script pointed at it."""
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    monkeypatch.setattr(nbs, "REPO", tmp_path)
    monkeypatch.setattr(nbs, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(nbs, "SOURCES", tmp_path / "notebooks" / "src")
    return tmp_path / "notebooks"


def test_every_notebook_has_a_source():
    stems = {p.stem for p in SOURCES}
    assert len(stems) >= 4
    stored = {p.stem for p in (REPO / "notebooks").glob("*.ipynb")}
    stored |= {p.stem.removesuffix("_solutions")
               for p in (REPO / "notebooks" / "solutions").glob("*.ipynb")}
    assert stored == stems, f"notebooks without a source in notebooks/src: {stored - stems}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_stored_notebooks_are_derived_from_their_source(source):
    for path, text in zip(nbs.paths(source), nbs.derive(source), strict=True):
        assert path.is_file() and path.read_text() == text, (
            f"{path.relative_to(REPO)} is not what {source.relative_to(REPO)} derives: {FIX}")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_source_is_paired_and_in_jupytext_form(source):
    """Syncing the pair back does not rewrite the source, and jupytext finds the pair."""
    nb = jupytext.read(source)
    assert jupytext.writes(nb, fmt="py:percent") == source.read_text(), (
        f"{source.relative_to(REPO)} is not in jupytext's percent form: {FIX}")
    formats = nb.metadata["jupytext"]["formats"]
    paired = {Path(p) for p, _ in paired_paths(str(source), "src//py:percent", formats)}
    assert paired == {source, nbs.paths(source)[1]}


def test_student_version_of_a_cell():
    text = ("x = 1\n"
            "    # BEGIN SOLUTION\n    y = 2\n\n    # END SOLUTION\n"
            "    # BEGIN STUDENT\n    # y = None  # your answer\n    #\n    # # hint\n"
            "    # END STUDENT\n"
            "check(y)")
    expected = "x = 1\n    y = None  # your answer\n\n    # hint\ncheck(y)"
    assert nbs.student_source(text, "cell") == expected
    for broken in ("# BEGIN SOLUTION\ny = 2", "# END SOLUTION",
                   "# BEGIN SOLUTION\n# BEGIN STUDENT\n# END STUDENT\n# END SOLUTION",
                   "# BEGIN STUDENT\ny = None\n# END STUDENT"):
        with pytest.raises(nbs.NotebookError, match="cell"):
            nbs.student_source(broken, "cell")


def test_cell_ids_are_stable_when_a_cell_is_inserted(copy):
    source = copy / "src" / "02_cgcnn.py"
    before = [nbformat.reads(t, 4) for t in nbs.derive(source)]
    nb = jupytext.read(source)
    nb.cells.insert(5, nbformat.v4.new_code_cell("print('a new cell')"))
    nb.cells.insert(9, nbformat.v4.new_markdown_cell("A new paragraph."))
    jupytext.write(nb, source, fmt="py:percent")
    for old, new in zip(before, (nbformat.reads(t, 4) for t in nbs.derive(source)), strict=True):
        ids = [c.id for c in new.cells]
        del ids[9], ids[5]
        assert ids == [c.id for c in old.cells]
        assert len(set(c.id for c in new.cells)) == len(new.cells)
    student, solutions = (nbformat.reads(t, 4) for t in nbs.derive(source))
    assert [c.id for c in student.cells] == [c.id for c in solutions.cells]


def test_an_edit_saved_in_jupyterlab_reaches_the_source_and_the_student_notebook(copy):
    """JupyterLab with jupytext (make lab) writes the source on save; make notebooks syncs."""
    from jupytext import TextFileContentsManager

    source = copy / "src" / "02_cgcnn.py"
    student, solutions = nbs.paths(source)
    cm = TextFileContentsManager(root_dir=str(copy))
    model = cm.get("solutions/02_cgcnn_solutions.ipynb")
    model["content"].cells[2].source += "\n\nAn instructor's edit."
    cm.save(model, "solutions/02_cgcnn_solutions.ipynb")
    assert "# An instructor's edit." in source.read_text()
    nbs.update(source)
    assert "An instructor's edit." in nbformat.read(student, 4).cells[2].source
    assert [p.read_text() for p in (student, solutions)] == list(nbs.derive(source))


def test_a_newer_solutions_notebook_is_synced_into_the_source_first(copy):
    """Saved without jupytext (or edited otherwise): the newer file of the pair wins."""
    source = copy / "src" / "03_alignn.py"
    student, solutions = nbs.paths(source)
    original = source.read_text()
    nb = nbformat.read(solutions, 4)
    nb.cells[-1].source += "\n\nEdited in the notebook."
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.2", "mimetype":
                                    "text/x-python", "codemirror_mode": {"name": "ipython"}}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells[1].metadata["scrolled"] = True
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="an output\n")]
    nb.cells[1].execution_count = 3
    nbformat.write(nb, solutions)
    later = source.stat().st_mtime + 10
    os.utime(solutions, (later, later))
    nbs.update(source)
    assert source.read_text() == original + "#\n# Edited in the notebook.\n"
    assert "Edited in the notebook." in nbformat.read(student, 4).cells[-1].source
    stored = nbformat.read(solutions, 4)
    assert stored.cells[1].outputs == [] and stored.cells[1].execution_count is None
    assert solutions.read_text() == nbs.derive(source)[1]


def test_a_hand_edited_student_notebook_is_not_overwritten(copy):
    source = copy / "src" / "01_crystals_as_graphs.py"
    student, _ = nbs.paths(source)
    nb = nbformat.read(student, 4)
    nb.cells[0].source += "\n\nA note for this year's students."
    nbformat.write(nb, student)
    edited = student.read_text()
    with pytest.raises(nbs.NotebookError, match="edited by hand.*notebooks/src/01_crystals"):
        nbs.update(source)
    assert student.read_text() == edited
    assert nbs.main(["01_crystals_as_graphs"]) == 1
    nbs.update(source, force=True)
    assert student.read_text() == nbs.derive(source)[0]


def test_a_student_notebook_that_was_only_run_is_cleaned(copy):
    """Outputs are not edits: the notebook is rewritten without them."""
    source = copy / "src" / "04_attention_potentials.py"
    student, _ = nbs.paths(source)
    nb = nbformat.read(student, 4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="FAST mode: True\n")]
    nb.cells[1].execution_count = 1
    nbformat.write(nb, student)
    assert nbs.update(source) == [str(student.relative_to(copy.parent))]
    assert student.read_text() == nbs.derive(source)[0]
