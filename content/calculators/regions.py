"""Region parameters (average wage, floor and ceiling of the base, rates, due day), as data.

Each region is one TOML file in content/data/regions/. The shipped ones are SAMPLE figures
for demonstration (`sample = true`), shown with that label wherever they are used. A region
is checked when loaded: shares and rates in sensible ranges, the floor below the ceiling,
the employee's unemployment rate not above the employer's (FACTS.md).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from content.calculators.money import to_fen

REGIONS_DIR = Path(__file__).resolve().parents[1] / "data" / "regions"
INSURANCES = ("pension", "medical", "unemployment")


class RegionDataError(ValueError):
    pass


@dataclass(frozen=True)
class Shares:
    employer: Decimal
    employee: Decimal


@dataclass(frozen=True)
class Region:
    code: str
    names: dict[str, str]
    year: int
    sample: bool
    due_day: int
    average_wage: Decimal
    floor: Decimal
    ceiling: Decimal
    rates: dict[str, Shares]  # pension, medical (maternity merged), unemployment
    injury_classes: dict[str, Decimal]
    default_injury_class: str

    def name(self, language: str) -> str:
        return self.names.get("zh" if language == "zh_Hans" else "en") or self.names["zh"]

    def injury_rate(self, injury_class: str | None = None) -> Decimal:
        return self.injury_classes[injury_class or self.default_injury_class]

    def clamp(self, wage: Decimal) -> Decimal:
        """The base for a wage: the wage, raised to the floor or lowered to the ceiling."""
        return min(max(wage, self.floor), self.ceiling)

    def total_rate(self, injury_class: str | None = None) -> Decimal:
        """Employer and employee shares of all insurances together, work injury included."""
        shares = sum((s.employer + s.employee for s in self.rates.values()), Decimal(0))
        return shares + self.injury_rate(injury_class)


def _decimal(value: object, where: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation as error:
        raise RegionDataError(f"{where}: {value!r} is not a number") from error
    if not result.is_finite():
        raise RegionDataError(f"{where}: {value!r} is not a number")
    return result


def load_region(path: Path) -> Region:
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        wages = data["wages"]
        average = _decimal(wages["average_monthly"], f"{where} average_monthly")
        floor = to_fen(average * _decimal(wages.get("floor_share", "0.60"), f"{where} floor_share"))
        ceiling = to_fen(average * _decimal(wages.get("ceiling_share", "3.00"), f"{where} ceiling_share"))
        if "floor" in wages:
            floor = _decimal(wages["floor"], f"{where} floor")
        if "ceiling" in wages:
            ceiling = _decimal(wages["ceiling"], f"{where} ceiling")
        rates = {
            name: Shares(
                _decimal(data["rates"][name]["employer"], f"{where} {name} employer"),
                _decimal(data["rates"][name]["employee"], f"{where} {name} employee"),
            )
            for name in INSURANCES
        }
        injury = data["work_injury"]
        classes = {
            str(k): _decimal(v, f"{where} work injury class {k}") for k, v in injury["classes"].items()
        }
        region = Region(
            code=str(data["code"]),
            names={"zh": data["name"]["zh"], "en": data["name"]["en"]},
            year=int(data["year"]),
            sample=bool(data.get("sample", False)),
            due_day=int(data["due_day"]),
            average_wage=average,
            floor=floor,
            ceiling=ceiling,
            rates=rates,
            injury_classes=classes,
            default_injury_class=str(injury["default_class"]),
        )
    except (KeyError, TypeError, tomllib.TOMLDecodeError) as error:
        raise RegionDataError(f"{where}: missing or malformed {error}") from error
    _check(region, where)
    return region


def _check(region: Region, where: str) -> None:
    problems = []
    if not 0 < region.floor < region.ceiling:
        problems.append("the floor must be positive and below the ceiling")
    if not 1 <= region.due_day <= 28:
        problems.append("due_day must be 1-28 (a day every month has)")
    for name, shares in region.rates.items():
        if not (0 <= shares.employer <= Decimal("0.3") and 0 <= shares.employee <= Decimal("0.3")):
            problems.append(f"{name} rates must be between 0 and 0.3")
    unemployment = region.rates["unemployment"]
    if unemployment.employee > unemployment.employer:
        problems.append("the employee's unemployment rate may not exceed the employer's")
    if region.default_injury_class not in region.injury_classes:
        problems.append("default_class is not one of the work injury classes")
    if any(not 0 < rate <= Decimal("0.1") for rate in region.injury_classes.values()):
        problems.append("work injury rates must be between 0 and 0.1")
    if problems:
        raise RegionDataError(f"{where}: " + "; ".join(problems))


@dataclass(frozen=True)
class RegionCatalogue:
    regions: tuple[Region, ...]

    def get(self, code: str) -> Region | None:
        return next((region for region in self.regions if region.code == code), None)

    @property
    def default(self) -> Region:
        return self.regions[0]


def load_regions(directory: Path = REGIONS_DIR) -> RegionCatalogue:
    regions = tuple(load_region(path) for path in sorted(directory.glob("*.toml")))
    if not regions:
        raise RegionDataError(f"no region files in {directory}")
    codes = [region.code for region in regions]
    if len(set(codes)) != len(codes):
        raise RegionDataError("two region files use the same code")
    return RegionCatalogue(regions)
