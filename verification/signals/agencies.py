"""The agencies whose systems may send feeds over the signed endpoint (POST /v1/feeds/SOURCE),
and which sources each may send. A JSON file kept beside the exchange's peer registry:

    {"agencies": {"YB4403": {"public_key": "<base64 Ed25519>", "sources": ["medical_settlement"]}}}

An agency is known by a six-character code (it signs as the X-Region of the exchange's
signature scheme, verification/records/exchange.py: same headers, same five-minute window,
same one-time nonces), so a medical insurance bureau cannot send deaths, nor a bank
settlements, even with a valid signature.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verification.records.exchange import Peer, PeerRegistry

_CODE = re.compile(r"^[A-Z0-9]{6}$")


class AgencyError(ValueError):
    """The agencies file is malformed: says which entry and why."""


@dataclass(frozen=True)
class FeedAgencies:
    sources: Mapping[str, frozenset[str]]  # agency code -> the sources it may send
    signers: PeerRegistry  # agency code -> its public key (as the exchange checks signatures)

    def may_send(self, agency: str, source: str) -> bool:
        return source in self.sources.get(agency, frozenset())

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FeedAgencies:
        sources: dict[str, frozenset[str]] = {}
        peers: dict[str, Peer] = {}
        for code, entry in (data.get("agencies") or {}).items():
            if not _CODE.match(str(code)) or not isinstance(entry, dict):
                raise AgencyError(f"agency {code!r}: a code of six capital letters or digits, with a table")
            try:
                key = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"], validate=True))
            except (KeyError, ValueError) as error:
                raise AgencyError(f"agency {code}: public_key must be a base64 Ed25519 key") from error
            allowed = entry.get("sources")
            if not isinstance(allowed, list) or not all(isinstance(name, str) for name in allowed):
                raise AgencyError(f"agency {code}: sources must be a list of source names")
            sources[code] = frozenset(allowed)
            peers[code] = Peer(code, "", key)
        return cls(sources, PeerRegistry(peers))

    @classmethod
    def load(cls, path: Path) -> FeedAgencies:
        if not path.exists():
            return cls({}, PeerRegistry())
        try:
            return cls.from_mapping(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as error:
            raise AgencyError(f"{path}: {error}") from error
