"""Command groups shared by several command modules (`bench`, `check`, `eval`, `roster`).

argparse refuses to add the same command twice, yet `bench verify` (faces) and
`bench roster-import` (roster) live in different modules. Every module asks for the group
here; the first caller creates it, the others get the same sub-command list back.
"""

from __future__ import annotations

import argparse

# id(top-level subparsers) -> (that object, {group name: its sub-command list}). The object
# is kept so its id cannot be reused by another parser while the entry exists.
_groups: dict[int, tuple[argparse._SubParsersAction, dict[str, argparse._SubParsersAction]]] = {}


def group(subparsers: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    """The sub-command list of the command `name`, created on first use."""
    entry = _groups.get(id(subparsers))
    if entry is None or entry[0] is not subparsers:
        entry = (subparsers, {})
        _groups[id(subparsers)] = entry
    groups = entry[1]
    if name not in groups:
        groups[name] = _existing(subparsers, name) or subparsers.add_parser(
            name, help=help, description=help
        ).add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")
    return groups[name]


def _existing(subparsers: argparse._SubParsersAction, name: str) -> argparse._SubParsersAction | None:
    """A group some module made without this helper: adopt it rather than clash with it."""
    parser = subparsers.choices.get(name)
    if parser is None:
        return None
    for action in parser._actions:  # argparse has no public accessor for this
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise ValueError(f"`{name}` is already a command without sub-commands")
