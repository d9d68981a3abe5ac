"""The region exchange, as plain Python: signing and checking requests, taking records in
once only, and the outbox worker that delivers records to the paying region.

A request carries four headers: X-Region (the sender), X-Timestamp (Unix seconds, within
five minutes of the receiver's clock), X-Nonce (never accepted twice while its timestamp
could still be), X-Signature (Ed25519, base64, over METHOD, path, region, timestamp, nonce
and the SHA-256 of the body, one per line). The HTTP side lives in web/exchange.py; here
the transport is any async callable, so this module imports no web framework.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError

from kernel.clock import as_utc
from storage.models.records import OutboxEntry, ReceivedRecord, SeenNonce, VerificationRecord
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.records.chain import chain_hash, record_body
from verification.records.checkpoints import SignedHead, advance_checkpoint, store_peer_head

logger = logging.getLogger(__name__)

T = TypeVar("T")
if TYPE_CHECKING:
    OutboxRow = Row[OutboxEntry, VerificationRecord]  # (entry, the record it sends)

MAX_SKEW = timedelta(minutes=5)
NONCE_TTL = MAX_SKEW * 2 + timedelta(minutes=1)
MAX_BODY = 4 * 1024 * 1024
MAX_RECORDS = 5000
RECORDS_PATH = "/v1/records"
RECORD_FIELDS = {
    "record_id": str,
    "region": str,
    "seq": int,
    "retiree_hash": str,
    "event": str,
    "occurred_at": str,
    "residence_region": str,
    "pension_region": str,
    "method": str,
}


# --- keys and peers -----------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def public_key_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """A key file holds the 32 raw bytes, base64-encoded."""
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(path.read_text().strip()))


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(base64.b64encode(private_key_bytes(key)).decode())
    path.chmod(0o600)


@dataclass(frozen=True)
class Peer:
    region: str
    url: str  # base URL, e.g. http://127.0.0.1:8443
    public_key: Ed25519PublicKey


@dataclass
class PeerRegistry:
    peers: dict[str, Peer] = field(default_factory=dict)

    def get(self, region: str) -> Peer | None:
        return self.peers.get(region)

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any]) -> PeerRegistry:
        peers = {}
        for region, entry in mapping.get("regions", mapping).items():
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"]))
            peers[str(region)] = Peer(str(region), entry["url"].rstrip("/"), key)
        return cls(peers)

    @classmethod
    def load(cls, path: Path) -> PeerRegistry:
        """JSON: {"regions": {"440300": {"url": "http://...", "public_key": "<base64>"}}}."""
        return cls.from_mapping(json.loads(path.read_text()))


# --- signing ------------------------------------------------------------------------------


def _message(method: str, path: str, region: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), path, region, timestamp, nonce, digest]).encode()


def sign_headers(
    key: Ed25519PrivateKey, region: str, method: str, path: str, body: bytes, now: datetime
) -> dict[str, str]:
    timestamp, nonce = str(int(now.timestamp())), secrets.token_hex(16)
    signature = key.sign(_message(method, path, region, timestamp, nonce, body))
    return {
        "X-Region": region,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": base64.b64encode(signature).decode(),
        "Content-Type": "application/json",
    }


class ExchangeError(Exception):
    """A refused request: turned into an RFC 9457 problem detail by the web layer."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra

    def problem(self) -> dict[str, Any]:
        return {
            "type": f"urn:pension-bot:exchange:{self.code}",
            "title": self.code.replace("_", " "),
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


# --- receiving ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeResult:
    accepted: int
    duplicates: int


class ExchangeReceiver:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        own_region: str,
        peers: PeerRegistry,
        clock: Callable[[], datetime],
    ) -> None:
        self._uow_factory, self._region, self._peers, self._clock = uow_factory, own_region, peers, clock

    def authenticate(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The sending region, or ExchangeError (unknown region, stale time, bad signature)."""
        region = headers.get("X-Region", "")
        timestamp, nonce = headers.get("X-Timestamp", ""), headers.get("X-Nonce", "")
        signature = headers.get("X-Signature", "")
        if not (region and timestamp and nonce and signature):
            raise ExchangeError(
                401, "unsigned_request", "X-Region, X-Timestamp, X-Nonce and X-Signature are required"
            )
        peer = self._peers.get(region)
        if peer is None:
            raise ExchangeError(403, "unknown_region", f"region {region[:12]!r} is not in the peer registry")
        if not timestamp.isdigit() or len(nonce) > 64:
            raise ExchangeError(
                401, "bad_timestamp_or_nonce", "X-Timestamp must be Unix seconds, X-Nonce ≤ 64 chars"
            )
        sent = datetime.fromtimestamp(int(timestamp), UTC)
        if abs(self._clock() - sent) > MAX_SKEW:
            raise ExchangeError(401, "stale_request", "the request time is more than five minutes off")
        try:
            peer.public_key.verify(
                base64.b64decode(signature, validate=True),
                _message(method, path, region, timestamp, nonce, body),
            )
        except (InvalidSignature, binascii.Error, ValueError):
            raise ExchangeError(
                401, "bad_signature", "the signature does not verify with the region's key"
            ) from None
        return region

    async def admit(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """Authenticate, then spend the nonce (refusing a replay); returns the sending region."""
        origin = self.authenticate(method, path, headers, body)
        now = self._clock()
        async with self._uow_factory() as uow:  # the nonce, in a transaction of its own
            await uow.nonces.forget_expired(now)
            uow.nonces.add(
                SeenNonce(origin_region=origin, nonce=headers["X-Nonce"], expires_at=now + NONCE_TTL)
            )
            try:
                await uow.commit()
            except IntegrityError:
                raise ExchangeError(409, "replayed_request", "this nonce was used already") from None
        return origin

    async def take_in(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> IntakeResult:
        origin = await self.admit(method, path, headers, body)
        data = load_body(body)
        records = parse_records(data, origin)
        head = parse_head(data, origin, self._peers.get(origin))
        if head is not None:  # kept even when the records are refused: it is signed all the same
            try:
                async with self._uow_factory() as uow:
                    await store_peer_head(uow, head, self._clock())
                    await uow.commit()
            except IntegrityError:  # the region's first head, arriving twice at once: keep one
                async with self._uow_factory() as uow:
                    await store_peer_head(uow, head, self._clock())
                    await uow.commit()
        for attempt in range(3):
            try:
                return await self._store(origin, records)
            except IntegrityError:  # the same record arrived concurrently: count it once
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _store(self, origin: str, records: list[dict[str, Any]]) -> IntakeResult:
        async with self._uow_factory() as uow:
            hashes = {r["retiree_hash"] for r in records}
            ours: set[str] = set()
            for chunk in _chunks(sorted(hashes), 500):
                ours |= await uow.retirees.hashes_paid_by(self._region, chunk)
            refused = [
                r["record_id"]
                for r in records
                if r["pension_region"] != self._region or r["retiree_hash"] not in ours
            ]
            if refused:
                raise ExchangeError(
                    422,
                    "not_our_retiree",
                    f"{len(refused)} record(s) are about retirees region {self._region} does not pay",
                    refused=refused[:1000],
                )
            seen: set[str] = set()
            for chunk in _chunks([r["record_id"] for r in records], 500):
                seen |= await uow.received.uids_from(origin, chunk)
            accepted = 0
            for record in records:
                if record["record_id"] in seen:
                    continue
                seen.add(record["record_id"])
                uow.received.add(
                    ReceivedRecord(
                        origin_region=origin,
                        record_uid=record["record_id"],
                        retiree_hash=record["retiree_hash"],
                        event=record["event"],
                        occurred_at=record["occurred_at"],
                        body=record,
                    )
                )
                accepted += 1
            await uow.commit()
            return IntakeResult(accepted, len(records) - accepted)


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_body(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ExchangeError(400, "malformed_body", "the body is not JSON") from None


def parse_head(data: Any, origin: str, peer: Peer | None) -> SignedHead | None:
    """The sender's signed chain head, when the body carries one (`head`; older senders
    send none). It must be the sender's and signed with its key (ExchangeError 400 if not)."""
    value = data.get("head") if isinstance(data, dict) else None
    if value is None:
        return None
    try:
        head = SignedHead.parse(value)
    except ValueError as error:
        raise ExchangeError(400, "malformed_body", str(error)) from None
    if head.region != origin or peer is None or not head.signed_by(peer.public_key):
        raise ExchangeError(
            400, "bad_head", "the chain head is not the sending region's, signed with its key"
        )
    return head


