"""协查 (assistance requests) between regions.

Incoming: another region (the one paying the pension) asks this one to check on a retiree
who lives here. States: open -> in_progress -> answered; a request not answered by its due
time is overdue (and can still be answered). Requests arrive signed, like records. The
answer goes back as a verification record ("assisted_visit", the answer in
`detail.assistance`) written in the answering transaction, so the outbox delivers it to the
asking region in order, with retries, like every other record.

Outgoing: staff of this region ask the region one of its pensioners lives in. The request
is kept in the same table with `origin_region` = this region: "sending" until the peer has
accepted it (refused: "refused"), then open / overdue until the answer record arrives among
the records received from that region. The other region's "in progress" does not travel.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError

from accounts.binding import normalise_id_input
from kernel.clock import Clock, as_utc
from kernel.idnumber import ValidIdNumber, check_id_number, mask_id_number
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.models import Retiree
from storage.models.certification import AuditEntry, StaffMember
from storage.models.records import AssistanceRequest, RequestState
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.records.chain import append_record
from verification.records.exchange import ExchangeError, Peer, PeerRegistry, Transport, sign_headers

logger = logging.getLogger(__name__)

ASSISTANCE_PATH = "/v1/assistance"
ANSWER_WITHIN = timedelta(days=15)
WAITING = (RequestState.OPEN, RequestState.IN_PROGRESS, RequestState.OVERDUE)  # asked, not answered yet
MOVES = {
    "start": {RequestState.OPEN, RequestState.OVERDUE},
    "answer": {RequestState.OPEN, RequestState.IN_PROGRESS, RequestState.OVERDUE},
}
ANSWER_EVENT = "assisted_visit"
# What the visiting staff found. "alive_certified" reports a certification done in person
# (it has its own "certified" record); the answer itself certifies nothing.
FINDINGS = ("alive_certified", "seen_not_certified", "not_found", "died")
# What staff here can ask, sent in plain Chinese: the other region's staff read the text.
QUESTIONS = {
    "overdue": "逾期未认证：请上门核实本人是否健在、是否仍住在当地，能认证的请协助认证。",
    "failed_certification": "自助认证多次未通过：请上门核实是否为本人，能认证的请协助认证。",
    "suspected_death": "疑似死亡：请核实本人是否健在。",
}
# A peer's answer that will not change by sending the same request again.
_FINAL_REFUSALS = {400, 422}


class IllegalTransition(ValueError):
    pass


@dataclass(frozen=True)
class Opened:
    request_id: int
    created: bool  # False: the same request again (counted once)


@dataclass(frozen=True)
class ExchangeLink:
    """What sending requests needs: the peers, this region's key and a transport."""

    peers: PeerRegistry
    key: Ed25519PrivateKey
    transport: Transport


@dataclass(frozen=True)
class IncomingView:
    request_id: int
    origin_region: str
    question: str
    state: str  # open | in_progress | overdue
    overdue: bool  # past its due time, whether or not the sweep has marked it yet
    due_on: date
    residence_region: str
    retiree_name: str | None = field(repr=False)  # None: this region's roster does not know the retiree
    masked_id_number: str | None = field(repr=False)
    started_by: str | None  # the staff member's name


@dataclass(frozen=True)
class OutgoingView:
    request_id: int
    question: str  # a QUESTIONS key, or the text itself
    state: str
    asked_on: date
    due_on: date
    residence_region: str | None
    retiree_name: str | None = field(repr=False)
    masked_id_number: str | None = field(repr=False)
    finding: str | None  # answered: one of FINDINGS (None: a free-text answer)
    note: str = field(repr=False)  # answered: the note; refused: the peer's reason code
    answered_on: date | None


@dataclass(frozen=True)
class Asked:
    # check: "ok"; ask: "sent" | "queued" (kept, sent when the peer answers) | "refused";
    # both: "malformed_id" | "unknown" | "not_ours" | "lives_here" | "not_connected" | "already"
    outcome: str
    retiree_name: str | None = field(default=None, repr=False)
    masked_id_number: str | None = field(default=None, repr=False)
    residence_region: str | None = None
    request_id: int | None = None


