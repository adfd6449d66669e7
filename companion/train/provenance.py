"""What a run needs to be reproduced, as recorded in ``metrics.json``: the command line, the
package version and git commit, the versions of the stack, the device, the number of
processes and threads, and the seed (:func:`provenance`)."""

from __future__ import annotations

import importlib.metadata as md
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

__all__ = ["STACK", "git_state", "provenance", "versions"]

STACK = ("torch", "torch-geometric", "e3nn", "pymatgen", "numpy", "vesin", "ase")
"""Distributions whose versions a run records (None where one is not installed)."""


def versions() -> dict[str, str | None]:
    """``{"companion": ..., "python": ..., "torch": ..., ...}`` (keys with ``_``, not ``-``)."""
    import companion

    out: dict[str, str | None] = {"companion": companion.__version__,
                                  "python": platform.python_version()}
    for name in STACK:
        try:
            out[name.replace("-", "_")] = md.version(name)
        except md.PackageNotFoundError:
            out[name.replace("-", "_")] = None
    out["cuda"] = torch.version.cuda
    return out


def git_state(root: Path | None = None) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout that holds the
    package (None where it is not a git checkout or git is not installed)."""
    root = root or Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                 "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip() or None, "dirty": bool(status.stdout.strip())}


def provenance(command: str | None, device: torch.device, world: int, seed: int
               ) -> dict[str, Any]:
    """The entries of ``metrics.json`` that say how to run it again.

    Args:
        command: the command line (``python -m companion train ...``; under ``torchrun``
            the same, with ``n_processes`` > 1); None when the run was started from Python.
        device: the device it ran on. world: the number of processes (DDP).
        seed: the seed of :func:`~companion.train.runtime.seed_everything`.
    """
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    git = git_state()
    return {"command": command, "seed": seed, "git_commit": git["commit"],
            "git_dirty": git["dirty"], "versions": versions(),
            "device": str(device), "device_name": name, "n_processes": world,
            "torch_threads": torch.get_num_threads(),
            "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "platform": platform.platform(), "machine": platform.machine()}
