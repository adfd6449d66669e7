"""environment.yml, binder/ and pyproject.toml describe the same pinned stack."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line or line.startswith("-") or line.startswith("companion"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)", line)
        assert m, f"not an exact pin: {line!r} (every dependency is pinned with ==)"
        name = m.group(1).lower().replace("_", "-")
        pins[name] = m.group(2).split("+")[0]  # torch 2.13.0+cpu is torch 2.13.0
    return pins


def pyproject_pins(extras: tuple[str, ...] = ("viz", "lab")) -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return _pins(lines)


def environment_pins(path) -> dict[str, str]:
    text = path.read_text().splitlines()
    start = text.index("  - pip:") + 1
    return _pins([ln.strip()[2:] for ln in text[start:] if ln.strip().startswith("- ")])


def test_environment_yml_agrees_with_pyproject():
    assert environment_pins(REPO / "environment.yml") == pyproject_pins()


def test_binder_builds_the_same_environment():
    assert (REPO / "binder" / "environment.yml").read_text() == \
        (REPO / "environment.yml").read_text()
    assert "python=3.11" in (REPO / "environment.yml").read_text()
    assert "pip install --no-deps -e ." in (REPO / "binder" / "postBuild").read_text()


def test_makefile_installs_the_pinned_torch():
    make = (REPO / "Makefile").read_text()
    torch = re.search(r"^TORCH\s*\?=\s*torch==(\S+)", make, re.M).group(1).split("+")[0]
    assert torch == pyproject_pins(())["torch"]


def test_ci_calls_make_test():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    assert "make test" in (REPO / "README.md").read_text()
