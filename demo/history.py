"""A year of made-up work for the demo's region, so that the staff console has something to show.

About 400 made-up retirees living in 110105 and 110106 (under the demo staff's prefecture
110100), imported through the real roster import, each with a due date in the current year.
Most certified around their due date (by video note, from another agency's data, with staff
at a service point or at home, or by a staff review), a few after their payment was suspended
(and resumed with months paid back); the rest are overdue, suspended or not due yet. The
verification records are written through the real hash chain in bulk
(`verification.records.chain.append_records`), with the events, methods and details the real
features write, all dated before `today`; the certifications, suspensions and cycles agree with
them. A few things wait for staff: open review cases, pass audits, assistance requests from the
paying region, and one death reported by the household registration (`record_death`, as a feed
writes it).

Names come from lists of common surnames and given names, ID numbers from
`synthetic_id_number`: nobody here is a real person. The simulation is a seeded
`random.Random`, so the same year gives the same people. Seeding again finds the history's
staff member (the marker) and changes nothing.
"""

from __future__ import annotations

import csv
import os
import random
import secrets
import time as timer
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from storage.models import Retiree
from storage.models.certification import PassAudit, ReviewCase, StaffMember, Suspension
from storage.models.records import AssistanceRequest, RequestState
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWorkFactory
from verification.checkplan.means import means_of
from verification.cycle.policies import load_cycle_policies
from verification.cycle.rules import add_months, back_pay_months, next_due_date
from verification.records.assistance import ANSWER_WITHIN, QUESTIONS
from verification.records.chain import RecordDraft, append_records
from verification.roster.service import RosterSource, import_roster
from verification.roster.synthetic import synthetic_id_number
from verification.signals.deaths import record_death

HISTORY_REGIONS = ("110105", "110106")  # where the history's retirees live (both under 110100)
HISTORY_RETIREES = 400
ROSTER_FILE = "history_roster.csv"
# The history's staff members: the first is also the marker that the history is in.
HISTORY_STAFF = (("DEMO-H01", "钱晓梅", "110105"), ("DEMO-H02", "孙立新", "110106"))
# The paying region that asks this region to check on two of its pensioners.
ASKING_REGION = "440300"
ZONE = ZoneInfo("Asia/Shanghai")
# The names the demo's own three retirees have: never given to a history retiree (the guide
# finds their binding codes by name).
TAKEN_NAMES = frozenset({"王秀兰", "李桂芳", "张建国"})

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
_FEMALE = (
    "淑英", "秀英", "桂英", "玉兰", "秀珍", "凤英", "桂兰", "玉珍", "素珍", "淑珍", "秀云", "玉梅",
    "淑兰", "桂珍", "秀荣", "凤兰", "丽华", "淑华", "玉英", "秀芳", "桂芝", "淑芬", "玉芬", "秀梅",
)  # fmt: skip
_MALE = (
    "国华", "建华", "志强", "德明", "建军", "永福", "国强", "文斌", "金生", "振华", "国庆", "德胜",
    "长林", "玉林", "建平", "志明", "福生", "保国", "春生", "学文", "树林", "宝山", "广才", "立新",
)  # fmt: skip
# How those certified this year did it: (method, place, share).
_MEANS = (
    ("self_video", None, 0.50),
    ("data", None, 0.22),
    ("assisted_photo", "service_point", 0.12),
    ("assisted_photo", "home_visit", 0.08),
    ("review", None, 0.08),
)
_DATA_SOURCES = ("medical_settlement", "bank_counter", "transit_card")  # signal_sources.toml
_IN_PERSON = {"medical_settlement": True, "bank_counter": True, "transit_card": False}
CERTIFY_SHARE = 0.82  # of those due by now, how many certified
# The month each retiree falls due in: many still certify in the fourth quarter, when the
# yearly campaign used to be, so fewer are overdue by autumn and coverage climbs late.
DUE_MONTH_WEIGHTS = (6, 6, 6, 6, 6, 6, 6, 6, 6, 15, 15, 16)


@dataclass
class _Person:
    name: str
    id_number: str
    birth: date
    residence: str
    pension_region: str
    pension_start: date
    previous: date  # the certification before this year's (the roster's last certification)
    due: date  # the due date it gave, in this year
    certified: date | None = None
    means: tuple[str, str | None] = ("", None)
    suspended_on: date | None = None
    source: str | None = None  # a data certification's source


