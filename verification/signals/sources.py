"""What each feed proves, read from `data/signal_sources.toml` (see the comments there)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

DEFAULT_SOURCES_FILE = Path(__file__).resolve().parents[1] / "data" / "signal_sources.toml"
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

Kind = Literal["life", "death"]


class SourceError(ValueError):
    """The sources file is malformed, or a feed names a source it does not list."""


@dataclass(frozen=True)
class SourcePolicy:
    name: str
    kind: Kind
    proves_life: bool = False
    in_person: bool = False
    max_age_days: int = 0

    @property
    def is_death(self) -> bool:
        return self.kind == "death"


@dataclass(frozen=True)
class SignalSources:
    sources: Mapping[str, SourcePolicy]
    certify_from_days_before_due: int = 90

    def get(self, name: str) -> SourcePolicy:
        policy = self.sources.get(name)
        if policy is None:
            raise SourceError(f"unknown source {name!r}; the sources are: {', '.join(sorted(self.sources))}")
        return policy

    @classmethod
    def load(cls, path: Path = DEFAULT_SOURCES_FILE) -> SignalSources:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise SourceError(f"{path}: {error}") from error
        window = data.get("certify_from_days_before_due", 90)
        if not isinstance(window, int) or not 0 <= window <= 366:
            raise SourceError("certify_from_days_before_due must be a whole number of days, 0 to 366")
        sources: dict[str, SourcePolicy] = {}
        for name, entry in (data.get("sources") or {}).items():
            sources[name] = _policy(name, entry)
        if not sources:
            raise SourceError(f"{path}: no [sources.NAME] tables")
        return cls(MappingProxyType(sources), window)


def _policy(name: str, entry: Any) -> SourcePolicy:
    if not _NAME.match(name) or not isinstance(entry, dict):
        raise SourceError(f"[sources.{name}]: a name of lower-case letters, digits and _ with a table")
    unknown = set(entry) - {"kind", "proves_life", "in_person", "max_age_days"}
    if unknown:
        raise SourceError(f"[sources.{name}]: unknown keys {sorted(unknown)}")
    kind = entry.get("kind")
    if kind not in ("life", "death"):
        raise SourceError(f'[sources.{name}]: kind must be "life" or "death"')
    if kind == "death":
        if not name.startswith("death_"):
            raise SourceError(f"[sources.{name}]: a death source's name starts with death_")
        return SourcePolicy(name, "death")
    if name.startswith("death_"):
        raise SourceError(f"[sources.{name}]: only death sources' names start with death_")
    flags = {key: entry.get(key, False) for key in ("proves_life", "in_person")}
    if not all(isinstance(value, bool) for value in flags.values()):
        raise SourceError(f"[sources.{name}]: proves_life and in_person are true or false")
    age = entry.get("max_age_days")
    if not isinstance(age, int) or isinstance(age, bool) or not 1 <= age <= 366:
        raise SourceError(f"[sources.{name}]: max_age_days must be 1 to 366")
    return SourcePolicy(name, "life", flags["proves_life"], flags["in_person"], age)
