"""Derive the course notebooks from their sources, without losing edits (``make notebooks``).

Each notebook has one source, ``notebooks/src/NN_name.py``: a jupytext percent-format script
that holds the **solutions** version. It is paired (jupytext ``formats`` metadata) with
``notebooks/solutions/NN_name_solutions.ipynb``, so saving that notebook in JupyterLab writes
the script too. In a code cell, the worked answer sits between ``# BEGIN SOLUTION`` and
``# END SOLUTION``; the placeholder that students see instead sits between ``# BEGIN STUDENT``
and ``# END STUDENT``, commented out with ``# `` at the markers' indentation (so the script runs
as the solutions). Everything else is written once and shared by both versions.

For every source this script, in order:

1. syncs the pair as ``jupytext --sync`` does: when the solutions notebook is newer than the
   script (it was saved in JupyterLab), its cells, stripped of outputs by nbstripout, are
   written back into the script first;
2. refuses to overwrite a student notebook ``notebooks/NN_name.ipynb`` whose cells were edited
   by hand (its cells no longer match the digest written into its metadata), and says how to
   move the edit into the source;
3. writes the solutions notebook (the script's cells, markers included) and the student
   notebook (solution regions removed, placeholders uncommented, " (solutions)" dropped from
   the title), without outputs. A cell's id is derived from its own text, so inserting a cell
   leaves the ids of the others unchanged.

    python scripts/notebooks.py            # sync and write all notebooks (make notebooks)
    python scripts/notebooks.py 02_cgcnn   # only this one
    python scripts/notebooks.py --force    # also overwrite hand-edited student notebooks
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import jupytext
import nbformat
from nbstripout import strip_output

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SOURCES = NOTEBOOKS / "src"
PAIRING = {"formats": "solutions//_solutions.ipynb,src//py:percent",
           "cell_metadata_filter": "-all"}
KERNEL = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                   "name": "python3"},
    "language_info": {"name": "python", "version": "3.11"},
}
TITLE_SUFFIX = " (solutions)"  # the first line of a source ends with it; students' does not
SOLUTION, STUDENT = "SOLUTION", "STUDENT"


class NotebookError(ValueError):
    """A source with broken markers, or a student notebook that was edited by hand."""


def paths(source: Path) -> tuple[Path, Path]:
    """The student and the solutions notebook derived from ``source``."""
    return (NOTEBOOKS / f"{source.stem}.ipynb",
            NOTEBOOKS / "solutions" / f"{source.stem}_solutions.ipynb")


def student_source(text: str, where: str) -> str:
    """A code cell's student version: solution regions out, student regions uncommented."""
    out, region, indent = [], None, ""
    for n, line in enumerate(text.splitlines(), 1):
        words = line.strip().split()
        if len(words) == 3 and words[0] == "#" and words[1] in ("BEGIN", "END") \
                and words[2] in (SOLUTION, STUDENT):
            if words[1] == "BEGIN" and region is None:
                region, indent = words[2], line[:len(line) - len(line.lstrip())]
            elif words[1] == "END" and region == words[2]:
                region = None
            else:
                raise NotebookError(f"{where}, line {n}: unexpected `{line.strip()}` (open "
                                    f"region: {region}); regions are `# BEGIN X` ... `# END X` "
                                    "with X = SOLUTION or STUDENT, not nested")
        elif region == SOLUTION:
            continue
        elif region == STUDENT:
            if line.rstrip() == indent + "#":
                out.append("")
            elif line.startswith(indent + "# "):
                out.append(indent + line[len(indent) + 2:])
            else:
                raise NotebookError(f"{where}, line {n}: a STUDENT line must be commented out "
                                    f"with '# ' at the markers' indentation: {line!r}")
        else:
            out.append(line)
    if region is not None:
        raise NotebookError(f"{where}: `# BEGIN {region}` without `# END {region}`")
    return "\n".join(out)


def cell_ids(cells: list[tuple[str, str]], prefix: str) -> list[str]:
    """Ids from each cell's own type and text (not its position); repeats get -2, -3, ..."""
    ids, seen = [], {}
    for kind, text in cells:
        digest = hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()[:8]
        seen[digest] = seen.get(digest, 0) + 1
        ids.append(f"{prefix}-{digest}" + (f"-{seen[digest]}" if seen[digest] > 1 else ""))
    return ids


