"""``make lab`` starts JupyterLab, as root too, and says which URL to open.

The server is started with the command of the Makefile's ``lab`` recipe itself (read from the
Makefile, ``$(BIN)`` being this interpreter's folder), on a free loopback port; ``/lab`` is
requested at the URL the command printed, then the server is stopped.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP = 120  # s


def lab_recipe() -> list[str]:
    """The command lines of the Makefile's ``lab`` target."""
    lines = (REPO / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("lab:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line[1:])
    return recipe


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_lab_uses_the_lab_script():
    assert lab_recipe() == ["$(BIN)/python scripts/lab.py $(LAB_ARGS)"]


@pytest.mark.parametrize("uid", [0, 1000])
def test_allow_root_only_for_root(uid, monkeypatch):
    spec = importlib.util.spec_from_file_location("lab_script", REPO / "scripts" / "lab.py")
    lab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lab)
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    cmd = lab.command(8888, "127.0.0.1", "token", ["--no-browser"])
    assert ("--allow-root" in cmd) == (uid == 0)
    assert cmd[-1] == "--no-browser" and f"--notebook-dir={REPO / 'notebooks'}" in cmd


@pytest.mark.slow
def test_make_lab_serves_lab(tmp_path):
    (recipe,) = lab_recipe()
    port = free_port()
    line = (recipe.replace("$(BIN)", str(Path(sys.executable).parent))
            .replace("$(LAB_ARGS)", f"--port={port} --no-browser"))
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(shlex.split(line), cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, body, status = time.monotonic() + STARTUP, "", None
        while time.monotonic() < deadline and proc.poll() is None:
            m = re.search(r"JupyterLab: open (http://\S+)", log.read_text())
            if m:
                url = m.group(1)
                assert url.startswith(f"http://127.0.0.1:{port}/lab?token=")
                try:
                    with urllib.request.urlopen(url, timeout=10) as response:
                        status, body = response.status, response.read().decode()
                    break
                except OSError:  # not listening yet
                    pass
            time.sleep(0.5)
        text = log.read_text()
        assert proc.poll() is None, f"JupyterLab stopped:\n{text}"
        assert status == 200 and "JupyterLab" in body, f"no /lab page:\n{text}"
        if os.geteuid() == 0:
            assert "--allow-root added" in text and "Running as root is not" not in text
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
