"""The quarter's figures as the overview shows them: the headline cards and every figure with
its label (catalog `report.figure.<key>`), its value as people read it and how it was counted."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from content.i18n import Translator, message_ids

if TYPE_CHECKING:
    from verification.reporting.figures import QuarterFigures

# The cards at the top, in this order; the rest is in the table below them.
HEADLINE = ("certified", "due", "overdue", "suspended", "reviews_open", "audits_open", "assistance_open")
# Backlogs shown in red when not zero: somebody is waiting.
ALERTS = frozenset({"overdue", "reviews_open", "audits_open", "assistance_overdue"})


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    note: str = ""
    alert: bool = False


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    source: str


def shown(key: str, value: int | Decimal) -> str:
    if key.endswith("_fen"):
        return f"{Decimal(value) / 100:,.2f}"
    return f"{value:,}"


def coverage_card(figures: QuarterFigures, t: Translator) -> Card:
    roster, checked = figures.value("retirees"), figures.value("checked_year")
    share = checked / roster if roster else 0.0
    return Card(
        t("console.overview.coverage"),
        f"{share:.1%}",
        t("console.overview.coverage_note", checked=f"{checked:,}", target=f"{figures.target:.0%}"),
        alert=share < figures.target,
    )


def headline(figures: QuarterFigures, t: Translator) -> list[Card]:
    cards = [coverage_card(figures, t)]
    for key in HEADLINE:
        if key in figures.figures:
            value = figures.figures[key].value
            cards.append(
                Card(t(f"report.figure.{key}"), shown(key, value), alert=key in ALERTS and bool(value))
            )
    return cards


def rows(figures: QuarterFigures, t: Translator) -> list[Row]:
    return [
        Row(t(f"report.figure.{key}"), shown(key, f.value), f.source_text(t))
        for key, f in figures.figures.items()
    ]


def code_word(t: Translator, kind: str, code: str) -> str:
    """The words for a stored code (`console.<kind>.<code>`: an event, a method); the code
    itself for one a newer version wrote that this one has no words for."""
    key = f"console.{kind}.{code}"
    return t(key) if key in _known(t.language) else code


@cache
def _known(language: str) -> frozenset[str]:
    return frozenset(message_ids(language))