def cells_digest(nb: nbformat.NotebookNode) -> str:
    """sha256 of the cell types and sources: what a hand edit of a notebook changes."""
    text = "\n\x00".join(f"{c.cell_type}\n{c.source}" for c in nb.cells)
    return hashlib.sha256(text.encode()).hexdigest()


def derive(source: Path) -> tuple[str, str]:
    """The student and the solutions notebook of ``source``, as the text to store."""
    cells = [(c.cell_type, c.source) for c in jupytext.read(source).cells]
    ids = cell_ids(cells, f"nb{source.stem[:2]}")
    rel = source.relative_to(REPO)
    first = cells[0][1].split("\n", 1)[0] if cells else ""
    if not first.endswith(TITLE_SUFFIX):
        raise NotebookError(f"{rel}: the first line must be the title ending with "
                            f"{TITLE_SUFFIX!r} (the student notebook drops it)")
    notebooks = []
    for solutions in (False, True):
        nb = nbformat.v4.new_notebook(metadata=dict(KERNEL))
        for n, ((kind, text), cell_id) in enumerate(zip(cells, ids, strict=True)):
            if not solutions:
                if kind == "code":
                    text = student_source(text, f"{rel}, cell {n + 1}")
                if n == 0:
                    text = text.replace(TITLE_SUFFIX, "", 1)
            new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
            nb.cells.append(new(text, id=cell_id))
        if solutions:
            nb.metadata["jupytext"] = dict(PAIRING)
        else:
            nb.metadata["companion"] = {"source": str(rel.relative_to("notebooks")),
                                        "cells_sha256": cells_digest(nb)}
        nbformat.validate(nb)
        notebooks.append(nbformat.writes(nb) + "\n")
    return notebooks[0], notebooks[1]


def read_stripped(path: Path) -> nbformat.NotebookNode:
    """A stored notebook without outputs, execution counts or volatile metadata (nbstripout)."""
    nb = nbformat.read(path, as_version=4)
    return strip_output(nb, keep_output=False, keep_count=False, keep_id=True)


def sync(source: Path) -> bool:
    """``jupytext --sync`` for the pair: a newer solutions notebook updates the source."""
    _, solutions = paths(source)
    if not solutions.exists() or solutions.stat().st_mtime <= source.stat().st_mtime:
        return False
    nb = read_stripped(solutions)
    nb.metadata["jupytext"] = dict(PAIRING)
    text = jupytext.writes(nb, fmt="py:percent")
    if text == source.read_text():
        return False
    source.write_text(text)
    return True


def hand_edited(student: Path) -> bool:
    """True if the student notebook's cells differ from those it was written with."""
    if not student.exists():
        return False
    nb = read_stripped(student)
    return nb.metadata.get("companion", {}).get("cells_sha256") != cells_digest(nb)


def update(source: Path, force: bool = False) -> list[str]:
    """Sync the pair, then write both notebooks; returns what changed."""
    student, solutions = paths(source)
    changed = [f"{source.relative_to(REPO)} (from {solutions.name})"] if sync(source) else []
    if not force and hand_edited(student):
        raise NotebookError(
            f"{student.relative_to(REPO)} was edited by hand; it is derived from "
            f"{source.relative_to(REPO)} and would be overwritten. Make the change in the "
            f"source (or in {solutions.relative_to(REPO)} in JupyterLab): student "
            "placeholders go between `# BEGIN STUDENT` and `# END STUDENT`. Then run "
            "`make notebooks` again, or `python scripts/notebooks.py --force` to discard "
            "the hand edit.")
    for path, text in zip((student, solutions), derive(source), strict=True):
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(str(path.relative_to(REPO)))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="stems such as 02_cgcnn (default: all)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite student notebooks even if they were edited by hand")
    args = parser.parse_args(argv)
    sources = [SOURCES / f"{name}.py" for name in args.names] or sorted(SOURCES.glob("*.py"))
    status = 0
    for source in sources:
        try:
            changed = update(source, force=args.force)
        except (NotebookError, FileNotFoundError) as err:
            print(f"error: {err}", file=sys.stderr)
            status = 1
            continue
        print(f"{source.stem}: " + (", ".join(f"wrote {c}" for c in changed) or "up to date"))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