@dataclass
class HistoryReport:
    seeded: bool  # False: the history was there already, nothing was written
    retirees: int = 0
    records: int = 0
    certifications: int = 0
    suspended: int = 0
    reviews_open: int = 0
    audits_open: int = 0
    assistance_open: int = 0
    deaths: int = 0
    checked_this_year: int = 0  # distinct history retirees with a check record since 1 January
    seconds: float = 0.0
    by_means: dict[str, int] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        return self.checked_this_year / self.retirees if self.retirees else 0.0


async def seed_history(
    uow_factory: UnitOfWorkFactory,
    vault: PersonalDataVault,
    folder: Path,
    *,
    today: date,
    region_code: str,
) -> HistoryReport:
    """Seed the year's history before `today` (once); `region_code` is this deployment's
    region: its chain holds the records, and it pays the history's retirees (but two)."""
    started = timer.perf_counter()
    async with uow_factory() as uow:
        if await uow.staff.by_number(HISTORY_STAFF[0][0]) is not None:
            return HistoryReport(seeded=False)
    people = simulate(today, region_code)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    roster = folder / ROSTER_FILE
    _write_roster(roster, people)
    await import_roster(RosterSource(roster), uow_factory, vault, today=today)
    report = await _write_history(uow_factory, vault, people, today, region_code)
    report.seconds = timer.perf_counter() - started
    return report


def simulate(today: date, region_code: str) -> list[_Person]:
    """The history's people and what each did this year (pure; the same for the same year)."""
    # The people from one generator, what they did from another: the same people all year.
    born, rng = random.Random(f"demo-history-{today.year}"), random.Random(f"demo-history-{today}")
    policies = load_cycle_policies()
    year_start = date(today.year, 1, 1)
    people: list[_Person] = []
    used: set[str] = set()
    while len(people) < HISTORY_RETIREES:
        residence = HISTORY_REGIONS[0] if len(people) < HISTORY_RETIREES * 0.65 else HISTORY_REGIONS[1]
        birth = year_start - timedelta(days=born.randint(62 * 365, 92 * 365))
        sequence = born.randint(100, 999)
        male = sequence % 2 == 1
        name = born.choice(_SURNAMES) + born.choice(_MALE if male else _FEMALE)
        id_number = synthetic_id_number(residence, birth, sequence)
        if id_number in used or name in TAKEN_NAMES:
            continue
        used.add(id_number)
        month = born.choices(range(1, 13), DUE_MONTH_WEIGHTS)[0]
        due_day = date(today.year, month, 1) + timedelta(days=born.randrange(28))
        previous = add_months(due_day, -12)
        policy = policies.for_region(region_code)
        person = _Person(
            name,
            id_number,
            birth,
            residence,
            region_code,
            birth.replace(year=birth.year + (60 if male else 55), day=min(birth.day, 28)),
            previous,
            next_due_date(previous, birth, policy),
        )
        if rng.random() < CERTIFY_SHARE:
            if rng.random() < 0.9:  # in the month before the due date, or a few days late
                day = person.due + timedelta(days=rng.randint(-30, 5))
            else:  # late: after the payment was suspended
                day = person.due + timedelta(days=rng.randint(policy.grace_days + 5, 120))
            if day < today:
                person.certified = day
                weights = [share for _, _, share in _MEANS]
                method, place, _ = rng.choices(_MEANS, weights)[0]
                person.means = (method, place)
                if method == "data":
                    person.source = rng.choice(_DATA_SOURCES)
        suspend_on = person.due + timedelta(days=policy.grace_days + 1)
        if suspend_on < today and (person.certified is None or person.certified > suspend_on):
            person.suspended_on = suspend_on
        people.append(person)
    # Two pensioners another region pays, overdue, not suspended yet: it asks this region to
    # check on them (assistance requests).
    for person in [p for p in _waiting(people, today) if p.residence == HISTORY_REGIONS[0]][:2]:
        person.pension_region = ASKING_REGION
    return people


def _waiting(people: list[_Person], today: date) -> list[_Person]:
    """Overdue, not certified, not suspended: the ones staff chase (in a fixed order)."""
    return [
        p
        for p in people
        if p.certified is None and p.suspended_on is None and today - timedelta(days=28) <= p.due < today
    ]


def _write_roster(roster: Path, people: list[_Person]) -> None:
    # Made-up ID numbers, but shaped like real ones: readable by the owner only.
    fd = os.open(roster, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["姓名", "身份证号码", "参保地", "居住地", "退休日期", "上次认证日期", "手机号", "参考照片"]
        )
        for p in people:
            writer.writerow(
                [
                    p.name,
                    p.id_number,
                    p.pension_region,
                    p.residence,
                    p.pension_start.isoformat(),
                    p.previous.isoformat(),
                    "",
                    "",
                ]
            )


