"""The resolver: checksum registry, search order, refusal, offline error, pooch download."""

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

from companion.data import resolve
from companion.data.entry import DatasetEntry
from companion.errors import DataError

PAYLOAD = b"energy 1.0 eV\n" * 100
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
KEY = "someone__toyrepo/sub/file.txt"


@pytest.fixture
def registry_file(tmp_path, monkeypatch) -> Path:
    """A registry file with the toy file's checksum in place of the package's."""
    path = tmp_path / "registry.txt"
    path.write_text(f"# toy registry\n\n# toy\n{DIGEST}  {KEY}\n")
    monkeypatch.setattr(resolve, "REGISTRY", path)
    resolve.checksums.cache_clear()
    yield path
    resolve.checksums.cache_clear()


@pytest.fixture
def entry(registry_file) -> DatasetEntry:
    return DatasetEntry(name="toy", load=lambda: None, description="toy",
                        files=("sub/file.txt",), license="CC0", citation="none",
                        units={"energy": "eV"}, repo="someone/toyrepo", commit="0" * 40)


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
    p = root / KEY
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


# --------------------------------------------------------------------- checksum registry
def test_registry_file_format():
    sums = resolve.checksums()
    assert resolve.REGISTRY.name == "registry.txt" and len(sums) > 100
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in sums.values())
    assert sums["mp_eform.npz"] == resolve.checksum("mp_eform.npz")
    with pytest.raises(DataError, match="no checksum in .*registry.txt"):
        resolve.checksum("nope.npz")


def test_malformed_registry_line(registry_file):
    registry_file.write_text("deadbeef  file.txt\n")
    resolve.checksums.cache_clear()
    with pytest.raises(DataError, match=r"registry.txt:1: expected '<sha256>  <file>'"):
        resolve.checksums()


def test_update_checksums_replaces_and_appends(registry_file):
    resolve.update_checksums({KEY: "a" * 64, "new.npz": "b" * 64}, "toy")
    resolve.update_checksums({"other.npz": "c" * 64}, "fresh section")
    lines = registry_file.read_text().splitlines()
    assert lines == ["# toy registry", "", "# toy", f"{'a' * 64}  {KEY}",
                     f"{'b' * 64}  new.npz", "", "# fresh section", f"{'c' * 64}  other.npz"]
    assert resolve.checksum("new.npz") == "b" * 64  # the cache was cleared


# --------------------------------------------------------------------------- local lookup
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


def test_unknown_file_of_entry(dirs, entry):
    with pytest.raises(DataError, match="sub/file.txt"):
        resolve.resolve(entry, "sub/other.txt")


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
    assert entry.url("sub/file.txt") in msg and DIGEST in msg
    assert str(dirs["cache"] / KEY) in msg
    assert "COMPANION_DATA_DIRS" in msg


def test_file_of_data_dir_is_never_downloaded(dirs, registry_file, monkeypatch):
    """A file made by this repository (no upstream) is looked up, not downloaded."""
    monkeypatch.delenv("COMPANION_OFFLINE")
    registry_file.write_text(f"{DIGEST}  toy_sample.npz\n")
    resolve.checksums.cache_clear()
    e = DatasetEntry(name="toy_sample", load=lambda: None, description="", files=(
        "toy_sample.npz",), license="", citation="")
    assert e.url("toy_sample.npz") is None
    with pytest.raises(DataError, match="git checkout data/toy_sample.npz") as exc:
        resolve.resolve(e, "toy_sample.npz")
    assert "COMPANION_DATA_DIRS" in str(exc.value)
    (dirs["repo_data"] / "toy_sample.npz").write_bytes(PAYLOAD)
    assert resolve.resolve(e, "toy_sample.npz") == dirs["repo_data"] / "toy_sample.npz"


# ------------------------------------------------------------------------ pooch download
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


def test_download_uses_pooch_verified_and_atomic(dirs, entry, server, monkeypatch):
    import pooch

    monkeypatch.delenv("COMPANION_OFFLINE")
    calls = []
    real = pooch.retrieve

    def spy(url, known_hash=None, **kwargs):
        calls.append((url, known_hash))
        return real(url, known_hash=known_hash, **kwargs)

    monkeypatch.setattr(pooch, "retrieve", spy)
    root, template = server
    e = dataclasses.replace(entry, url_template=template)
    _serve(root, e, PAYLOAD)
    path = resolve.resolve(e, "sub/file.txt", timeout=10)
    assert calls == [(e.url("sub/file.txt"), f"sha256:{DIGEST}")]
    assert path == dirs["cache"] / KEY
    assert path.read_bytes() == PAYLOAD
    assert [p.name for p in path.parent.iterdir()] == ["file.txt"]  # no temp file left
    _serve(root, e, b"changed upstream")  # a later call uses the verified cache
    assert resolve.resolve(e, "sub/file.txt", timeout=10) == path
    assert len(calls) == 1


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