def parse_records(body: Any, origin: str) -> list[dict[str, Any]]:
    """The records of a request body (bytes, or already parsed), checked field by field
    (ExchangeError 400 if not)."""
    data = load_body(body) if isinstance(body, bytes | str) else body
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list) or not records or len(records) > MAX_RECORDS:
        raise ExchangeError(
            400, "malformed_body", f'the body must be {{"records": [1..{MAX_RECORDS} records]}}'
        )
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ExchangeError(400, "malformed_body", f"records[{index}] is not an object")
        for name, kind in RECORD_FIELDS.items():
            if not isinstance(record.get(name), kind):
                raise ExchangeError(
                    400, "malformed_body", f"records[{index}].{name} is missing or not {kind.__name__}"
                )
        if record["region"] != origin:
            raise ExchangeError(400, "malformed_body", f"records[{index}] is not from the sending region")
        body_fields = {k: record.get(k) for k in ("evidence_hash", "staff_id", "detail", "prev_hash", "hash")}
        plain = {k: v for k, v in record.items() if k not in ("prev_hash", "hash")}
        prev, claimed = body_fields["prev_hash"], body_fields["hash"]
        if not isinstance(prev, str) or not isinstance(claimed, str) or chain_hash(prev, plain) != claimed:
            raise ExchangeError(400, "malformed_body", f"records[{index}] does not match its hash")
    return records


