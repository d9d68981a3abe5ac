"""What the retiree's chats are told of a decision on a review case, wherever it was made: at
once by the bot (bot/handlers/review.py), or by the notice job for a decision made in the web
console (a chat notice of kind "decided:<word>", verification.certification.review)."""

from __future__ import annotations

from datetime import date

from content.i18n import Translator


def decision_key(word: str) -> str:
    """The catalog key of the message for a decision's word (`decision_word`)."""
    if word in ("approved", "rejected"):
        return f"review.notify.{word}"
    if word.startswith("audit_"):
        return f"audit.review.notify.{word}"
    return f"care.notify.{word}"


def decision_text(t: Translator, word: str, name: str, valid_until: date | None) -> str:
    if word == "approved":
        return t(decision_key(word), name=name, valid_until=t.date(valid_until) if valid_until else "")
    return t(decision_key(word), name=name)
