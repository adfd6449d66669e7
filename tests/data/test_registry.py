"""Registry of external sets and the resolver: checksums, search order, refusal, download."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import os
import socket
import threading
import warnings
from pathlib import Path

import pytest

from companion.data import registry, resolve
from companion.data.registry import DatasetEntry, FileEntry
from companion.errors import DataError

REPO = Path(__file__).resolve().parents[2]
NAMES = {"ean", "ethanol", "3bpa", "acac", "mlearn", "mp_phonons", "matcalc_elasticity",
         "matcalc_heat_capacity", "perov_5", "ani1_subset"}


def _shared_sums() -> dict[str, str] | None:
    for d in [*resolve.mirror_dirs(), REPO.parent / "shared" / "data"]:
        f = d / "SHA256SUMS"
        if f.is_file():
            out = {}
            for line in f.read_text().splitlines():
                digest, path = line.split()
                out[path.removeprefix("./")] = digest
            return out
    return None


def test_names_and_entries():
    assert set(registry.available()) == NAMES
    for name in NAMES:
        e = registry.get(name)
        assert e.name == name and len(e.commit) == 40 and e.files
        assert e.license and e.citation and e.units
        for f in e.files:
            assert len(f.sha256) == 64 and f.size > 0
            assert e.url(f.path) == (f"https://raw.githubusercontent.com/{e.repo}/{e.commit}/"
                                     f"{f.path}")
    assert len(registry.get("mp_phonons").files) == 69
    mlearn = {f.path for f in registry.get("mlearn").files}
    assert "data/Si/training.json" in mlearn and "data/Cu/test.json" in mlearn
    assert "data/Cu/training.json" not in mlearn
    with pytest.raises(DataError, match="ethanol"):
        registry.get("ethanl")
    with pytest.raises(DataError, match="train.xyz"):
        registry.get("ethanol").file("dataset_ethanol/nope.xyz")


def test_sha256_match_shared_mirror():
    sums = _shared_sums()
    if sums is None:
        pytest.skip("../shared/data/SHA256SUMS not found (set COMPANION_DATA_DIRS)")
    registered = set()
    for name in registry.available():
        e = registry.get(name)
        for f in e.files:
            key = f"{e.folder}/{f.path}"
            assert sums.get(key) == f.sha256, key
            registered.add(key)
    unregistered = set(sums) - registered
    assert unregistered == {"davkovacs__BOTNet-datasets/LICENSE"}, "register new mirror files"


# --- resolver on a synthetic entry (no shared data needed) ---------------------------------
PAYLOAD = b"energy 1.0 eV\n" * 100


@pytest.fixture
def entry() -> DatasetEntry:
    f = FileEntry("sub/file.txt", len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest())
    return DatasetEntry(name="toy", description="toy", repo="someone/toyrepo", commit="0" * 40,
                        files=(f,), license="CC0", citation="none", units={"energy": "eV"})


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """Isolated data/, cache and two mirrors; offline by default."""
    d = {k: tmp_path / k for k in ("repo_data", "cache", "m1", "m2")}
    for p in d.values():
        p.mkdir()
    monkeypatch.setattr(resolve, "repo_data_dir", lambda: d["repo_data"])
    monkeypatch.setenv("COMPANION_CACHE", str(d["cache"]))
    monkeypatch.setenv("COMPANION_DATA_DIRS", os.pathsep.join([str(d["m1"]), str(d["m2"])]))
    monkeypatch.setenv("COMPANION_OFFLINE", "1")
    return d


def _put(root: Path, data: bytes = PAYLOAD) -> Path:
    p = root / "someone__toyrepo" / "sub" / "file.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_search_dirs_order(dirs):
    assert resolve.search_dirs() == [dirs["repo_data"], dirs["cache"], dirs["m1"], dirs["m2"]]


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPANION_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert resolve.cache_dir() == tmp_path / "companion"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resolve.cache_dir() == Path.home() / ".cache" / "companion"


def test_resolution_order(dirs, entry):
    m2 = _put(dirs["m2"])
    assert resolve.resolve(entry, "sub/file.txt") == m2
    m1 = _put(dirs["m1"])
    assert resolve.resolve(entry, "sub/file.txt") == m1
    cached = _put(dirs["cache"])
    assert resolve.resolve(entry, "sub/file.txt") == cached  # cache wins over the mirrors
    local = _put(dirs["repo_data"])
    assert resolve.resolve(entry, "sub/file.txt") == local  # data/ wins over everything


def test_corrupt_file_refused_next_used(dirs, entry):
    bad = _put(dirs["cache"], PAYLOAD[:-1] + b"X")  # same size, wrong hash
    short = _put(dirs["m1"], PAYLOAD[:10])  # wrong size
    good = _put(dirs["m2"])
    with pytest.warns(resolve.ChecksumWarning) as rec:
        assert resolve.resolve(entry, "sub/file.txt") == good
    messages = [str(w.message) for w in rec]
    assert any(str(bad) in m for m in messages) and any(str(short) in m for m in messages)
    good.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", resolve.ChecksumWarning)
        with pytest.raises(DataError, match="refused"):
            resolve.resolve(entry, "sub/file.txt")


def test_offline_missing_message(dirs, entry):
    with pytest.raises(DataError) as exc:
        resolve.resolve(entry, "sub/file.txt")
    msg = str(exc.value)
    assert "sub/file.txt" in msg and "COMPANION_OFFLINE=1" in msg
    assert entry.url("sub/file.txt") in msg
    assert str(dirs["cache"] / "someone__toyrepo" / "sub" / "file.txt") in msg
    assert "COMPANION_DATA_DIRS" in msg


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_failure_is_clear(dirs, entry, monkeypatch):
    monkeypatch.delenv("COMPANION_OFFLINE")
    e = dataclasses.replace(entry, url_template=f"http://127.0.0.1:{_closed_port()}/{{path}}")
    with pytest.raises(DataError, match="download failed") as exc:
        resolve.resolve(e, "sub/file.txt", timeout=5)
    assert "COMPANION_DATA_DIRS" in str(exc.value) and "127.0.0.1" in str(exc.value)
    assert not [p for p in dirs["cache"].rglob("*") if p.is_file()]  # nothing left behind


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 from a thread."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):  # keep pytest output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/{{owner}}/{{commit}}/{{path}}"
    httpd.shutdown()
    httpd.server_close()


def _serve(root: Path, entry: DatasetEntry, data: bytes) -> None:
    p = root / entry.owner / entry.commit / "sub" / "file.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def test_download_verified_and_atomic(dirs, entry, server, monkeypatch):
    monkeypatch.delenv("COMPANION_OFFLINE")
    root, template = server
    e = dataclasses.replace(entry, url_template=template)
    _serve(root, e, PAYLOAD)
    path = resolve.resolve(e, "sub/file.txt", timeout=10)
    assert path == dirs["cache"] / "someone__toyrepo" / "sub" / "file.txt"
    assert path.read_bytes() == PAYLOAD
    assert [p.name for p in path.parent.iterdir()] == ["file.txt"]  # no temp file left
    _serve(root, e, b"changed upstream")  # a later call uses the verified cache
    assert resolve.resolve(e, "sub/file.txt", timeout=10) == path


@pytest.mark.parametrize("payload", [PAYLOAD[:-1] + b"X", PAYLOAD[:50], PAYLOAD + b"extra"],
                         ids=["same-size", "short", "long"])
def test_download_wrong_payload_refused(dirs, entry, server, monkeypatch, payload):
    monkeypatch.delenv("COMPANION_OFFLINE")
    root, template = server
    e = dataclasses.replace(entry, url_template=template)
    _serve(root, e, payload)
    with pytest.raises(DataError, match="refused"):
        resolve.resolve(e, "sub/file.txt", timeout=10)
    assert not [p for p in dirs["cache"].rglob("*") if p.is_file()]  # no partial/wrong file


def test_sha256_is_memoized(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"x" * 1000)
    first = resolve.sha256_file(p)
    before = resolve._sha256_memo.cache_info().hits
    assert resolve.sha256_file(p) == first == hashlib.sha256(b"x" * 1000).hexdigest()
    assert resolve._sha256_memo.cache_info().hits == before + 1
    p.write_bytes(b"y" * 1001)  # size/mtime change -> re-hashed
    assert resolve.sha256_file(p) == hashlib.sha256(b"y" * 1001).hexdigest()
