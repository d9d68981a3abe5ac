"""Training in the quarterly report (studied, trained for the days, examined, passed: per
region and quarter) and the per-region rule that only certified staff decide review cases."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from content.i18n import Translator
from tests.training.helpers import (
    CITY,
    CLERK,
    COLLEAGUE,
    COURSE,
    DISTRICT,
    SUPERVISOR,
    Clock,
    add_staff,
    pass_the_exam,
    training_service,
)
from verification.certification.review import NotTrained, ReviewService
from verification.checkplan.quarters import Quarter
from verification.reporting.service import QuarterlyReportService

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEYS = ("training_studied", "training_trained", "training_examined", "training_passed")


async def test_the_report_counts_training_per_region_and_quarter(uow_factory):
    await add_staff(uow_factory)
    clock = Clock(datetime(2026, 9, 29, 2, 0, tzinfo=UTC))  # Q3: the colleague starts early
    training = training_service(uow_factory, clock)
    await training.finish_lesson(COLLEAGUE, COURSE.lessons[0].id)
    clock.now = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
    await pass_the_exam(training, clock)  # three days in Q4, passed
    await training.finish_lesson(COLLEAGUE, COURSE.lessons[1].id)  # a second day, in Q4
    await training.finish_lesson(SUPERVISOR, COURSE.lessons[0].id)  # the city's supervisor

    report = QuarterlyReportService(uow_factory, clock=clock, zone=SHANGHAI)
    district = await report.figures(DISTRICT, Quarter(2026, 4))
    assert [district.value(k) for k in KEYS] == [2, 1, 1, 1]
    city = await report.figures(CITY, Quarter(2026, 4))  # 4403: the district and the city
    assert [city.value(k) for k in KEYS] == [3, 1, 1, 1]
    third = await report.figures(DISTRICT, Quarter(2026, 3))
    assert [third.value(k) for k in KEYS] == [1, 0, 0, 0]
    elsewhere = await report.figures("310000", Quarter(2026, 4))
    assert [elsewhere.value(k) for k in KEYS] == [0, 0, 0, 0]
    # Each says what it was counted from, in both languages.
    for language in ("zh_Hans", "en"):
        t = Translator(language)
        for key in KEYS:
            assert district.figures[key].source_text(t)
    assert "3" in district.figures["training_trained"].source_text(Translator("en"))


async def test_a_region_that_asks_for_training_lets_only_certified_staff_decide(uow_factory, vault):
    await add_staff(uow_factory)
    clock = Clock()
    training = training_service(uow_factory, clock)
    cycle = object()  # not reached: the gate is before the case is read
    gated = ReviewService(uow_factory, vault, cycle, clock=clock, training_required_in=(CITY,))
    open_region = ReviewService(uow_factory, vault, cycle, clock=clock)

    with pytest.raises(NotTrained):
        await gated.decide(CLERK, 999, True, "looks right")
    assert await open_region.decide(CLERK, 999, True, "looks right") is None  # no such case

    await pass_the_exam(training, clock)
    assert await gated.decide(CLERK, 999, True, "looks right") is None  # past the gate: no case
    # Revoked: the gate closes again.
    number = (await training.my_certificate(CLERK)).number
    await training.revoke(SUPERVISOR, number, "代考")
    with pytest.raises(NotTrained):
        await gated.decide(CLERK, 999, True, "looks right")
