"""Every state, refusal and step of a recovery case has words in both languages, and the
family's notice reads from a ChatNotice's params (amount in fen, months) through the bot's
notice job."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.presenters.notices import notice_text
from bot.presenters.recovery import refusal_text
from content.i18n import Translator
from storage.models.recovery import RecoveryState
from verification.recovery.service import RECOVERY_NOTICE, RecoveryRefused, Refusal, StepKind
from verification.signals.notices import OwedNotice


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_words_for_every_state_refusal_and_step(language):
    t = Translator(language)
    for state in RecoveryState:
        assert t(f"recovery.state.{state.value}")
    for reason in Refusal:
        assert refusal_text(t, RecoveryRefused(reason))
    for kind in StepKind:
        assert t(f"recovery.step.{kind.value}")


def test_the_family_notice_reads_through_the_notice_job():
    """bot/notices.py words each ChatNotice with signals.notice.<kind>.<helper|self>."""
    params = {"case_id": 4, "amount_fen": 1300200, "months": 4}
    notice = OwedNotice(1, 777001, RECOVERY_NOTICE, True, params, "陈淑珍", "zh_Hans")
    zh = notice_text(Translator("zh_Hans"), notice)
    assert "陈淑珍" in zh and "13,002.00 元" in zh and "4 个月" in zh and "哀悼" in zh and "分期" in zh
    assert "第四十六条" in zh
    en = notice_text(Translator("en"), replace(notice, language="en", for_helper=False))
    assert "13,002.00 yuan" in en and "4 more months" in en and "Art. 46" in en
