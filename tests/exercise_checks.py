"""Helpers of the tests of the notebooks' self-checks (tests/test_exercises*.py)."""

from __future__ import annotations

from companion.exercises import CORRECT


def verdict(capsys, check, *args, **kwargs) -> str:
    """Run a self-check and return what it printed (a check returns nothing)."""
    assert check(*args, **kwargs) is None  # a check prints, it returns nothing
    return capsys.readouterr().out


def assert_correct(out: str) -> None:
    assert CORRECT in out and "not yet" not in out, out


def assert_hint(out: str, *words: str) -> None:
    """Not correct, with a hint that contains every one of ``words``."""
    assert CORRECT not in out and "not yet" in out and "Hint" in out, out
    for word in words:
        assert word in out, out
