"""Start JupyterLab on the course notebooks and say which URL to open (``make lab``).

Also works as root (Docker images, many cloud machines): then ``--allow-root`` is added, since
JupyterLab otherwise stops with "Running as root is not recommended". The port is the first
free one from ``--port`` and the token is chosen here, so the URL printed first is the one to
open. Other arguments go to ``jupyter lab`` unchanged, e.g. in a container whose port is
published: ``make lab LAB_ARGS="--ip=0.0.0.0 --no-browser"``.

    python scripts/lab.py [--port 8888] [--ip 127.0.0.1] [jupyter lab arguments ...]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def free_port(start: int, ip: str) -> int:
    """The first port from ``start`` on which nothing listens at ``ip``."""
    for port in range(start, start + 100):
        with socket.socket() as sock:
            try:
                sock.bind((ip if ip not in ("", "0.0.0.0") else "127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {start}-{start + 99}: pass another one with --port")


def command(port: int, ip: str, token: str, extra: list[str]) -> list[str]:
    """The ``jupyter lab`` command line, with ``--allow-root`` when run as root."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={NOTEBOOKS}", f"--port={port}",
           "--ServerApp.port_retries=0", f"--ip={ip}", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + extra


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888, help="first port to try")
    parser.add_argument("--ip", default="127.0.0.1", help="address to listen on")
    args, extra = parser.parse_known_args(argv)
    port, token = free_port(args.port, args.ip), secrets.token_hex(24)
    host = "127.0.0.1" if args.ip in ("", "0.0.0.0") else args.ip
    where = " (or this machine's address)" if host != args.ip else ""
    print(f"\nJupyterLab: open http://{host}:{port}/lab?token={token}{where}\n"
          + ("(running as root: --allow-root added)\n" if os.geteuid() == 0 else ""),
          flush=True)
    cmd = command(port, args.ip, token, extra)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
