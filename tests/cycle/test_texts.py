"""The status screen and reminder texts, in both languages, without Telegram."""

from __future__ import annotations

from datetime import date

import pytest

from bot.cycle_texts import month_text, reminder_text, status_text
from content.i18n import Translator
from verification.cycle.service import ReminderNotice, RetireeStatus

ZH, EN = Translator("zh_Hans"), Translator("en")


def status(**changes) -> RetireeStatus:
    values = dict(
        retiree_id=1,
        name="王秀兰",
        for_helper=False,
        last_certified_on=date(2025, 3, 5),
        due_on=date(2026, 3, 5),
        state="valid",
        days_left=120,
        payment_state="active",
        suspends_on=date(2026, 4, 5),
        suspended_on=None,
        back_pay_months=(),
    )
    values.update(changes)
    return RetireeStatus(**values)


def test_dates_follow_the_language():
    assert ZH.date(date(2026, 3, 5)) == "2026年3月5日"
    assert EN.date(date(2026, 3, 5)) == "5 March 2026"
    assert month_text(ZH, "2026-04") == "2026年4月"
    assert month_text(EN, "2026-04") == "April 2026"


def test_valid_status_at_a_glance():
    text = status_text(ZH, [status()])
    assert "王秀兰" in text and "2025年3月5日" in text and "2026年3月5日" in text
    assert "✅" in text and "120 天" in text
    text = status_text(EN, [status()])
    assert "5 March 2025" in text and "5 March 2026" in text and "✅" in text and "120 days" in text


@pytest.mark.parametrize(
    ("changes", "zh", "en"),
    [
        (dict(state="due_soon", days_left=7), ["⏰", "7 天", "开始认证"], ["⏰", "7 days", "Certify now"]),
        (dict(state="due_soon", days_left=1), ["⏰", "1 天"], ["1 day."]),
        (dict(state="due_soon", days_left=0), ["⏰", "今天"], ["today"]),
        (
            dict(state="overdue", days_left=-3),
            ["⚠️", "3 天", "2026年4月5日", "暂停"],
            ["⚠️", "3 days", "suspended"],
        ),
        (
            dict(
                state="suspended",
                suspended_on=date(2026, 4, 6),
                suspends_on=None,
                back_pay_months=("2026-04",),
            ),
            ["⛔", "2026年4月6日", "社区", "补发", "2026年4月"],
            ["⛔", "6 April 2026", "community", "paid back", "April 2026"],
        ),
        (
            dict(state="never", last_certified_on=None, due_on=None, days_left=None),
            ["还没有"],
            ["No certification"],
        ),
        (
            dict(back_pay_months=("2026-11", "2026-12", "2027-01")),
            ["2026年11月、2026年12月、2027年1月"],
            ["November 2026, December 2026, January 2027"],
        ),
    ],
)
def test_each_state_in_plain_words(changes, zh, en):
    for t, expected in ((ZH, zh), (EN, en)):
        text = status_text(t, [status(**changes)])
        for piece in expected:
            assert piece in text, (t.language, piece, text)


def test_a_helper_sees_whose_status_it_is():
    text = status_text(ZH, [status(), status(retiree_id=2, name="李建国", for_helper=True)])
    assert "王秀兰" in text and "李建国（您帮助的老人）" in text


def test_no_binding_points_to_the_bind_button():
    assert "🔗 绑定身份" in status_text(ZH, [])
    assert "🔗 Link my record" in status_text(EN, [])


def notice(**changes) -> ReminderNotice:
    values = dict(
        retiree_id=1,
        chat_id=10,
        retiree_name="王秀兰",
        due_on=date(2026, 3, 5),
        days_before=7,
        days_left=7,
        for_helper=False,
        language="zh_Hans",
    )
    values.update(changes)
    return ReminderNotice(**values)


def test_reminders_say_when_how_and_why():
    text = reminder_text(ZH, notice())
    assert "还有 7 天到期" in text and "2026年3月5日" in text and "开始认证" in text and "暂停" in text
    assert "王秀兰" not in text  # to the retiree themself: "您的认证"
    helper = reminder_text(ZH, notice(for_helper=True))
    assert "您帮助的王秀兰" in helper
    english = reminder_text(EN, notice(for_helper=True, days_left=1))
    assert "王秀兰" in english and "in 1 day " in english and "5 March 2026" in english
    assert "today" in reminder_text(EN, notice(days_left=0))