@dataclass(frozen=True)
class SweepReport:
    answers: int
    overdue: int
    sent: int


@dataclass(frozen=True)
class _Subject:
    """The retiree as the answer record names him: routed to the asking region."""

    id_number_hash: str
    residence_region: str
    pension_region: str


def parse_request(body: bytes) -> tuple[str, str, str]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ExchangeError(400, "malformed_body", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise ExchangeError(400, "malformed_body", "the body must be an object")
    values = [data.get(name) for name in ("request_id", "retiree_hash", "question")]
    strings = [v for v in values if isinstance(v, str) and v.strip()]
    if len(strings) != len(values):
        raise ExchangeError(
            400, "malformed_body", "request_id, retiree_hash and question are required strings"
        )
    request_id, retiree_hash, question = strings
    if len(request_id) > 36 or len(retiree_hash) != 64 or len(question) > 2000:
        raise ExchangeError(
            400, "malformed_body", "request_id ≤ 36, retiree_hash = 64, question ≤ 2000 chars"
        )
    return request_id, retiree_hash, question


def answer_text(finding: str | None, note: str) -> str:
    """The `answer` column: the finding on the first line, then the note."""
    return f"{finding}\n{note}" if finding else note


def parse_answer(text: str) -> tuple[str | None, str]:
    first, _, rest = text.partition("\n")
    return (first, rest) if first in FINDINGS else (None, text)


def question_key(text: str) -> str:
    return next((key for key, asked in QUESTIONS.items() if asked == text), text)


class AssistanceService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        own_region: str,
        clock: Clock,
        *,
        vault: PersonalDataVault | None = None,
        link: ExchangeLink | None = None,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self._uow_factory, self._region, self._clock = uow_factory, own_region, clock
        self._vault, self._link, self._zone = vault, link, ZoneInfo(timezone)

    # --- incoming: requests from other regions ----------------------------------------------

    async def open(self, origin: str, body: bytes) -> Opened:
        """An authenticated request from `origin` (see ExchangeReceiver.authenticate)."""
        request_id, retiree_hash, question = parse_request(body)
        now = self._clock()
        async with self._uow_factory() as uow:
            resident = await uow.retirees.by_id_hash(retiree_hash)
            # The roster may name the county (110105) of a region (110000): covered is here.
            if resident is None or not covers(self._region, resident.residence_region):
                raise ExchangeError(422, "not_our_resident", f"region {self._region} has no such resident")
            existing = await uow.assistance.by_uid(origin, request_id)
            if existing is not None:
                return Opened(existing.id, False)
            request = AssistanceRequest(
                origin_region=origin, request_uid=request_id, retiree_hash=retiree_hash, question=question,
                state=RequestState.OPEN, opened_at=now, due_at=now + ANSWER_WITHIN,
            )  # fmt: skip
            uow.assistance.add(request)
            try:
                await uow.commit()
            except IntegrityError:  # the same request arrived concurrently
                await uow.rollback()
                first = await uow.assistance.by_uid(origin, request_id)
                if first is None:  # not that: some other constraint failed
                    raise
                return Opened(first.id, False)
            return Opened(request.id, True)

    async def incoming(self, telegram_user_id: int, limit: int = 20) -> list[IncomingView]:
        """Unanswered requests about retirees living where the staff member's region covers,
        the oldest due first."""
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await self._staff(uow, telegram_user_id)
            rows = await uow.assistance.asked_of(self._region, WAITING)
            views = []
            for request, retiree, started_by in rows:
                residence = retiree.residence_region if retiree else self._region
                if not covers(staff.region_code, residence):
                    continue
                views.append(
                    IncomingView(
                        request.id,
                        request.origin_region,
                        request.question,
                        request.state,
                        request.state == RequestState.OVERDUE or as_utc(request.due_at) < now,
                        self._local_date(request.due_at),
                        residence,
                        retiree.name if retiree else None,
                        self._masked(retiree),
                        started_by,
                    )
                )
                if len(views) >= limit:
                    break
            return views

    async def start(
        self, request_id: int, staff_id: int | None = None, *, telegram_user_id: int | None = None
    ) -> AssistanceRequest:
        """In progress, by a staff member: named by id (trusted callers), or by Telegram
        account (the bot: must be staff whose region covers the retiree's residence)."""
        return await self._move(request_id, "start", staff_id, telegram_user_id)

    async def answer(
        self,
        request_id: int,
        staff_id: int | None = None,
        answer: str = "",
        *,
        finding: str | None = None,
        telegram_user_id: int | None = None,
    ) -> AssistanceRequest:
        """Answered: a finding (FINDINGS) and/or a note; the answer record goes to the asker."""
        if finding is not None and finding not in FINDINGS:
            raise ValueError(f"unknown finding {finding!r}")
        if finding is None and not answer.strip():
            raise ValueError("an answer needs a finding or text")
        return await self._move(
            request_id, "answer", staff_id, telegram_user_id, finding=finding, note=answer.strip()[:1000]
        )

    async def _move(
        self,
        request_id: int,
        move: str,
        staff_id: int | None,
        telegram_user_id: int | None,
        *,
        finding: str | None = None,
        note: str = "",
    ) -> AssistanceRequest:
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await self._staff(uow, telegram_user_id) if telegram_user_id is not None else None
            staff_id = staff.id if staff is not None else staff_id
            request = await uow.assistance.get(request_id)
            if request is None or request.origin_region == self._region:  # ours to ask, not to answer
                raise LookupError(request_id)
            retiree = await uow.retirees.by_id_hash(request.retiree_hash)
            residence = retiree.residence_region if retiree else self._region
            if staff is not None and not covers(staff.region_code, residence):
                raise NotStaff(telegram_user_id)
            values: dict[str, Any] = {
                "state": RequestState.IN_PROGRESS if move == "start" else RequestState.ANSWERED,
                "staff_id": staff_id,
            }
            if move == "answer":
                values |= {"answer": answer_text(finding, note), "answered_at": now}
            # Conditional, so that of two colleagues pressing at once only one moves it.
            if not await uow.assistance.move(request_id, MOVES[move], **values):
                raise IllegalTransition(f"cannot {move} a request that is {request.state}")
            detail = {"request_id": request.id, "origin_region": request.origin_region}
            if move == "answer":
                detail["finding"] = finding
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"staff:{staff_id}",
                    action="assistance_started" if move == "start" else "assistance_answered",
                    retiree_id=retiree.id if retiree else None,
                    detail=detail,
                )
            )
            if move == "answer":
                subject = _Subject(request.retiree_hash, residence, request.origin_region)
                await append_record(
                    uow,
                    region=self._region,
                    event=ANSWER_EVENT,
                    retiree=subject,
                    method="assistance",
                    at=now,
                    staff_id=staff_id,
                    detail={
                        "assistance": {"request_id": request.request_uid, "finding": finding, "note": note}
                    },
                )
            await uow.commit()
            return request

    async def sweep_overdue(self) -> int:
        """Mark open and in-progress requests (asked of us, or by us) past their due time
        overdue; returns how many. Running it again changes nothing."""
        async with self._uow_factory() as uow:
            overdue = await uow.assistance.mark_overdue(self._clock())
            await uow.commit()
            return overdue

    async def sweep(self) -> SweepReport:
        """The periodic work (the bot's job queue): answers in first, so that an answered
        request is not marked overdue, then overdue, then requests still to be sent."""
        answers = await self.collect_answers()
        return SweepReport(answers, await self.sweep_overdue(), await self.send_pending())

    # --- outgoing: requests this region sends ---------------------------------------------------

    async def check(self, telegram_user_id: int, id_number: str) -> Asked:
        """Whether this region can ask about the retiree with this ID number ("ok"), and whom."""
        async with self._uow_factory() as uow:
            return (await self._subject(uow, telegram_user_id, id_number))[0]

    async def ask(self, telegram_user_id: int, id_number: str, question: str) -> Asked:
        """Ask the region the retiree lives in (QUESTIONS key); sent at once when it can be."""
        if question not in QUESTIONS:
            raise ValueError(f"unknown question {question!r}")
        now = self._clock()
        async with self._uow_factory() as uow:
            asked, retiree, staff = await self._subject(uow, telegram_user_id, id_number)
            if asked.outcome != "ok":
                return asked
            assert retiree is not None  # "ok": the retiree was found
            request = AssistanceRequest(
                origin_region=self._region, request_uid=str(uuid.uuid4()), staff_id=staff.id,
                retiree_hash=retiree.id_number_hash, question=QUESTIONS[question], state=RequestState.SENDING,
                opened_at=now, due_at=now + ANSWER_WITHIN,
            )  # fmt: skip
            uow.assistance.add(request)
            await uow.flush()
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"staff:{staff.id}",
                    action="assistance_asked",
                    retiree_id=retiree.id,
                    detail={
                        "request_id": request.id,
                        "to_region": retiree.residence_region,
                        "question": question,
                    },
                )
            )
            await uow.commit()
        state = await self._send(request.id)
        outcome = {RequestState.OPEN: "sent", RequestState.REFUSED: "refused"}.get(state, "queued")
        return replace(asked, outcome=outcome, request_id=request.id)

    async def _subject(
        self, uow: UnitOfWork, telegram_user_id: int, id_number: str
    ) -> tuple[Asked, Retiree | None, StaffMember]:
        """(Asked, the retiree, the staff member): "ok" when a request can be sent."""
        staff = await self._staff(uow, telegram_user_id)
        checked = check_id_number(
            normalise_id_input(id_number), today=self._clock().astimezone(self._zone).date()
        )
        if not isinstance(checked, ValidIdNumber):
            return Asked("malformed_id"), None, staff
        # The bot's service has the vault; the exchange server's (no vault) never asks.
        assert self._vault is not None, "asking about a retiree needs the personal-data vault"
        retiree = await uow.retirees.by_id_hash(self._vault.lookup_hash(checked.number))
        if retiree is None:
            return Asked("unknown"), None, staff
        asked = Asked("ok", retiree.name, mask_id_number(checked.number), retiree.residence_region)
        if retiree.pension_region != self._region:  # as the exchange takes records in: ours exactly
            outcome = "not_ours"
        elif covers(self._region, retiree.residence_region):
            outcome = "lives_here"
        elif self._peer_for(retiree.residence_region) is None:
            outcome = "not_connected"
        else:
            request_id = await uow.assistance.earlier_by(
                self._region, retiree.id_number_hash, [RequestState.SENDING, *WAITING]
            )
            outcome = "ok" if request_id is None else "already"
            asked = replace(asked, request_id=request_id)
        return replace(asked, outcome=outcome), retiree, staff

    def _peer_for(self, residence_region: str) -> Peer | None:
        """The peer serving the region (the most specific code covering it)."""
        if self._link is None:
            return None
        serving = [peer for peer in self._link.peers.peers.values() if covers(peer.region, residence_region)]
        return max(serving, key=lambda peer: len(peer.region.rstrip("0")), default=None)

    async def send_pending(self) -> int:
        """Send the requests not yet accepted by their peer; returns how many went."""
        async with self._uow_factory() as uow:
            ids = await uow.assistance.still_to_send(self._region)
        sent = 0
        for request_id in ids:
            sent += await self._send(request_id) == RequestState.OPEN
        return sent

    async def _send(self, request_id: int) -> RequestState:
        """One signed POST to the peer; the request's state afterwards. No transaction is
        held open over the network: read, send, then a conditional update."""
        async with self._uow_factory() as uow:
            request = await uow.assistance.get(request_id)
            assert request is not None  # one still_to_send listed; requests are never deleted
            retiree = await uow.retirees.by_id_hash(request.retiree_hash)
        peer = self._peer_for(retiree.residence_region) if retiree else None
        if request.state != RequestState.SENDING or peer is None:
            return RequestState(request.state)
        link = self._link
        assert link is not None  # _peer_for found the peer in it
        body = json.dumps(
            {
                "request_id": request.request_uid,
                "retiree_hash": request.retiree_hash,
                "question": request.question,
            },
            ensure_ascii=False,
        ).encode()
        headers = sign_headers(link.key, self._region, "POST", ASSISTANCE_PATH, body, self._clock())
        try:
            status, problem = await link.transport(peer.url + ASSISTANCE_PATH, body, headers)
        except Exception as error:  # noqa: BLE001 - any transport failure means "try later"
            logger.info("assistance request not sent yet: %s", type(error).__name__)
            return RequestState.SENDING
        values: dict[str, str]
        if status in (200, 201):  # 200: the peer had it already (our first reply was lost)
            values = {"state": RequestState.OPEN}
        elif status in _FINAL_REFUSALS:
            reason = str((problem or {}).get("type", "")).rsplit(":", 1)[-1] or f"http_{status}"
            values = {"state": RequestState.REFUSED, "answer": reason[:100]}
        else:
            logger.info("assistance request not sent yet: HTTP %s", status)
            return RequestState.SENDING
        async with self._uow_factory() as uow:
            await uow.assistance.settle_sending(request_id, **values)
            await uow.commit()
        return RequestState(values["state"])

    async def collect_answers(self) -> int:
        """Our unanswered requests whose answer record has come in: answered, with it."""
        async with self._uow_factory() as uow:
            waiting = await uow.assistance.asked_by(self._region, WAITING)
            by_uid = {request.request_uid: request for request in waiting}
            if not by_uid:
                return 0
            records = await uow.received.of_event_about(
                ANSWER_EVENT, sorted({r.retiree_hash for r in by_uid.values()})
            )
            answered = 0
            for record in records:
                reply = ((record.body or {}).get("detail") or {}).get("assistance") or {}
                request = by_uid.pop(str(reply.get("request_id")), None)
                if request is None:
                    continue
                finding = reply.get("finding") if reply.get("finding") in FINDINGS else None
                request.state = RequestState.ANSWERED
                request.answer = answer_text(finding, str(reply.get("note") or ""))[:2000]
                request.answered_at = datetime.fromisoformat(record.occurred_at)
                answered += 1
            await uow.commit()
            return answered

    async def outgoing(self, telegram_user_id: int, limit: int = 20) -> list[OutgoingView]:
        """The requests this region sent, newest first, with any answer that has come in."""
        async with self._uow_factory() as uow:
            await self._staff(uow, telegram_user_id)
        await self.collect_answers()  # so the screen shows an answer as soon as it is here
        async with self._uow_factory() as uow:
            rows = await uow.assistance.newest_asked_by(self._region, limit)
            views = []
            for request, retiree in rows:
                finding, note = parse_answer(request.answer or "")
                views.append(
                    OutgoingView(
                        request.id,
                        question_key(request.question),
                        request.state,
                        self._local_date(request.opened_at),
                        self._local_date(request.due_at),
                        retiree.residence_region if retiree else None,
                        retiree.name if retiree else None,
                        self._masked(retiree),
                        finding,
                        note,
                        self._local_date(request.answered_at) if request.answered_at else None,
                    )
                )
            return views

    # --- shared ---------------------------------------------------------------------------------

    @staticmethod
    async def _staff(uow: UnitOfWork, telegram_user_id: int) -> StaffMember:
        staff = await uow.staff.by_telegram_user(telegram_user_id)
        if staff is None:
            raise NotStaff(telegram_user_id)
        return staff

    def _local_date(self, moment: datetime) -> date:
        return as_utc(moment).astimezone(self._zone).date()

    def _masked(self, retiree: Retiree | None) -> str | None:
        if retiree is None or self._vault is None:
            return None
        return mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted))
