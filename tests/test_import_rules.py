"""The composition root's import rules (issue 14): app/ has no import cycle, nothing outside
the command modules imports one, and building the console command's parser (what
`pension-bot --help` does) loads none of the heavy libraries.

Imports are read from the source (every import statement, at module level or inside a
function: a function-level import closes a cycle just as well, only later)."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

from tests.cli import REPO_ROOT, cli_env

APP = REPO_ROOT / "app"
# Libraries that take a second or more to import, or that a console command only needs once
# it runs: none of them may be loaded to build the parser.
HEAVY = ("sqlalchemy", "telegram", "numpy", "alembic", "dlib", "face_recognition")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `name` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package `level - 1` steps up
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from a import b` imports a, and a.b where b is a module
            candidates = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {candidate for candidate in candidates if candidate in known}
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = app_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path back to its start) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_path_through(graph, group) for group in groups]


def _path_through(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """A shortest import path from the group's first module back to itself."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    return group


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_app_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_only_command_modules_import_command_modules() -> None:
    """app.commands is the top of the tree: the runtime, the benches and the workers it calls
    never import a command module (what two of them share lives in a module of its own)."""
    offenders = {
        name: sorted(target for target in targets if target.startswith("app.commands"))
        for name, targets in import_graph().items()
        if not name.startswith("app.commands") and name != "app.cli"
    }
    assert {name: targets for name, targets in offenders.items() if targets} == {}


def test_app_cli_imports_only_the_command_package() -> None:
    targets = import_graph()["app.cli"]
    assert {target for target in targets if target.startswith("app.commands")} == {"app.commands"}


def test_building_the_parser_loads_no_heavy_library() -> None:
    """What `pension-bot --help` imports: the command modules import their work inside the
    handlers, so that the help (and a typo's usage message) comes at once."""
    script = (
        "import sys; from app.cli import build_parser; build_parser(); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_help_still_names_defaults_from_heavy_modules() -> None:
    """Help texts read such defaults when shown (app/commands/_help.py), not from a copy."""
    from app.cli import build_parser
    from content.publicity.sender import TELEGRAM_RATE
    from verification.faces.pipeline import DEFAULT_MATCH_THRESHOLD

    parser = build_parser()
    assert parser.parse_args(["check", "photo", "--reference", "a", "--photo", "b"]).threshold is None
    assert f"dlib ships {DEFAULT_MATCH_THRESHOLD})" in help_of(parser, "check", "photo")
    assert f"messages a second (default {TELEGRAM_RATE:g})" in help_of(parser, "bench", "broadcast")


def help_of(parser: argparse.ArgumentParser, *path: str) -> str:
    """The help of the sub-command `path`, its lines joined (so no line break splits a phrase)."""
    for name in path:
        [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = subparsers.choices[name]
    return " ".join(parser.format_help().split())
