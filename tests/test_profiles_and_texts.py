"""Profiles (language, role) and the translation catalogs, without Telegram."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from accounts.profiles import ProfileService, Role, UnknownLanguage
from bot.menu import MAIN_MENUS
from content.i18n import Translator, available_languages, message_ids

REPO = Path(__file__).resolve().parents[1]


async def test_first_contact_creates_a_profile_in_the_default_language(uow_factory):
    profiles = ProfileService(uow_factory, default_language="zh_Hans")
    profile = await profiles.greet(42, 42)
    assert (profile.language, profile.role) == ("zh_Hans", None)
    assert (await profiles.greet(42, 42)) == profile


async def test_language_and_role_are_kept(uow_factory):
    profiles = ProfileService(uow_factory)
    await profiles.set_language(7, 7, "en")
    await profiles.set_role(7, 7, Role.EMPLOYER)
    assert await profiles.profile(7) == (await profiles.greet(7, 7))
    assert (await profiles.profile(7)).language == "en"
    assert (await profiles.profile(7)).role is Role.EMPLOYER


async def test_unknown_language_is_refused(uow_factory):
    with pytest.raises(UnknownLanguage):
        await ProfileService(uow_factory).set_language(7, 7, "fr")


def test_both_catalogs_hold_the_same_keys():
    languages = available_languages()
    assert languages == ["en", "zh_Hans"]
    assert message_ids("en") == message_ids("zh_Hans")


def test_every_key_the_code_uses_is_in_the_catalogs():
    used: set[str] = set()
    for path in [*REPO.glob("bot/**/*.py"), *REPO.glob("content/**/*.py")]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", path.read_text()))
    for menu in MAIN_MENUS.values():
        used |= {f"menu.{action}" for row in menu for action in row}
    used |= {f"role.button.{role.value}" for role in Role} | {f"welcome.{role.value}" for role in Role}
    missing = used - message_ids("zh_Hans")
    assert not missing, f"keys used in code but missing from the catalogs: {sorted(missing)}"


def test_guides_cite_their_articles_in_both_languages():
    for language in ("zh_Hans", "en"):
        t = Translator(language)
        assert "88" in t("info.fraud") or "第八十八条" in t("info.fraud")
        assert "第八十六条" in t("info.employer_duties") or "Art. 86" in t("info.employer_duties")


def test_placeholders_are_filled():
    assert Translator("en")("role.chosen", role="Retiree") == "Chosen: Retiree"
    assert Translator("unknown")("menu.help") == Translator("zh_Hans")("menu.help")


def test_every_reason_a_retiree_cannot_certify_now_has_words_in_both_languages():
    # Found in the demo: a video note sent before consent showed the raw key cert.no_consent.
    from bot.handlers.certification import NOT_READY_TEXT, video_result_text
    from verification.certification.attempts import CertificationResult, Outcome
    from verification.certification.service import ReadinessState

    assert set(NOT_READY_TEXT) == set(ReadinessState) - {ReadinessState.READY, ReadinessState.CHOOSE}
    for language in available_languages():
        assert set(NOT_READY_TEXT.values()) <= message_ids(language), language
        t = Translator(language)
        for state in set(ReadinessState) - {ReadinessState.READY}:
            text = video_result_text(t, CertificationResult(Outcome.REFUSED, state))
            assert text and "cert." not in text and "care." not in text, (language, state)
    assert "同意" in video_result_text(
        Translator("zh_Hans"), CertificationResult(Outcome.REFUSED, "no_consent")
    )


def test_a_text_no_catalog_holds_fails_a_test_and_never_shows_its_key(monkeypatch, caplog):
    from content.i18n import MissingText

    with pytest.raises(MissingText):
        Translator("en")("cert.no_such_text")  # the tests run strict (tests/conftest.py)
    monkeypatch.setattr(Translator, "strict", False)  # as in the bot
    with caplog.at_level("ERROR", logger="content.i18n"):
        shown = Translator("en")("cert.no_such_text")
    assert shown == Translator("en")("error.generic") and "cert." not in shown
    assert "cert.no_such_text" in caplog.text


def test_every_care_outcome_has_words_in_both_languages():
    # The states are enums and the handlers map each to one catalog key (a presenter), so a new
    # state without words fails here rather than showing a raw key to a relative or a helper.
    from bot.handlers.home_visits import VISIT_TEXT
    from bot.handlers.life_events import REPORT_TEXT
    from verification.care.home_visits import VisitState
    from verification.care.life_events import ReportState

    assert set(VISIT_TEXT) == set(VisitState) - {VisitState.CAN_ASK}  # CAN_ASK asks the reason
    assert set(REPORT_TEXT) == set(ReportState) - {ReportState.REPORTED}  # thanked for by kind
    kinds = [f"care.life.{kind}_reported" for kind in ("death", "hospital")]
    for language in available_languages():
        assert {*VISIT_TEXT.values(), *REPORT_TEXT.values(), *kinds} <= message_ids(language), language


def test_every_verdict_on_a_video_note_has_words_in_both_languages():
    # Each outcome and each reason the judge can give is shown through video_result_text; the
    # strict translator of the tests fails on any key no catalog holds.
    from bot.handlers.certification import video_result_text
    from verification.certification.attempts import CertificationResult, Outcome
    from verification.liveness.actions import Action
    from verification.liveness.judge import LivenessReason
    from verification.liveness.video import VideoReason

    retries = {LivenessReason.NO_FACE, LivenessReason.SEVERAL_FACES}
    failures = set(LivenessReason) - retries - {LivenessReason.LIVE_MATCH}
    results = [CertificationResult(Outcome.NOT_PASSED, reason, tries_left=2) for reason in failures]
    results += [CertificationResult(Outcome.RETRY, reason) for reason in {*VideoReason, *retries}]
    results += [
        CertificationResult(Outcome.NEXT_STEP, "step", next_actions=(Action.BLINK,)),
        CertificationResult(Outcome.CERTIFIED, "live_match", valid_until=date(2027, 12, 4)),
        CertificationResult(Outcome.REVIEW_OPENED, "no_match", review_case_id=1),
    ]
    for language in available_languages():
        t = Translator(language)
        texts = [video_result_text(t, result) for result in results]
        raw_key = re.compile(r"\b(?:live|cert)\.[a-z_]")  # a key shown as it is
        assert all(text and not raw_key.search(text) for text in texts), language


def test_every_audit_decision_has_words_in_both_languages():
    from bot.handlers.audits import _decided_text
    from verification.certification.pass_audit import AuditDecision, AuditVerdict

    for language in available_languages():
        t = Translator(language)
        texts = {
            verdict: _decided_text(t, 7, AuditDecision(7, verdict, "张三", 12)) for verdict in AuditVerdict
        }
        assert len(set(texts.values())) == len(AuditVerdict) and all("7" in text for text in texts.values())
        assert "7" in _decided_text(t, 7, None)  # decided meanwhile by a colleague


def test_every_state_staff_see_on_an_assistance_request_has_words_in_both_languages():
    from verification.records.assistance import WAITING

    for language in available_languages():
        assert {f"xreq.state.{state}" for state in WAITING} <= message_ids(language), language


def test_every_campaign_status_has_words_in_both_languages():
    from storage.models.publicity import CampaignStatus

    for language in available_languages():
        assert {f"campaign.status.{status}" for status in CampaignStatus} <= message_ids(language), language


def test_every_review_decision_has_words_for_staff_and_for_whom_it_tells():
    from bot.handlers.review import _outcome_key
    from bot.presenters.review import decision_key
    from verification.certification.review import DecisionOutcome

    worded = set(DecisionOutcome) - {DecisionOutcome.CERTIFICATION}  # approve/reject words of its own
    told = worded - {DecisionOutcome.AUDIT_UPHELD}  # nobody was told of the doubt, so nobody is told
    for language in available_languages():
        keys = {_outcome_key(o) for o in worded} | {decision_key(o.value) for o in told}
        keys |= {decision_key("approved"), decision_key("rejected")}
        assert keys <= message_ids(language), language
