"""ConsentService on SQLite and PostgreSQL: decisions, withdrawal, the privacy summary."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from accounts.binding import BindingService
from accounts.consent import CONSENT_TEXT_VERSION, EVIDENCE_RETENTION_DAYS, ConsentService, NotBound
from storage.models.certification import (
    Certification,
    CertificationAttempt,
    Evidence,
    ReferenceFace,
    ReviewCase,
)
from tests.binding.helpers import FakeClock, add_retiree, audit_entries, id_number, unused_code

ELDER = id_number(21)
SELF, HELPER, STRANGER = 9101, 9102, 9199


async def _bound_elder(uow_factory, vault, clock):
    binding = BindingService(uow_factory, vault, clock)
    elder = await add_retiree(uow_factory, vault, ELDER, "赵玉珍", phone="13800000000")
    await binding.issue_codes()
    await binding.bind(SELF, SELF, ELDER, await unused_code(uow_factory, vault, elder), "self")
    await binding.issue_codes([elder])
    await binding.bind(HELPER, HELPER, ELDER, await unused_code(uow_factory, vault, elder), "helper")
    return elder


async def _face_data(uow_factory, vault, retiree_id: int, templates: int, photos: int) -> None:
    async with uow_factory() as uow:
        for _ in range(templates):
            uow.faces.add(
                ReferenceFace(
                    retiree_id=retiree_id,
                    template_encrypted=vault.encrypt(bytes(16)),
                    engine="test",
                    source="roster",
                )
            )
        for n in range(photos):
            attempt = CertificationAttempt(
                idempotency_key=f"tg:{retiree_id}:{n}",
                retiree_id=retiree_id,
                channel="photo",
                outcome="fail",
                reason="no_match",
                evidence_sha256="ab" * 32,
            )
            uow.attempts.add(attempt)
            await uow.session.flush()
            uow.evidence.add(
                Evidence(
                    attempt_id=attempt.id,
                    retiree_id=retiree_id,
                    media_type="image/jpeg",
                    data_encrypted=vault.encrypt(b"jpeg"),
                )
            )
        await uow.commit()


async def test_agree_not_now_and_has_consent(uow_factory, vault):
    clock = FakeClock()
    elder = await _bound_elder(uow_factory, vault, clock)
    consent = ConsentService(uow_factory, clock, vault=vault)
    assert not await consent.has_consent(elder)
    recorded = await consent.record(SELF, elder, "agree")
    assert (recorded.decision, recorded.text_version) == ("agree", CONSENT_TEXT_VERSION)
    assert await consent.has_consent(elder)
    await consent.record(HELPER, elder, "not_now")  # the newest decision counts
    assert not await consent.has_consent(elder)
    with pytest.raises(NotBound):
        await consent.record(STRANGER, elder, "agree")
    with pytest.raises(ValueError):
        await consent.record(SELF, elder, "maybe")


async def test_no_face_opens_one_assisted_request_for_staff(uow_factory, vault):
    clock = FakeClock()
    elder = await _bound_elder(uow_factory, vault, clock)
    consent = ConsentService(uow_factory, clock, vault=vault)
    first = await consent.record(SELF, elder, "no_face")
    again = await consent.record(HELPER, elder, "no_face")
    assert first.review_case_id is not None and again.review_case_id == first.review_case_id
    async with uow_factory() as uow:
        cases = [
            (c.retiree_id, c.opened_because, c.status)
            for c in (await uow.session.execute(select(ReviewCase))).scalars()
        ]
    assert cases == [(elder, "assisted_requested", "pending")]
    assert not await consent.has_consent(elder)


async def test_withdrawal_deletes_templates_and_photos_and_keeps_the_attempts(uow_factory, vault):
    clock = FakeClock()
    elder = await _bound_elder(uow_factory, vault, clock)
    other = await add_retiree(uow_factory, vault, id_number(22), "孙淑华")
    await _face_data(uow_factory, vault, elder, templates=2, photos=3)
    await _face_data(uow_factory, vault, other, templates=1, photos=1)
    consent = ConsentService(uow_factory, clock, vault=vault)
    await consent.record(SELF, elder, "agree")

    with pytest.raises(NotBound):
        await consent.withdraw(elder, STRANGER)
    report = await consent.withdraw(elder, HELPER)
    assert (report.templates_deleted, report.photos_deleted, report.consents_withdrawn) == (2, 3, 1)
    assert not await consent.has_consent(elder)

    async with uow_factory() as uow:
        assert await uow.faces.count_for_retiree(elder) == 0
        assert await uow.evidence.count_for_retiree(elder) == 0
        assert await uow.attempts.count_for_retiree(elder) == 3  # hashes and outcomes stay
        hashes = (
            await uow.session.execute(
                select(CertificationAttempt.evidence_sha256).where(CertificationAttempt.retiree_id == elder)
            )
        ).scalars()
        assert set(hashes) == {"ab" * 32}
        assert await uow.faces.count_for_retiree(other) == 1  # nobody else's data is touched
        assert await uow.evidence.count_for_retiree(other) == 1
    [withdrawn] = [
        entry for entry in await audit_entries(uow_factory, elder) if entry[0] == "consent_withdrawn"
    ]
    assert withdrawn[1] == f"user:{HELPER}"
    assert withdrawn[2] == {"templates_deleted": 2, "photos_deleted": 3, "consents_withdrawn": 1}


async def test_privacy_summary_counts_what_is_held(uow_factory, vault):
    clock = FakeClock()
    elder = await _bound_elder(uow_factory, vault, clock)
    await _face_data(uow_factory, vault, elder, templates=1, photos=2)
    async with uow_factory() as uow:
        uow.certifications.add(
            Certification(
                retiree_id=elder,
                certified_on=date(2026, 11, 1),
                valid_until=date(2027, 11, 1),
                method="assisted",
            )
        )
        await uow.commit()
    consent = ConsentService(uow_factory, clock, vault=vault)
    assert await consent.privacy_summary(STRANGER) == []
    [before] = await consent.privacy_summary(SELF)
    assert before.consent_state == "none" and before.consent_on is None

    await consent.record(SELF, elder, "agree")
    [summary] = await consent.privacy_summary(HELPER)
    assert summary.retiree_id == elder and summary.name == "赵玉珍" and summary.binding_kind == "helper"
    assert summary.masked_id_number == ELDER[:4] + "*" * 10 + ELDER[-4:]
    assert summary.phone_on_file
    assert (summary.face_templates, summary.stored_photos, summary.attempts, summary.certifications) == (
        1,
        2,
        2,
        1,
    )
    assert (summary.consent_state, summary.consent_version) == ("agree", CONSENT_TEXT_VERSION)
    assert summary.consent_on == date(2026, 11, 27)  # 02:00 UTC is 10:00 in Beijing
    assert (summary.pension_region, summary.residence_region) == ("110105", "310104")
    assert summary.linked_accounts == 2
    assert summary.evidence_retention_days == EVIDENCE_RETENTION_DAYS == 180
    assert "赵玉珍" not in repr(summary) and ELDER not in repr(summary)

    clock.advance(days=1)
    await consent.withdraw(elder, SELF)
    [after] = await consent.privacy_summary(SELF)
    assert (after.consent_state, after.consent_on) == ("withdrawn", date(2026, 11, 28))
    assert (after.face_templates, after.stored_photos, after.attempts) == (0, 0, 2)


async def test_agreeing_later_withdraws_the_assisted_request_once_a_face_is_on_file(uow_factory, vault):
    clock = FakeClock()
    elder = await _bound_elder(uow_factory, vault, clock)
    consent = ConsentService(uow_factory, clock, vault=vault)
    booked = await consent.record(SELF, elder, "no_face")
    await consent.record(SELF, elder, "agree")  # no reference face: only staff can help
    async with uow_factory() as uow:
        assert (await uow.reviews.get(booked.review_case_id)).status == "pending"
    await _face_data(uow_factory, vault, elder, templates=1, photos=0)
    agreed = await consent.record(SELF, elder, "agree")
    assert agreed.review_case_id == booked.review_case_id
    async with uow_factory() as uow:
        assert (await uow.reviews.get(booked.review_case_id)).status == "withdrawn"
        assert await uow.reviews.open_for_retiree(elder) is None
