"""Signed checkpoints of a region's chain head, and the heads of other regions' chains.

The hash chain alone proves that the records *up to its last one* fit together: whoever can
write the database can rewrite the last record and the head, or cut the tail, and the walk
still checks out. A checkpoint anchors the head: (region, seq, hash, time) signed with the
region's Ed25519 exchange key, which lives in a file, not in the database. `records verify`
then demands that the chain still reaches every checkpoint with the same hash there.

Checkpoints are made by the outbox worker on every delivery round and by `records verify`
(never for a chain that does not check out since the previous checkpoint), and the latest
one travels as `head` with every batch of records, so each peer keeps the latest head it
has seen from each region: a head that goes backwards is kept aside as a conflict.

What this does not stop: an attacker holding both the database and the key file can sign
whatever they like; a cut before the first checkpoint was made (or, for the peers' copy,
sent) is not noticed; and deleting the checkpoint rows together with the tail is only
noticed by the peers that hold a later head (`records heads` there).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kernel.clock import as_utc
from storage.models.records import ChainCheckpoint, PeerChainHead
from storage.uow import UnitOfWork
from verification.records.chain import GENESIS, ChainReport, chain_hash, record_body

logger = logging.getLogger(__name__)

_CONTEXT = "pension-bot chain head v1"  # never a prefix of a signed request (those start "POST")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SignedHead:
    region: str
    seq: int
    hash: str
    made_at: str
    signature: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "seq": self.seq,
            "hash": self.hash,
            "made_at": self.made_at,
            "signature": self.signature,
        }

    @classmethod
    def of(cls, row: ChainCheckpoint | PeerChainHead) -> SignedHead:
        region = row.region if isinstance(row, ChainCheckpoint) else row.origin_region
        return cls(region, row.seq, row.hash, row.made_at, row.signature)

    @classmethod
    def parse(cls, value: object) -> SignedHead:
        """From a request body; ValueError names what is wrong."""
        if not isinstance(value, dict):
            raise ValueError("head is not an object")
        # Whatever the body holds (checked below, field by field).
        fields: list[Any] = [value.get(name) for name in ("region", "seq", "hash", "made_at", "signature")]
        head = cls(*fields)
        if not (isinstance(head.region, str) and 0 < len(head.region) <= 6):
            raise ValueError("head.region is missing")
        if not isinstance(head.seq, int) or isinstance(head.seq, bool) or head.seq < 1:
            raise ValueError("head.seq must be a positive integer")
        if not (isinstance(head.hash, str) and _HEX64.fullmatch(head.hash)):
            raise ValueError("head.hash must be 64 hex digits")
        if not (isinstance(head.made_at, str) and 0 < len(head.made_at) <= 40):
            raise ValueError("head.made_at is missing")
        if not (isinstance(head.signature, str) and 0 < len(head.signature) <= 100):
            raise ValueError("head.signature is missing")
        return head

    def message(self) -> bytes:
        return "\n".join([_CONTEXT, self.region, str(self.seq), self.hash, self.made_at]).encode()

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(base64.b64decode(self.signature, validate=True), self.message())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def sign_head(key: Ed25519PrivateKey, region: str, seq: int, hash_: str, at: datetime) -> SignedHead:
    made_at = as_utc(at).astimezone(UTC).isoformat(timespec="seconds")
    unsigned = SignedHead(region, seq, hash_, made_at, "")
    signature = base64.b64encode(key.sign(unsigned.message())).decode()
    return SignedHead(region, seq, hash_, made_at, signature)


@dataclass(frozen=True)
class Advance:
    head: SignedHead | None  # the latest checkpoint that checks out (new or old); None: none yet
    made: bool = False  # a new checkpoint was written (the caller commits)
    problem: str = ""  # the chain does not check out since that checkpoint: none was made


async def advance_checkpoint(uow: UnitOfWork, region: str, key: Ed25519PrivateKey, at: datetime) -> Advance:
    """Check the records after the latest checkpoint and sign a new one at the chain head.

    Incremental: only the records since the last checkpoint are read. Nothing is signed for
    a chain that has lost, changed or re-ordered records since then."""
    public_key = key.public_key()
    latest = None
    for row in reversed(await uow.checkpoints.for_region(region)):
        latest = SignedHead.of(row)
        if not latest.signed_by(public_key):
            return Advance(None, problem=f"checkpoint #{row.seq} does not verify with the exchange key")
        break
    # The head first: everything up to it is committed (appends write both in one transaction).
    head = await uow.records.committed_chain_head(region)
    if head is None or head.seq == 0:
        if latest is not None:
            return Advance(latest, problem=f"the chain is empty but checkpoint #{latest.seq} was made")
        return Advance(None)
    start, prev = (latest.seq, latest.hash) if latest else (0, GENESIS)
    if head.seq < start:
        return Advance(latest, problem=f"the chain head is at #{head.seq}, before checkpoint #{start}")
    if latest is not None:
        anchor = await uow.records.hash_at(region, start)
        if anchor != latest.hash:
            return Advance(latest, problem=f"record #{start} is missing or no longer matches its checkpoint")
    expected = start + 1
    while expected <= head.seq:
        rows = await uow.records.between(region, expected, head.seq, 5000)
        if not rows:
            break
        for record in rows:
            if (
                record.seq != expected
                or record.prev_hash != prev
                or chain_hash(prev, record_body(record)) != record.hash
            ):
                return Advance(latest, problem=f"record #{expected} does not check out")
            prev, expected = record.hash, expected + 1
    if expected != head.seq + 1 or prev != head.hash:
        return Advance(latest, problem=f"the records stop before the chain head #{head.seq}")
    if latest is not None and latest.seq == head.seq:
        return Advance(latest)
    signed = sign_head(key, region, head.seq, head.hash, at)
    uow.checkpoints.add(
        ChainCheckpoint(
            region=region,
            seq=signed.seq,
            hash=signed.hash,
            made_at=signed.made_at,
            signature=signed.signature,
        )
    )
    await uow.flush()
    return Advance(signed, made=True)


async def check_checkpoints(
    uow: UnitOfWork, report: ChainReport, public_key: Ed25519PublicKey | None
) -> ChainReport:
    """A chain that walks intact must also still reach its checkpoints with the same hashes.

    Without the public key (no exchange key on this machine) the checkpoints are compared
    but their signatures cannot be checked: the report then says the head is not anchored."""
    if not report.intact:
        return report
    rows = await uow.checkpoints.for_region(report.region)
    if not rows:
        return report
    for row in rows:
        if public_key is not None and not SignedHead.of(row).signed_by(public_key):
            return ChainReport(
                report.region,
                report.records,
                False,
                row.seq,
                None,
                f"checkpoint #{row.seq} (signed {row.made_at}) does not verify with the exchange key: "
                "the checkpoints were altered (or the key was replaced)",
                checkpoint_seq=row.seq,
            )
    seqs = sorted({row.seq for row in rows})
    hashes = await uow.records.hashes_at(report.region, seqs)
    agreed, latest = 0, rows[-1]
    for row in rows:
        if row.seq <= report.records and hashes.get(row.seq, ("", ""))[0] == row.hash:
            agreed = max(agreed, row.seq)
    if latest.seq <= report.records and agreed >= latest.seq:
        return ChainReport(
            report.region, report.records, True, checkpoint_seq=latest.seq, anchored=public_key is not None
        )
    # The tail was cut, or rewritten (with the head) after the latest checkpoint.
    if latest.seq > report.records:
        lost = latest.seq - report.records
        first_bad = report.records + 1
        where = f"the chain now ends at #{report.records}"
    else:
        lost = latest.seq - agreed
        first_bad = agreed + 1
        where = f"record #{latest.seq} no longer has the signed hash; the checkpoints agree up to #{agreed}"
    return ChainReport(
        report.region,
        report.records,
        False,
        first_bad,
        hashes.get(first_bad, ("", None))[1],
        f"the last {lost} record(s) were removed or changed after checkpoint #{latest.seq}"
        f" (signed {latest.made_at}): {where}",
        checkpoint_seq=latest.seq,
        records_lost=lost,
    )


@dataclass(frozen=True)
class HeadTaken:
    stored: bool
    conflict: str = ""


async def store_peer_head(uow: UnitOfWork, head: SignedHead, now: datetime) -> HeadTaken:
    """Keep the latest head seen from a peer; a head going backwards is kept aside as a
    conflict (the sender's chain was cut or rewritten) and the later head stays."""
    row = await uow.peer_heads.for_update(head.region)
    if row is None:
        uow.peer_heads.add(
            PeerChainHead(
                origin_region=head.region,
                seq=head.seq,
                hash=head.hash,
                made_at=head.made_at,
                signature=head.signature,
                received_at=now,
                conflict="",
            )
        )
        return HeadTaken(True)
    if head.seq > row.seq:
        row.seq, row.hash, row.made_at, row.signature, row.received_at = (
            head.seq,
            head.hash,
            head.made_at,
            head.signature,
            now,
        )
        return HeadTaken(True)
    if head.seq == row.seq and head.hash == row.hash:
        row.received_at = now
        return HeadTaken(False)
    conflict = (
        f"{as_utc(now).isoformat(timespec='seconds')}: received head #{head.seq} ({head.hash[:16]}, signed"
        f" {head.made_at}) after head #{row.seq} ({row.hash[:16]}, signed {row.made_at}):"
        " the sender's chain was cut or rewritten"
    )
    row.conflict = (conflict + "\n" + (row.conflict or ""))[:4000]
    logger.warning(
        "region %s sent chain head #%d after #%d: its chain was cut or rewritten",
        head.region,
        head.seq,
        row.seq,
    )
    return HeadTaken(False, conflict)


async def peer_heads(uow: UnitOfWork) -> list[PeerChainHead]:
    return await uow.peer_heads.all()
