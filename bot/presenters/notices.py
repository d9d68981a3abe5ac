"""A chat notice in words: a staff member's answer to an employer, a review decision, or the
catalog key `signals.notice.<kind>.<self|helper>` with its parameters shown as people read
them: dates in the language's pattern, amounts in fen as yuan, a feed's source by its name in
words, and the retiree's name."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from bot.presenters.review import decision_text
from content.employer_service import STAFF_ANSWER_NOTICE
from content.i18n import Translator
from verification.certification.review import DECIDED_NOTICE
from verification.signals.notices import OwedNotice


class SubjectGone(LookupError):
    """The row a notice tells of was deleted before it was sent (a withdrawn question)."""


def notice_text(t: Translator, notice: OwedNotice) -> str:
    if notice.kind.startswith(DECIDED_NOTICE):  # a decision made in the web console
        until = notice.params.get("valid_until")
        return decision_text(
            t,
            notice.kind.removeprefix(DECIDED_NOTICE),
            notice.retiree_name or "",
            date.fromisoformat(until) if isinstance(until, str) else None,
        )
    if notice.kind == STAFF_ANSWER_NOTICE:  # an answer given in the web console
        if notice.staff_answer is None:
            raise SubjectGone(notice.kind)  # the job records it undeliverable
        question, answer = notice.staff_answer
        return t("ask.staff_answer", question=question, answer=answer)
    values: dict[str, Any] = {"name": notice.retiree_name or ""}
    for key, value in notice.params.items():
        values[key] = _shown(t, key, value)
    return t(f"signals.notice.{notice.kind}.{'helper' if notice.for_helper else 'self'}", **values)


def _shown(t: Translator, key: str, value: Any) -> Any:
    if key == "source" and isinstance(value, str):
        return t(f"signals.source.{value}")
    if key.endswith("_fen") and isinstance(value, int):
        return f"{Decimal(value) / 100:,.2f}"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        try:
            return t.date(date.fromisoformat(value))
        except ValueError:
            return value
    return value
