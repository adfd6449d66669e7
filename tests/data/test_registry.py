"""DATASETS: every entry holds a callable loader, its files' checksums are in the registry
file, and the registry agrees with the shared mirror's own checksums."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import companion.data
from companion.data import DATASETS, available, load
from companion.data.entry import DatasetEntry
from companion.data.registry import get
from companion.data.resolve import REGISTRY, checksums, mirror_dirs, repo_data_dir
from companion.errors import DataError

PACKAGE = Path(companion.data.__file__).resolve().parent
EXTERNAL = {"ean", "ethanol", "3bpa", "acac", "mlearn", "mp_phonons", "kmvn_weights",
            "matcalc_elasticity", "matcalc_heat_capacity", "perov_5", "ani1_subset"}
SHIPPED = {"mp_eform", "mp_dielectric", "mp_elastic"}
FIXTURES = {"ethanol_sample", "ean_sample"}
MODEL_LABELLED = {"chgnet_phonons", "chgnet_phonons_dfpt69"}  # shipped in data/


def test_names():
    assert set(DATASETS) == EXTERNAL | SHIPPED | FIXTURES | MODEL_LABELLED
    assert available() == [n for n in DATASETS if n != "ani1_subset"]
    assert available()[:3] == ["mp_eform", "mp_dielectric", "mp_elastic"]


@pytest.mark.parametrize("name", list(DATASETS))
def test_entry_loader_is_callable_and_checksums_registered(name):
    e = DATASETS[name]
    assert isinstance(e, DatasetEntry) and e.name == name
    assert callable(e.load) and inspect.isfunction(e.load)
    assert e.license and e.citation and e.description and e.files
    sums = checksums()
    for f in e.files:
        assert e.key(f) in sums, f"{e.key(f)} missing from {REGISTRY}"
    if name in EXTERNAL:
        assert e.repo and len(e.commit) == 40 and e.units
        for f in e.files:
            assert e.url(f) == f"https://raw.githubusercontent.com/{e.repo}/{e.commit}/{f}"
            assert e.key(f) == f"{e.repo.replace('/', '__')}/{f}"
    else:
        assert e.repo is None and e.commit is None and e.source
        assert all(e.url(f) is None and e.key(f) == f for f in e.files)


def test_every_registry_line_belongs_to_an_entry():
    """Every line is a file of a data set, or a checkpoint shipped in data/checkpoints/
    (scripts/phonon_comparison.py), which must exist."""
    keys = {e.key(f) for e in DATASETS.values() for f in e.files}
    shipped = {k for k in checksums() if k.startswith("checkpoints/")}
    assert set(checksums()) == keys | shipped
    assert shipped and all((repo_data_dir() / k).is_file() for k in shipped)


def test_upstream_test_splits():
    assert {n: e.test_split for n, e in DATASETS.items() if e.test_split} == {
        "ethanol": "test_md", "acac": "test_md_300k", "mlearn": "test",
        "chgnet_phonons": "dfpt"}
    split_of = companion.data.test_split
    assert split_of("ethanol") == "test_md" and split_of("acac") == "test_md_300k"
    assert split_of("mlearn") == "test" and split_of("ean") is None
    assert split_of("mp_eform") is None and split_of("ethanol_sample") is None
    with pytest.raises(DataError, match="available: mp_eform"):
        split_of("ethanoll")


def test_load_dispatches_to_the_entry(monkeypatch):
    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        return "loaded"

    import dataclasses

    patched = dict(DATASETS)
    patched["ethanol"] = dataclasses.replace(DATASETS["ethanol"], load=fake)
    monkeypatch.setattr(companion.data.registry, "DATASETS", patched)
    assert load("ethanol", split="test_md") == "loaded" and seen == {"split": "test_md"}


def test_unknown_and_provenance_only():
    with pytest.raises(DataError, match="ethanol"):
        load("ethanoll")
    with pytest.raises(DataError, match="h5py"):
        load("ani1_subset")
    with pytest.raises(DataError, match="mp_eform.*mp_dielectric.*mp_elastic"):
        get("mp_formation")


def test_entry_file_and_repo_errors():
    with pytest.raises(DataError, match="train.xyz"):
        DATASETS["ethanol"].key("dataset_ethanol/nope.xyz")
    with pytest.raises(DataError, match="made by this repository"):
        _ = DATASETS["ethanol_sample"].owner
    with pytest.raises(ValueError, match="both repo and commit"):
        DatasetEntry(name="x", load=print, description="", files=(), license="", citation="",
                     repo="a/b")
    assert len(DATASETS["mp_phonons"].files) == 69
    mlearn = set(DATASETS["mlearn"].files)
    assert "data/Si/training.json" in mlearn and "data/Cu/test.json" in mlearn
    assert "data/Cu/training.json" not in mlearn


def test_no_lookup_of_names_in_modules():
    """Loaders are objects in the entries: no getattr/importlib on strings in companion.data."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                assert name not in {"getattr", "import_module", "__import__"}, \
                    f"{path.relative_to(PACKAGE)}:{node.lineno}: {name}()"


def test_modules_stay_small():
    for path in PACKAGE.rglob("*.py"):
        n = len(path.read_text().splitlines())
        assert n <= 500, f"{path.relative_to(PACKAGE)} has {n} lines (at most 500)"


def test_registry_agrees_with_mirror_checksums():
    """Where a COMPANION_DATA_DIRS folder carries its own SHA256SUMS (the shared mirror
    does), each registered upstream file is listed there with the same sha256, and every
    file listed there is registered (but the repository's LICENSE)."""
    upstream = {k: v for k, v in checksums().items() if "__" in k.split("/")[0]}
    for d in mirror_dirs():
        sums_file = d / "SHA256SUMS"
        if not sums_file.is_file():
            continue
        theirs = {}
        for line in sums_file.read_text().splitlines():
            digest, path = line.split()
            theirs[path.removeprefix("./")] = digest
        assert {k: theirs.get(k) for k in upstream} == upstream
        unregistered = {k for k in theirs if k not in upstream and "__" in k.split("/")[0]}
        assert unregistered <= {"davkovacs__BOTNet-datasets/LICENSE"}, \
            "register new mirror files"
