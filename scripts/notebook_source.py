"""The shared part of the notebook generators ``scripts/make_notebookNN.py``.

A generator holds a notebook's source as Python, so that it can be reviewed and diffed. It
creates one :class:`NotebookSource`, appends cells with ``md(...)`` (markdown), ``code(...)``
and ``exercise(student, solution)``, and calls :meth:`NotebookSource.main`. An exercise cell
holds the student's placeholder in ``notebooks/`` and the worked answer in
``notebooks/solutions/``; both end with the same self-check call.

Both notebooks are written without outputs and with ``execution_count`` null; cell ids are
deterministic, so regenerating an unchanged notebook changes nothing (``tests/
test_notebook_sources.py`` checks that the stored notebooks are what the generators write).
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"


class NotebookSource:
    """The cells of one notebook, in its student and solutions versions.

    Args:
        name: file stem of the student notebook, e.g. ``"02_cgcnn"``; the solutions are
            ``notebooks/solutions/<name>_solutions.ipynb``.
        title: the first line of the first cell (``"# 02 · ..."``); the solutions version
            appends " (solutions)" to it.
    """

    def __init__(self, name: str, title: str) -> None:
        self.name, self.title = name, title
        self.student_path = NOTEBOOKS / f"{name}.ipynb"
        self.solutions_path = NOTEBOOKS / "solutions" / f"{name}_solutions.ipynb"
        self.cells: list[tuple[str, str, str]] = []  # (kind, student source, solution source)

    def md(self, text: str) -> None:
        """Append a markdown cell."""
        text = textwrap.dedent(text).strip()
        self.cells.append(("markdown", text, text))

    def code(self, src: str) -> None:
        """Append a code cell, the same in both notebooks."""
        src = textwrap.dedent(src).strip()
        self.cells.append(("code", src, src))

    def exercise(self, student: str, solution: str) -> None:
        """Append an exercise cell: the placeholder for students, the answer for solutions."""
        self.cells.append(("code", textwrap.dedent(student).strip(),
                           textwrap.dedent(solution).strip()))

    def build(self, solutions: bool) -> nbformat.NotebookNode:
        """The notebook (student or solutions version), without outputs."""
        nb = nbformat.v4.new_notebook()
        nb.metadata = {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                           "name": "python3"},
            "language_info": {"name": "python", "version": "3.11"},
        }
        prefix = f"nb{self.name[:2]}"
        for n, (kind, student, solution) in enumerate(self.cells):
            source = solution if solutions else student
            if solutions and n == 0:
                source = source.replace(self.title, self.title + " (solutions)", 1)
            if kind == "markdown":
                cell = nbformat.v4.new_markdown_cell(source)
            else:
                cell = nbformat.v4.new_code_cell(source)
                cell.execution_count = None
                cell.outputs = []
            cell.id = f"{prefix}-{n:03d}"
            nb.cells.append(cell)
        nbformat.validate(nb)
        return nb

    def main(self, description: str, argv: list[str] | None = None) -> int:
        """Command line: write both notebooks."""
        parser = argparse.ArgumentParser(description=description.splitlines()[0])
        parser.parse_args(argv)
        for path, solutions in ((self.student_path, False), (self.solutions_path, True)):
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(self.build(solutions), path)
            print(f"wrote {path.relative_to(REPO)}")
        return 0
