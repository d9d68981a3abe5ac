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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from kernel.clock import as_utc
from storage.models.records import OutboxEntry, VerificationRecord
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
    }
)
# Events kept in this region's chain only, never put in the outbox: the exchange's published
# schema (web/static/exchange_openapi.json) lists the events a peer must accept, and these two
# (staff's look at a pass after the fact) are not in it. What a pass audit leads to travels
# as the events peers know: "review_approved", "review_rejected", "suspended".
LOCAL_EVENTS = frozenset({"audit_confirmed", "audit_review_opened"})


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
    if event not in EVENTS:
        raise ValueError(f"unknown record event {event!r}")
    region = region or retiree.residence_region
    head = await uow.records.chain_head_for_update(region, GENESIS)
    moment = as_utc(at)
    record = VerificationRecord(
        record_uid=str(uuid.uuid4()),
        region=region,
        seq=head.seq + 1,
        retiree_hash=retiree.id_number_hash,
        event=event,
        occurred_at=moment.astimezone(UTC).isoformat(timespec="seconds"),
        residence_region=retiree.residence_region,
        pension_region=retiree.pension_region,
        method=method,
        evidence_hash=evidence_hash,
        staff_id=staff_id,
        detail=detail or {},
        prev_hash=head.hash,
        hash="",
    )
    record.hash = chain_hash(head.hash, record_body(record))
    head.seq, head.hash = record.seq, record.hash
    uow.records.add(record)
    await uow.flush()
    if retiree.pension_region != region and event not in LOCAL_EVENTS:
        uow.outbox.add(OutboxEntry(record_id=record.id, dest_region=retiree.pension_region, state="pending"))
    return record


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
