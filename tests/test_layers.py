"""The dependency rules of ARCHITECTURE.md, read from the source (every import statement,
at module level or inside functions), so the map and the tree cannot drift apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOMAIN = ("accounts", "verification", "content")


def imports_of(package: str) -> dict[str, set[str]]:
    """Module path (relative to the repository) -> the top-level names and dotted modules it
    imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(REPO))] = names
    return found


def offenders(packages: tuple[str, ...], forbidden: tuple[str, ...], allowed: dict[str, str] | None = None):
    allowed = allowed or {}
    bad = []
    for package in packages:
        for module, names in imports_of(package).items():
            hits = sorted(n for n in names if n.split(".")[0] in forbidden and f"{module}:{n}" not in allowed)
            if hits:
                bad.append((module, hits))
    return bad


@pytest.mark.parametrize("package", [*DOMAIN, "storage", "kernel"])
def test_domain_and_storage_know_nothing_of_telegram_or_http(package: str) -> None:
    assert offenders((package,), ("telegram", "aiohttp")) == []


def test_handlers_and_jobs_import_no_sqlalchemy() -> None:
    assert offenders(("bot",), ("sqlalchemy", "alembic")) == []


def test_storage_imports_nothing_above_it() -> None:
    known = {
        # Creates local secrets for an empty database: composition-root work, to move to app/.
        "storage/keyring.py:app.settings": "issue 14",
    }
    above = ("accounts", "verification", "content", "bot", "web", "app", "standin")
    assert offenders(("storage",), above, known) == []


def test_kernel_imports_no_other_package_of_the_project() -> None:
    project = ("accounts", "verification", "content", "bot", "web", "app", "standin", "storage")
    assert offenders(("kernel",), project) == []


def test_domain_imports_no_adapter_or_entry_point() -> None:
    assert offenders(DOMAIN, ("bot", "web", "app", "standin", "liveness_lab")) == []


def test_only_entry_points_use_the_standin_and_the_lab() -> None:
    production = (*DOMAIN, "kernel", "storage", "bot", "web")
    assert offenders(production, ("standin", "liveness_lab")) == []
