"""The shape of the package: no import cycle between modules of ``companion/``, and no module
over 500 lines (DESIGN.md, "Style").

Every ``import companion...`` / ``from companion... import ...`` counts, also inside functions
(a lazy import still makes two modules depend on each other) and under ``TYPE_CHECKING``
only where it is not (type-only imports create no runtime dependency and are skipped).
The implicit import of a parent package (``companion.train`` before
``companion.train.loop``) is not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "companion"
MAX_LINES = 500

def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names}
            targets.update(subs)
            if not subs <= set(modules):  # names defined in the module itself
                targets.add(base)
    return {t for t in targets if t in modules and t != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    cycles = list(_cycles(_graph()))
    assert not cycles, ("import cycles in companion/ (make the imports flow one way): "
                        + "; ".join(" <-> ".join(c) for c in cycles))


def test_no_module_over_500_lines():
    long = {}
    for path in ROOT.rglob("*.py"):
        rel = str(path.relative_to(ROOT.parent))
        n = len(path.read_text().splitlines())
        if n > MAX_LINES:
            long[rel] = n
    assert not long, f"modules over {MAX_LINES} lines (split them by concern): {long}"


def test_the_training_loop_is_short_and_task_agnostic():
    loop = ROOT / "train" / "loop.py"
    assert len(loop.read_text().splitlines()) < 300
    source = loop.read_text()
    for word in ("potential", "forces", "energy", "GraphTargetTask", "EnergyForceTask"):
        assert word not in source, f"loop.py mentions {word!r}: a task branch belongs in a Task"


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
