"""Help texts that name a default living in a heavy module, computed only when shown.

Building the parser imports every command module (`pension-bot --help` included), so those
modules import nothing heavy at module level. Where a help text names a value that lives in
a heavy module (a threshold beside the face pipeline), the text says `%(NAME)s` and
`deferred(action, NAME=function)` supplies it: argparse formats an action's help with the
action's attributes, and the function is called (its module imported) only when that help
is printed, so the text shows the one definition of the value, never a copy.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


class _Deferred:
    """Formats as `compute()`, called at each formatting (help is printed once)."""

    def __init__(self, compute: Callable[[], object]) -> None:
        self._compute = compute

    def __str__(self) -> str:
        return str(self._compute())


def deferred(action: argparse.Action, **values: Callable[[], object]) -> argparse.Action:
    """Let `action`'s help name `%(NAME)s` for each NAME given, its text computed when shown."""
    for name, compute in values.items():
        if hasattr(action, name):  # the action's own attributes (default, dest, ...) stay its own
            raise ValueError(f"`{name}` is an attribute of the argument already")
        setattr(action, name, _Deferred(compute))
    return action
