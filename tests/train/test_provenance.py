"""What metrics.json records to reproduce a run (the CLI run: tests/train/test_loop.py)."""

from __future__ import annotations

import torch

from companion.train.provenance import git_state, provenance, versions


def test_versions_of_the_stack():
    v = versions()
    assert v["torch"] == torch.__version__ and v["companion"]
    assert {"torch_geometric", "e3nn", "pymatgen", "numpy", "python", "cuda"} <= set(v)


def test_git_state_outside_a_checkout_is_unknown(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None}


def test_git_state_of_this_checkout():
    state = git_state()
    if state["commit"] is not None:  # a source checkout (not an installed wheel)
        assert len(state["commit"]) == 40 and isinstance(state["dirty"], bool)


def test_provenance_fields():
    p = provenance("python -m companion train --model cgcnn", torch.device("cpu"), 1, 7)
    assert p["command"].startswith("python -m companion") and p["seed"] == 7
    assert p["device"] == "cpu" and p["n_processes"] == 1 and p["torch_threads"] >= 1
    assert {"git_commit", "git_dirty", "versions", "started_utc"} <= set(p)