def _at(day: date, rng: random.Random) -> datetime:
    """A moment in office hours (Shanghai) on `day`, in UTC."""
    local = datetime.combine(day, time(9), ZONE) + timedelta(minutes=rng.randrange(8 * 60))
    return local.astimezone(UTC)


async def _write_history(
    uow_factory: UnitOfWorkFactory,
    vault: PersonalDataVault,
    people: list[_Person],
    today: date,
    region_code: str,
) -> HistoryReport:
    rng = random.Random(f"demo-history-times-{today.year}")
    policies = load_cycle_policies()
    year_start_at = datetime.combine(date(today.year, 1, 1), time(), ZONE).astimezone(UTC)
    report = HistoryReport(seeded=True, retirees=len(people))
    async with uow_factory() as uow:
        staff = []
        for number, name, region in HISTORY_STAFF:
            # A staff code nobody is given: these two cannot sign in, they only did the year's work.
            member = StaffMember(
                staff_number=number,
                name=name,
                region_code=region,
                staff_code_hash=vault.lookup_hash(secrets.token_hex(16)),
                active=True,
            )
            uow.staff.add(member)
            staff.append(member)
        await uow.flush()
        staff_of = {region: member.id for member, (_, _, region) in zip(staff, HISTORY_STAFF, strict=True)}
        rows: dict[str, Retiree] = {}
        for person in people:
            found = await uow.retirees.by_id_hash(vault.lookup_hash(person.id_number))
            assert found is not None, "the roster import wrote every history retiree"
            rows[person.id_number] = found

        drafts: list[RecordDraft] = []
        certifications: list[dict[str, object]] = []
        suspensions: list[Suspension] = []
        reviews: list[ReviewCase] = []
        for person in people:
            retiree = rows[person.id_number]
            policy = policies.for_region(retiree.pension_region)
            retiree.due_on, retiree.last_certified_on = person.due, person.previous
            if person.suspended_on is not None:
                drafts.append(RecordDraft("suspended", retiree, "cycle", _at(person.suspended_on, rng)))
                retiree.payment_state = "suspended"
            if person.certified is None:
                if person.suspended_on is not None:
                    suspensions.append(
                        Suspension(
                            retiree_id=retiree.id, suspended_on=person.suspended_on, reason="not_certified"
                        )
                    )
                continue
            at = _at(person.certified, rng)
            due_on = next_due_date(person.certified, retiree.birth_date, policy)
            if person.suspended_on is not None:  # certifying resumes payment, months paid back
                months = back_pay_months(person.suspended_on, person.certified)
                suspensions.append(
                    Suspension(
                        retiree_id=retiree.id,
                        suspended_on=person.suspended_on,
                        reason="not_certified",
                        resumed_on=person.certified,
                        back_pay_months=months,
                    )
                )
                drafts.append(
                    RecordDraft(
                        "resumed",
                        retiree,
                        "cycle",
                        at,
                        detail={"back_pay_months": months, "due_on": due_on.isoformat()},
                    )
                )
                retiree.payment_state = "active"
            retiree.due_on, retiree.last_certified_on = due_on, person.certified
            method, place = person.means
            staff_id = staff_of[retiree.residence_region] if method in ("assisted_photo", "review") else None
            evidence = secrets.token_hex(32) if method in ("self_video", "assisted_photo") else None
            if method == "review":
                opened = at - timedelta(days=rng.randint(2, 9))
                reviews.append(
                    ReviewCase(
                        retiree_id=retiree.id,
                        opened_at=opened,
                        opened_because="failed_matches",
                        status="approved",
                        decided_by=staff_id,
                        decided_at=at,
                        decision_reason="本人到社区核实，确认健在",
                    )
                )
                drafts.append(RecordDraft("review_approved", retiree, "review", at, staff_id=staff_id))
            elif method == "data":
                assert person.source is not None
                drafts.append(
                    RecordDraft(
                        "certified",
                        retiree,
                        "data",
                        at,
                        detail={
                            "source": person.source,
                            "signal_on": person.certified.isoformat(),
                            "in_person": _IN_PERSON[person.source],
                            "valid_until": due_on.isoformat(),
                        },
                    )
                )
                place = person.source
            else:
                drafts.append(
                    RecordDraft(
                        "certified",
                        retiree,
                        method,
                        at,
                        evidence_hash=evidence,
                        staff_id=staff_id,
                        detail={"place": place} if place else None,
                    )
                )
            certifications.append(
                {
                    "retiree_id": retiree.id,
                    "certified_at": at,
                    "certified_on": person.certified,
                    "valid_until": due_on,
                    "method": method,
                    "staff_id": staff_id,
                    "place": place,
                }
            )
        for suspension in suspensions:
            uow.suspensions.add(suspension)
        for review in reviews:
            uow.reviews.add(review)
        await uow.flush()
        certification_ids = await uow.signals.insert_certifications(certifications)
        drafts.sort(key=lambda draft: draft.at)  # the chain in time order (stable: resumed first)
        report.records = await append_records(uow, drafts, region=region_code)
        report.certifications = len(certifications)

        waiting = [p for p in _waiting(people, today) if p.residence == HISTORY_REGIONS[0]]
        asked, rest = waiting[:2], waiting[2:]
        # Three whose self-service tries failed: their cases wait for staff.
        for n, person in enumerate(rest[:3]):
            uow.reviews.add(
                ReviewCase(
                    retiree_id=rows[person.id_number].id,
                    opened_at=_at(today - timedelta(days=2 + 6 * n), rng),
                    opened_because="failed_matches",
                )
            )
        # The paying region's questions about its two pensioners who live here.
        for n, person in enumerate(asked):
            opened_at = _at(today - timedelta(days=3 + 5 * n), rng)
            uow.assistance.add(
                AssistanceRequest(
                    origin_region=ASKING_REGION,
                    request_uid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    retiree_hash=rows[person.id_number].id_number_hash,
                    question=QUESTIONS["overdue"],
                    state=RequestState.OPEN.value,
                    opened_at=opened_at,
                    due_at=opened_at + ANSWER_WITHIN,
                )
            )
        # Two recent self-service passes drawn for a look after the fact.
        recent = [
            p
            for p in people
            if p.means[0] == "self_video"
            and p.residence == HISTORY_REGIONS[0]
            and p.certified is not None
            and p.certified >= today - timedelta(days=30)
        ]
        for person, (sampled, reasons) in zip(recent[-2:], _AUDIT_REASONS, strict=False):
            retiree = rows[person.id_number]
            uow.pass_audits.add(
                PassAudit(
                    retiree_id=retiree.id,
                    certification_id=certification_ids[retiree.id],
                    region=retiree.residence_region,
                    created_at=_at(person.certified, rng),
                    state="open",
                    score=sum(int(reason["points"]) for reason in reasons),
                    reasons=reasons,
                    sampled=sampled,
                )
            )
            report.audits_open += 1
        # One death reported by the household registration yesterday, three weeks after it:
        # everything a feed's death does (case, suspension, records), as the feed writes it.
        quiet = [
            p
            for p in people
            if p.residence == HISTORY_REGIONS[1] and p.certified is None and p.suspended_on is None
            and p.due > today + timedelta(days=7)
        ]  # fmt: skip
        if quiet:
            reported = today - timedelta(days=1)
            now = datetime.combine(reported, time(18), ZONE).astimezone(UTC)  # after every other record
            await record_death(
                uow,
                rows[quiet[0].id_number],
                source="death_household",
                died_on=today - timedelta(days=21),
                import_id=None,
                now=now,
                today=reported,
                region_code=region_code,
            )
            report.deaths, report.records = 1, report.records + 2
        await uow.commit()

    report.suspended = sum(1 for p in people if p.suspended_on is not None and p.certified is None)
    report.suspended += report.deaths
    report.reviews_open = min(3, len(rest)) + report.deaths
    report.assistance_open = len(asked)
    checked: dict[str, set[str]] = defaultdict(set)
    for draft in drafts:
        means = means_of(draft.event, draft.method, draft.detail)
        if means is not None and draft.at >= year_start_at:
            checked[means.value].add(draft.retiree.id_number_hash)
    report.by_means = {means: len(hashes) for means, hashes in sorted(checked.items())}
    report.checked_this_year = len(set().union(*checked.values()))
    return report


# What the two audited passes showed (verification.certification.pass_risk's reason codes).
_AUDIT_REASONS: tuple[tuple[bool, list[dict[str, object]]], ...] = (
    (True, []),  # drawn for the random share
    (
        False,
        [
            {"code": "age", "points": 2, "value": 91},
            {"code": "account_certifies_many", "points": 3, "value": 4},
        ],
    ),
)
