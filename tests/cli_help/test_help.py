"""Every command's --help prints (a stray '%' in a help text made argparse raise)."""

from __future__ import annotations

import argparse

import pytest

from app.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


def test_every_command_prints_its_help():
    parsers = list(_parsers(build_parser()))
    assert len(parsers) > 20  # the command tree, not just the top
    for path, parser in parsers:
        text = parser.format_help()
        assert text.startswith("usage: pension-bot"), path


def test_the_top_level_help_exits_cleanly(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["--help"])
    assert stop.value.code == 0
    assert "checks" in capsys.readouterr().out
