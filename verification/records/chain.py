"""Verification records: every certification outcome, suspension and resumption, written
in the same unit of work as the event, as a hash chain per region.

Each record's hash is SHA-256 over the previous hash and the record's canonical JSON
(sorted keys, no spaces, UTF-8), so changing, removing or re-ordering any record breaks
every hash after it; `verify_chain` names the first record that does not check out.
Records about a retiree paid by another region also get an outbox row (same transaction)
for the exchange worker to deliver, except the LOCAL_EVENTS that peers do not know.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from kernel.clock import as_utc
from storage.models.records import ChainHead, OutboxEntry, VerificationRecord
from storage.uow import UnitOfWork

GENESIS = "0" * 64
# "suspended" carries its cause in `detail.reason` (not certified in time, death reported);
# a staff member's visit that did not end in a certification is an "assisted_visit".
EVENTS = frozenset(
    {
        "certified",
        "review_approved",
        "review_rejected",
        "suspended",
        "resumed",
        "assisted_visit",
        "death_reported",
        "death_confirmed",
        "hospital_reported",
        "audit_confirmed",
        "audit_review_opened",
        "recovery_opened",
        "recovery_step",
        "recovery_closed",
    }
)
# Events kept in this region's chain only, never put in the outbox: the exchange's published
# schema (web/static/exchange_openapi.json) lists the events a peer must accept, and these two
# (staff's look at a pass after the fact) are not in it. What a pass audit leads to travels
# as the events peers know: "review_approved", "review_rejected", "suspended".
# The recovery of an overpayment ("recovery_opened", "recovery_step", "recovery_closed") is
# the paying region's own business and stays in its chain too.
LOCAL_EVENTS = frozenset(
    {"audit_confirmed", "audit_review_opened", "recovery_opened", "recovery_step", "recovery_closed"}
)


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(body)).hexdigest()


def record_body(record: VerificationRecord) -> dict[str, Any]:
    """What the hash covers, and what the exchange sends: plain JSON values only."""
    return {
        "record_id": record.record_uid,
        "region": record.region,
        "seq": record.seq,
        "retiree_hash": record.retiree_hash,
        "event": record.event,
        "occurred_at": record.occurred_at,
        "residence_region": record.residence_region,
        "pension_region": record.pension_region,
        "method": record.method,
        "evidence_hash": record.evidence_hash,
        "staff_id": record.staff_id,
        "detail": record.detail or {},
    }


class RecordSubject(Protocol):
    """Whom a record is about: a Retiree, or one another region asked about (assistance)."""

    @property
    def id_number_hash(self) -> str: ...
    @property
    def residence_region(self) -> str: ...
    @property
    def pension_region(self) -> str: ...


@dataclass(frozen=True)
class RecordDraft:
    """One record to append with `append_records`."""

    event: str
    retiree: RecordSubject
    method: str
    at: datetime
    evidence_hash: str | None = None
    staff_id: int | None = None
    detail: dict[str, Any] | None = None


def _linked(head: ChainHead, draft: RecordDraft) -> VerificationRecord:
    """The record `draft` makes after `head`, hashed; the head is moved on to it."""
    body = _body(head.region, head.seq + 1, draft)
    record = VerificationRecord(**_columns(body, head.hash, chain_hash(head.hash, body)))
    head.seq, head.hash = record.seq, record.hash
    return record


def _owed_elsewhere(record: VerificationRecord | dict[str, Any]) -> bool:
    """Sent to the paying region: a record (or its columns) about a retiree another region
    pays, of an event peers know."""
    values = record if isinstance(record, dict) else record_body(record)
    return values["pension_region"] != values["region"] and values["event"] not in LOCAL_EVENTS


async def append_record(
    uow: UnitOfWork,
    *,
    region: str | None,
    event: str,
    retiree: RecordSubject,
    method: str,
    at: datetime,
    evidence_hash: str | None = None,
    staff_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> VerificationRecord:
    """Append one record to `region`'s chain (default: the retiree's residence region)
    inside the caller's unit of work; nothing is committed here."""
    draft = RecordDraft(event, retiree, method, at, evidence_hash, staff_id, detail)
    if event not in EVENTS:  # before the chain is locked
        raise ValueError(f"unknown record event {event!r}")
    head = await uow.records.chain_head_for_update(region or retiree.residence_region, GENESIS)
    record = _linked(head, draft)
    uow.records.add(record)
    await uow.flush()
    if _owed_elsewhere(record):
        uow.outbox.add(OutboxEntry(record_id=record.id, dest_region=retiree.pension_region, state="pending"))
    return record