# --- sending: the outbox worker -----------------------------------------------------------

# (url, body, headers) -> (HTTP status, parsed JSON body or None); raises OSError-like on failure.
Transport = Callable[[str, bytes, dict[str, str]], Awaitable[tuple[int, dict[str, Any] | None]]]


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    refused: int = 0  # given up: refused for longer than the retry period (`records refused`)
    failed_regions: tuple[str, ...] = ()
    deferred: int = 0  # refused as not (yet) the receiver's retiree: tried again later


# Refusals that another try can cure: the paying region has not imported its roster yet.
RETRIED_REFUSALS = frozenset({"not_our_retiree"})


def problem_code(answer: dict[str, Any] | None) -> str:
    """The short code of an RFC 9457 answer ("not_our_retiree"), or "" when it has none."""
    if not answer:
        return ""
    kind = answer.get("type")
    return str(kind).rsplit(":", 1)[-1][:40] if kind else str(answer.get("title") or "")[:40]


def _reason(status: int, answer: dict[str, Any] | None) -> str:
    code, detail = problem_code(answer), str((answer or {}).get("detail") or "")
    return " ".join(part for part in (f"HTTP {status}", code, detail and f"- {detail}") if part)[:500]


class OutboxDispatcher:
    """Delivers pending outbox rows, oldest first, per paying region, in batches.

    Order per retiree holds because each region's queue goes strictly in outbox order: a
    batch that fails is retried (exponential backoff) before anything after it is sent.
    Records the receiver refuses as not its retiree (its roster not imported yet) step out
    of the queue as "deferred" and are tried again with a back-off of their own for
    `refusal_period`, with every later record about the same retiree held back behind them;
    after that period they are "refused" and listed for staff (`records refused`).
    Every round also signs a checkpoint of this region's chain head and sends it along.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        own_region: str,
        peers: PeerRegistry,
        key: Ed25519PrivateKey,
        transport: Transport,
        clock: Callable[[], datetime],
        *,
        batch_size: int = 1000,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        refusal_period: timedelta = timedelta(days=7),
        refusal_delay: float = 300.0,
        refusal_max_delay: float = 6 * 3600.0,
    ) -> None:
        self._uow_factory, self._region, self._peers, self._key = uow_factory, own_region, peers, key
        self._transport, self._clock = transport, clock
        self._batch, self._base, self._max = batch_size, base_delay, max_delay
        self._refusal_period, self._refusal_max = refusal_period, refusal_max_delay
        self._refusal_delay = max(1.0, refusal_delay)  # never "due again at once": drain() ends

    async def checkpoint(self) -> SignedHead | None:
        """Sign this region's chain head (when the records since the last checkpoint check
        out) and return the latest good checkpoint, which travels with every batch."""
        async with self._uow_factory() as uow:
            advance = await advance_checkpoint(uow, self._region, self._key, self._clock())
            if advance.made:
                await uow.commit()
        if advance.problem:
            logger.error("chain of region %s not checkpointed: %s", self._region, advance.problem)
        return advance.head

    async def deliver_once(self) -> DeliveryReport:
        """One batch per region with records due; call again while it delivers anything."""
        delivered = refused = deferred = 0
        failed: list[str] = []
        head = await self.checkpoint()
        async with self._uow_factory() as uow:
            regions = await uow.outbox.regions_waiting()
        for region in sorted(regions):
            ok, sent, refused_here, deferred_here = await self._deliver_region(region, head)
            delivered, refused, deferred = delivered + sent, refused + refused_here, deferred + deferred_here
            if not ok:
                failed.append(region)
        return DeliveryReport(delivered, refused, tuple(failed), deferred)

    async def drain(self) -> DeliveryReport:
        """Deliver until nothing more goes (all sent, or the rest waiting for a retry)."""
        total = DeliveryReport()
        while True:
            report = await self.deliver_once()
            total = DeliveryReport(
                total.delivered + report.delivered,
                total.refused + report.refused,
                report.failed_regions,
                total.deferred + report.deferred,
            )
            if not report.delivered and not report.refused and not report.deferred:
                return total

    async def _deliver_region(self, region: str, head: SignedHead | None) -> tuple[bool, int, int, int]:
        now = self._clock()
        async with self._uow_factory() as uow:
            # Later records about a retiree whose earlier ones wait for a retry wait with them.
            await uow.outbox.hold_behind_deferred(region)
            await uow.commit()
            # A retiree's waiting records go when the first of them is due (its back-off rules).
            retry = await uow.outbox.deferred_due(region, now, self._batch)
            if not retry:
                rows = await uow.outbox.pending(region, self._batch)
        if retry:  # a retiree's waiting records go together, in order
            return await self._send(region, retry, head, now, retrying=True)
        if not rows:
            return True, 0, 0, 0
        first = rows[0][0]
        if first.next_attempt_at is not None and as_utc(first.next_attempt_at) > now:
            return True, 0, 0, 0  # backing off: nothing of this region goes before its head
        return await self._send(region, rows, head, now, retrying=False)

    async def _send(
        self,
        region: str,
        rows: Sequence[OutboxRow],
        head: SignedHead | None,
        now: datetime,
        *,
        retrying: bool,
    ) -> tuple[bool, int, int, int]:
        peer = self._peers.get(region)
        ids = [entry.id for entry, _ in rows]
        if peer is None:
            await self._failed(rows, now, f"no peer configured for region {region}", retrying)
            return False, 0, 0, 0
        payload = []
        for _, record in rows:
            item = record_body(record)
            item["prev_hash"], item["hash"] = record.prev_hash, record.hash
            payload.append(item)
        document: dict[str, Any] = {"records": payload}
        if head is not None:
            document["head"] = head.as_dict()
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        headers = sign_headers(self._key, self._region, "POST", RECORDS_PATH, body, now)
        try:
            status, answer = await self._transport(peer.url + RECORDS_PATH, body, headers)
        except Exception as error:  # noqa: BLE001 - any transport failure means "try later"
            status, answer = 0, {"detail": type(error).__name__}
        if status == 200:
            await self._mark(ids, state="delivered", delivered_at=now, last_error="")
            return True, len(ids), 0, 0
        reason = _reason(status, answer)
        if status == 422 and answer and isinstance(answer.get("refused"), list):
            refused_uids = {uid for uid in answer["refused"] if isinstance(uid, str)}
            refused = [(entry, record) for entry, record in rows if record.record_uid in refused_uids]
            if refused:
                retried = problem_code(answer) in RETRIED_REFUSALS
                given_up, deferred = await self._refused(refused, now, reason, retried)
                logger.warning(
                    "region %s refused %d record(s): %s; %d to be tried again, %d given up (records refused)",
                    region,
                    len(refused),
                    problem_code(answer) or f"HTTP {status}",
                    deferred,
                    given_up,
                )
                return True, 0, given_up, deferred
        logger.warning("delivery to region %s failed: %s", region, reason[:200])
        await self._failed(rows, now, reason, retrying)
        return False, 0, 0, 0

    async def _refused(
        self,
        rows: Sequence[tuple[OutboxEntry, VerificationRecord]],
        now: datetime,
        reason: str,
        retried: bool,
    ) -> tuple[int, int]:
        """Defer each refused record for another try, or give it up: (given up, deferred)."""
        given_up = deferred = 0
        async with self._uow_factory() as uow:
            for entry, _ in rows:
                since = as_utc(entry.refused_since) if entry.refused_since else now
                tries = entry.attempts + 1 if entry.refused_since else 1
                values: dict[str, Any] = {"refused_since": since, "attempts": tries, "last_error": reason}
                deadline = since + self._refusal_period
                if not retried or now >= deadline:
                    values.update(state="refused", next_attempt_at=None)
                    given_up += 1
                else:
                    delay = timedelta(seconds=min(self._refusal_max, self._refusal_delay * 2 ** (tries - 1)))
                    values.update(state="deferred", next_attempt_at=min(now + delay, deadline))
                    deferred += 1
                await uow.outbox.mark(entry.id, **values)
            await uow.commit()
        return given_up, deferred

    async def _mark(self, ids: list[int], **values: Any) -> None:
        async with self._uow_factory() as uow:
            for chunk in _chunks(ids, 500):
                await uow.outbox.mark_all(chunk, **values)
            await uow.commit()

    async def _failed(self, rows: Sequence[OutboxRow], now: datetime, error: str, retrying: bool) -> None:
        """Not delivered (transport failure, or refused in a way another try may cure): the
        queue's first row backs off; records waiting for a retry wait again, as they are."""
        if retrying:
            later = now + timedelta(seconds=self._refusal_delay)
            await self._mark([entry.id for entry, _ in rows], next_attempt_at=later, last_error=error)
            return
        first = rows[0][0]
        delay = min(self._max, self._base * (2**first.attempts))
        async with self._uow_factory() as uow:
            await uow.outbox.mark(
                first.id,
                attempts=first.attempts + 1,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=error,
            )
            await uow.commit()

    async def pending(self) -> int:
        async with self._uow_factory() as uow:
            return await uow.outbox.pending_count()


# --- refusals, for staff ------------------------------------------------------------------


@dataclass(frozen=True)
class RefusedEntry:
    outbox_id: int
    dest_region: str
    state: str  # "refused" (given up) or "deferred" (to be tried again)
    seq: int
    event: str
    occurred_at: str
    retiree_id: int | None  # this region's roster row, when the retiree is on it
    refused_since: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    reason: str


async def refused_entries(uow: UnitOfWork, *, waiting_too: bool = False) -> list[RefusedEntry]:
    """Records a paying region refused: given up, and (waiting_too) those still retried."""
    states = ("refused", "deferred") if waiting_too else ("refused",)
    return [
        RefusedEntry(
            entry.id,
            entry.dest_region,
            entry.state,
            record.seq,
            record.event,
            record.occurred_at,
            retiree_id,
            entry.refused_since,
            entry.attempts,
            entry.next_attempt_at,
            entry.last_error,
        )
        for entry, record, retiree_id in await uow.outbox.refusals(states)
    ]


async def requeue_refused(uow: UnitOfWork, outbox_ids: list[int]) -> int:
    """Send given-up records again (after the regions have sorted it out); a new retry period."""
    return await uow.outbox.requeue_refused(outbox_ids)
