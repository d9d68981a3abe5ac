"""Words for the employer calculators' results, in the asker's language: the services
compute (content/employer_service.py), this module says it (catalog keys calc.*)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from content.calculators.money import InputProblem, format_yuan
from content.calculators.rules import ContributionTable, Deadline, LateFee
from content.i18n import Translator


def problem_text(t: Translator, problem: InputProblem) -> str:
    """Why a typed value cannot be used, and (the caller adds) how to try again."""
    return t(f"calc.error.{problem.code}", **problem.params)


def contributions_text(table: ContributionTable, t: Translator) -> str:
    lines = [
        t(
            "calc.contrib.head",
            region=table.region.name(t.language),
            year=table.region.year,
            wage=format_yuan(table.wage),
            base=format_yuan(table.base),
        )
    ]
    if table.adjusted:
        lines.append(
            t(
                f"calc.contrib.adjusted_{table.adjusted}",
                floor=format_yuan(table.region.floor),
                ceiling=format_yuan(table.region.ceiling),
            )
        )
    lines.append("")
    for line in table.lines:
        lines.append(
            t(
                "calc.contrib.line",
                insurance=t(f"calc.insurance.{line.insurance}"),
                employer_rate=_percent(line.employer_rate),
                employer=format_yuan(line.employer),
                employee_rate=_percent(line.employee_rate),
                employee=format_yuan(line.employee),
            )
        )
    lines += [
        "",
        t(
            "calc.contrib.totals",
            employer=format_yuan(table.employer_total),
            employee=format_yuan(table.employee_total),
            total=format_yuan(table.total),
        ),
        t("calc.contrib.notes", injury_class=table.injury_class),
    ]
    if table.region.sample:
        lines.append(t("calc.sample_region"))
    return "\n".join(lines)


def _percent(rate: Decimal) -> str:
    text = f"{rate * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def late_fee_text(fee: LateFee, t: Translator) -> str:
    return t(
        "calc.late.result",
        amount=format_yuan(fee.amount),
        due=fee.due.isoformat(),
        on=fee.on.isoformat(),
        days=fee.days,
        rate=f"{fee.daily_rate * 100:.2f}%",
        fee=format_yuan(fee.fee),
        total=format_yuan(fee.total),
    )


def deadline_text(deadline: Deadline, t: Translator, today: date) -> str:
    left = deadline.days_left(today)
    if left > 0:
        state = t("calc.deadline.left", days=left)
    elif left == 0:
        state = t("calc.deadline.today")
    else:
        state = t("calc.deadline.passed", days=-left)
    return t(
        "calc.deadline.result",
        start=deadline.start.isoformat(),
        last_day=deadline.last_day.isoformat(),
        days=deadline.days,
        state=state,
    )