async def append_records(uow: UnitOfWork, drafts: Sequence[RecordDraft], *, region: str | None) -> int:
    """Append many records at once (a feed's batch): each chain head is locked once, the
    records and their outbox rows go in as multi-row inserts. Same chain, same hashes as
    appending them one by one; nothing is committed here. Returns how many were appended."""
    by_region: dict[str, list[RecordDraft]] = defaultdict(list)
    for draft in drafts:
        by_region[region or draft.retiree.residence_region].append(draft)
    for chain_region in sorted(by_region):  # one order for every writer: no deadlock
        head = await uow.records.chain_head_for_update(chain_region, GENESIS)
        rows = []
        for draft in by_region[chain_region]:  # plain rows: ORM objects cost more than the hashing
            body = _body(head.region, head.seq + 1, draft)
            record_hash = chain_hash(head.hash, body)
            rows.append(_columns(body, head.hash, record_hash))
            head.seq, head.hash = body["seq"], record_hash
        ids = await uow.records.insert_many(rows)
        await uow.outbox.insert_many(
            [
                {
                    "record_id": ids[row["record_uid"]],
                    "dest_region": row["pension_region"],
                    "state": "pending",
                }
                for row in rows
                if _owed_elsewhere(row)
            ]
        )
    await uow.flush()  # the heads moved
    return len(drafts)


def _body(region: str, seq: int, draft: RecordDraft) -> dict[str, Any]:
    """The hashed body of a new record (what `record_body` gives of a stored one)."""
    if draft.event not in EVENTS:
        raise ValueError(f"unknown record event {draft.event!r}")
    return {
        "record_id": str(uuid.uuid4()),
        "region": region,
        "seq": seq,
        "retiree_hash": draft.retiree.id_number_hash,
        "event": draft.event,
        "occurred_at": as_utc(draft.at).astimezone(UTC).isoformat(timespec="seconds"),
        "residence_region": draft.retiree.residence_region,
        "pension_region": draft.retiree.pension_region,
        "method": draft.method,
        "evidence_hash": draft.evidence_hash,
        "staff_id": draft.staff_id,
        "detail": draft.detail or {},
    }


def _columns(body: dict[str, Any], prev_hash: str, record_hash: str) -> dict[str, Any]:
    """The table's columns of a record: its body, the uid under its column name, the hashes."""
    columns = dict(body, prev_hash=prev_hash, hash=record_hash)
    columns["record_uid"] = columns.pop("record_id")
    return columns


@dataclass(frozen=True)
class ChainReport:
    region: str
    records: int
    intact: bool
    first_bad_seq: int | None = None
    first_bad_record_id: str | None = None
    problem: str = ""
    # Filled in by verification.records.checkpoints.check_checkpoints: the latest signed checkpoint,
    # whether its signature was checked, and how many records it says were cut or changed.
    checkpoint_seq: int | None = None
    anchored: bool = False
    records_lost: int = 0


async def verify_chain(uow: UnitOfWork, region: str, *, batch: int = 5000) -> ChainReport:
    """Walk the chain in sequence order; stop at the first record that does not check out."""
    prev, expected_seq, count, last_id = GENESIS, 1, 0, 0
    while True:
        rows = await uow.records.after(region, last_id, batch)
        if not rows:
            break
        for record in rows:
            problem = ""
            if record.seq != expected_seq:
                problem = f"sequence gap: expected {expected_seq}, found {record.seq}"
            elif record.prev_hash != prev:
                problem = "previous hash does not match the record before it"
            elif chain_hash(prev, record_body(record)) != record.hash:
                problem = "record content does not match its hash"
            if problem:
                return ChainReport(region, count, False, record.seq, record.record_uid, problem)
            prev, expected_seq, count = record.hash, expected_seq + 1, count + 1
        last_id = rows[-1].seq
    head = await uow.records.chain_head(region)
    if head is not None and (head.seq != count or head.hash != prev):
        return ChainReport(
            region, count, False, count + 1, None, "chain head is ahead of the records (records removed)"
        )
    return ChainReport(region, count, True)


async def chain_regions(uow: UnitOfWork) -> list[str]:
    return await uow.records.chain_regions()
