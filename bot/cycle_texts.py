"""Texts of the certification cycle: the status screen and the reminders.

Plain functions of a Translator and the service's dataclasses, so they are tested without
Telegram. Dates follow the language: 2026年3月5日, 5 March 2026 (the patterns are in the
catalogs: `cycle.date_pattern`, `cycle.month_pattern`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from babel.dates import format_date

from content.i18n import Translator
from verification.cycle.service import ReminderNotice, RetireeStatus


def month_text(t: Translator, month: str) -> str:
    """ "2026-03" as 2026年3月 / March 2026."""
    year, number = month.split("-")
    return format_date(date(int(year), int(number), 1), t("cycle.month_pattern"), locale=t.language)


def span_text(t: Translator, days: int) -> str:
    days = abs(days)
    return t("cycle.one_day") if days == 1 else t("cycle.days", days=days)


def status_text(t: Translator, statuses: Sequence[RetireeStatus]) -> str:
    """One message, every bound retiree at a glance."""
    if not statuses:
        return t("status.no_binding", bind=t("menu.bind"))
    blocks = [t("status.title")]
    blocks += [_one_status(t, status) for status in statuses]
    return "\n\n".join(blocks)


def _one_status(t: Translator, status: RetireeStatus) -> str:
    certify = t("menu.certify")
    if status.for_helper:
        lines = [t("status.retiree_helper", name=status.name)]
    else:
        lines = [t("status.retiree_self", name=status.name)]
    if status.last_certified_on:
        lines.append(t("status.last_certified", date=t.date(status.last_certified_on)))
    else:
        lines.append(t("status.last_certified_none"))
    if status.due_on:
        lines.append(t("status.due_on", date=t.date(status.due_on)))
    days = status.days_left
    if status.state == "suspended":
        if status.suspended_on:
            lines.append(t("status.suspended", date=t.date(status.suspended_on), certify=certify))
        else:
            lines.append(t("status.suspended_undated", certify=certify))
    elif status.state == "never":
        lines.append(t("status.never", certify=certify))
    elif status.state == "overdue" and days is not None:
        suspends_on = t.date(status.suspends_on) if status.suspends_on else ""
        lines.append(t("status.overdue", span=span_text(t, days), certify=certify, date=suspends_on))
    elif status.state == "due_soon" and days == 0:
        lines.append(t("status.due_today", certify=certify))
    elif status.state == "due_soon" and days is not None and status.due_on:
        lines.append(
            t("status.due_soon", span=span_text(t, days), certify=certify, date=t.date(status.due_on))
        )
    elif days is not None:
        lines.append(t("status.valid", span=span_text(t, days)))
    else:
        lines.append(t("status.valid_undated"))
    if status.back_pay_months:
        months = t("cycle.separator").join(month_text(t, month) for month in status.back_pay_months)
        if status.state == "suspended":
            lines.append(t("status.back_pay_pending", months=months))
        else:
            lines.append(t("status.back_pay", months=months))
    return "\n".join(lines)


def reminder_text(t: Translator, notice: ReminderNotice) -> str:
    """The reminder: whose certification, by when, how to certify, and why it matters."""
    if notice.days_left <= 0:
        when = t("reminder.due_today")
    else:
        when = t("reminder.due_in", span=span_text(t, notice.days_left))
    values = {"when": when, "date": t.date(notice.due_on), "certify": t("menu.certify")}
    if notice.for_helper:
        return t("reminder.helper", name=notice.retiree_name, **values)
    return t("reminder.self", **values)
