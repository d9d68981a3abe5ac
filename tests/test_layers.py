"""The dependency rules of ARCHITECTURE.md, read from the source (every import statement,
at module level or inside functions), so the map and the tree cannot drift apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOMAIN = ("accounts", "verification", "content", "training")


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
    above = ("accounts", "verification", "content", "bot", "web", "broker", "app", "demo")
    assert offenders(("storage",), above) == []


def test_kernel_imports_no_other_package_of_the_project() -> None:
    project = ("accounts", "verification", "content", "bot", "web", "broker", "app", "demo", "storage")
    assert offenders(("kernel",), project) == []


def test_domain_imports_no_adapter_or_entry_point() -> None:
    assert offenders(DOMAIN, ("bot", "web", "broker", "app", "demo", "liveness_lab")) == []


def test_only_entry_points_use_the_demo_and_the_lab() -> None:
    production = (*DOMAIN, "kernel", "storage", "bot", "web", "broker")
    assert offenders(production, ("demo", "liveness_lab")) == []


# What builds a query: repositories (storage/) are the only place that may use these.
QUERY_BUILDERS = frozenset({"select", "update", "delete", "insert", "func", "text", "and_", "or_"})
QUERY_FREE = ("verification", "content", "accounts", "training", "bot", "web", "broker")
# A session used directly (`uow.session`, `session.execute(...)`): the unit of work and its
# repositories are the way to the database outside storage/.
SESSION_USE = re.compile(
    r"\.session\b|\bsession\.(?:execute|scalars?|get|add|add_all|flush|delete|merge|refresh|begin_nested)\("
)


def _builds_queries(module: str) -> bool:
    return module in ("sqlalchemy", "sqlalchemy.sql") or module.startswith("sqlalchemy.sql.")


def query_builders_imported(package: str) -> list[tuple[str, list[str]]]:
    bad = []
    for path in sorted((REPO / package).rglob("*.py")):
        hits: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if _builds_queries(node.module):
                    hits |= {alias.name for alias in node.names if alias.name in {*QUERY_BUILDERS, "*"}}
            elif isinstance(node, ast.Import):
                # `import sqlalchemy as sa` would build queries as `sa.select(...)`.
                hits |= {
                    alias.name
                    for alias in node.names
                    if alias.name == "sqlalchemy" or alias.name.startswith("sqlalchemy.sql")
                }
        if hits:
            bad.append((str(path.relative_to(REPO)), sorted(hits)))
    return bad


def sessions_used(package: str) -> list[str]:
    bad = []
    for path in sorted((REPO / package).rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SESSION_USE.search(line):
                bad.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    return bad


@pytest.mark.parametrize("package", QUERY_FREE)
def test_no_query_is_built_outside_storage(package: str) -> None:
    assert query_builders_imported(package) == []
    assert sessions_used(package) == []
