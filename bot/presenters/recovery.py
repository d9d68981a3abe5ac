"""Recovery cases in words, for the staff's screen and the command line (catalog keys
recovery.*): the services compute (verification/recovery/service.py), this module says it."""

from __future__ import annotations

from content.i18n import Translator
from verification.recovery.letter import months_text
from verification.recovery.overpayment import yuan
from verification.recovery.service import (
    CaseSummary,
    CaseView,
    RecoveryRefused,
    StepView,
)


def case_text(t: Translator, summary: CaseSummary, masked_id: str) -> str:
    return t(
        "recovery.item",
        case_id=summary.case_id,
        name=summary.retiree_name,
        masked_id=masked_id,
        region=summary.region,
        state=t(f"recovery.state.{summary.state.value}"),
        ended=t.date(summary.entitlement_ended_on),
        months=months_text(t, summary.months),
        monthly=yuan(summary.monthly_fen),
        overpaid=yuan(summary.overpaid_fen),
        recovered=yuan(summary.recovered_fen),
        outstanding=yuan(summary.outstanding_fen),
    )


def view_text(t: Translator, view: CaseView) -> str:
    """The case, the plan agreed and whether a write-off waits for a second staff member."""
    parts = [case_text(t, view.summary, view.masked_id_number)]
    if view.plan:
        lines = "\n".join(
            t("recovery.plan_line", due=t.date(item.due_on), amount=yuan(item.amount_fen))
            for item in view.plan
        )
        parts.append(t("recovery.plan", lines=lines))
    if view.write_off_requested_by is not None:
        parts.append(t("recovery.write_off_waiting"))
    return "\n\n".join(parts)


def step_text(t: Translator, step: StepView) -> str:
    return t(
        "recovery.cli.step",
        at=step.at.strftime("%Y-%m-%d %H:%M"),
        kind=t(f"recovery.step.{step.kind.value}"),
        amount=yuan(step.amount_fen) if step.amount_fen is not None else "",
        staff=step.staff_id if step.staff_id is not None else "—",
    )


def payment_text(t: Translator, amount_fen: int, summary: CaseSummary) -> str:
    key = "recovery.payment_recorded" if not summary.closed else "recovery.recovered"
    return t(key, amount=yuan(amount_fen), case_id=summary.case_id, outstanding=yuan(summary.outstanding_fen))


def refusal_text(t: Translator, refused: RecoveryRefused) -> str:
    return t(f"recovery.refused.{refused.reason.value}")
