"""The attack renderer stays out of the product: liveness_lab/ is not an installed package,
no installed module imports it when loaded (the two measuring commands load it on demand, in
a checkout), `pension-bot` offers no renderer, and the lab's own `sample` command renders one
animated take for evaluation."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import av
import pytest
from setuptools import find_packages

from app.cli import main
from tests.conftest import REPO_ROOT, faces_dir

# Benches that import the lab when they are loaded: only `pension-bot bench faults` loads this
# one, when it runs (its video notes are rendered takes).
LOADED_BY_A_BENCH = {"app/fault_bench.py"}


def _installed_packages() -> list[str]:
    with open(REPO_ROOT / "pyproject.toml", "rb") as handle:
        include = tomllib.load(handle)["tool"]["setuptools"]["packages"]["find"]["include"]
    return find_packages(where=str(REPO_ROOT), include=include)


def test_the_lab_is_not_an_installed_package() -> None:
    packages = _installed_packages()
    assert "verification.liveness" in packages and "app" in packages
    assert not [p for p in packages if p.startswith("liveness_lab") or p.endswith(".synthesis")]


def test_no_installed_module_imports_the_lab_when_loaded() -> None:
    offenders = []
    for package in _installed_packages():
        folder = REPO_ROOT / package.replace(".", "/")
        for source in sorted(folder.glob("*.py")):
            relative = source.relative_to(REPO_ROOT).as_posix()
            for node in ast.parse(source.read_text(encoding="utf-8")).body:  # module level only
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                if any(n == "liveness_lab" or n.startswith("liveness_lab.") for n in names):
                    offenders.append(relative)
    assert set(offenders) <= LOADED_BY_A_BENCH, offenders


def test_pension_bot_offers_no_renderer(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["liveness", "sample", "--photo", "x.jpg", "--actions", "blink", "--out", "x.mp4"])
    assert exit_.value.code == 2
    assert "invalid choice: 'liveness'" in capsys.readouterr().err


def test_the_measuring_commands_find_the_lab_in_a_checkout(tmp_path: Path) -> None:
    # As `.venv/bin/pension-bot` runs: the project's packages from the installed copy, the
    # checkout's root not on the path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", "from app.lab import lab_module; print(lab_module('synthesis').__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "No module named 'app'" in done.stderr:
        pytest.skip("the project is not installed in this interpreter (editable, as `uv sync` does)")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == REPO_ROOT / "liveness_lab" / "synthesis" / "__init__.py"


def test_without_a_checkout_they_say_so_in_one_line(monkeypatch, capsys, tmp_path: Path) -> None:
    import app.lab

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None)
    monkeypatch.setattr(app.lab, "CHECKOUT", tmp_path)
    assert main(["eval", "liveness"]) == 2
    assert main(["bench", "liveness"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all("needs a checkout of the project" in line for line in lines), lines


def test_the_lab_renders_an_animated_take_for_evaluation(tmp_path: Path, capsys) -> None:
    from liveness_lab.__main__ import main as lab

    photo = faces_dir() / "people/cn_119_cai_gang/2.jpg"
    out = tmp_path / "take.mp4"
    assert (
        lab(["sample", "--photo", str(photo), "--actions", "blink", "--out", str(out), "--size", "240"]) == 0
    )
    assert "animated-photo attack" in capsys.readouterr().out
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.width == 240
    assert (
        lab(["sample", "--photo", str(tmp_path / "none.jpg"), "--actions", "blink", "--out", str(out)]) == 2
    )
