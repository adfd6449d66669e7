"""Self-checks for the exercises of the notebooks: one module per chapter (``ch01``, ...).

A check prints a green "correct" or a specific hint; it never raises, whatever the answer
(an unanswered exercise, ``None`` or ``...``, prints "not answered yet"). Expected values
are computed when the check runs, from the package and the physics, never stored.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

GREEN, RED, YELLOW, RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[0m"

CORRECT = "✔ correct"
"""Printed (in green) for a right answer; the notebook tests look for it."""


WIDTH = 96
"""Printed lines are wrapped at this many characters, between words (JupyterLab would
otherwise break a long line wherever the column ends, in the middle of a word)."""


def _wrapped(head: str, shown: int, message: str) -> str:
    """``head`` (``shown`` visible characters, colors excluded) and ``message``, wrapped."""
    text = textwrap.fill("x" * shown + message, WIDTH, break_long_words=False)
    return head + text[shown:]


def correct(message: str = "") -> bool:
    """Print the green "correct" line (with an optional explanation)."""
    print(_wrapped(f"{GREEN}{CORRECT}{RESET}", len(CORRECT), f": {message}" if message else ""))
    return True


def hint(message: str) -> bool:
    """Print a red "not yet" line with a hint."""
    print(_wrapped(f"{RED}✘ not yet.{RESET}", len("✘ not yet."), f" Hint: {message}"))
    return False


def show_choices(choices: Mapping[str, str]) -> None:
    """Print the options of a multiple-choice exercise, ``(a) ...``, each wrapped."""
    for letter, text in choices.items():
        print(textwrap.fill(f"({letter}) {text}", WIDTH, subsequent_indent="    ") + "\n")


def unanswered(answer: Any) -> bool:
    """True if the exercise is still open (``None`` or ``...``)."""
    return answer is None or answer is Ellipsis


NOT_ANSWERED = "… not answered yet"
"""Printed (in yellow) for ``None`` or ``...``."""


def not_answered() -> None:
    """Print the yellow "not answered yet" line."""
    print(f"{YELLOW}{NOT_ANSWERED}{RESET}: replace the None (or ...) with your answer and "
          "run the cell again.")


def check(func: Callable[..., Any]) -> Callable[..., None]:
    """Decorate a check: handle an unanswered exercise and never raise.

    The decorated function prints its verdict and returns None, so that a check as the last
    line of a notebook cell shows nothing but its message.
    """

    @functools.wraps(func)
    def wrapper(answer: Any = None, *args: Any, **kwargs: Any) -> None:
        if unanswered(answer):
            not_answered()
            return
        try:
            func(answer, *args, **kwargs)
        except Exception as exc:  # a self-check must never raise
            print(f"{YELLOW}? could not check this answer{RESET} ({type(exc).__name__}: "
                  f"{exc}). Check its type: the exercise says what to give.")

    return wrapper


__all__ = ["CORRECT", "NOT_ANSWERED", "check", "correct", "hint", "not_answered",
           "show_choices", "unanswered"]
