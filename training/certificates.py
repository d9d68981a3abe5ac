"""Training certificates (培训合格证书) that anyone can check: a number that says the year and
region and a serial (PXC-2026-110105-000123), and a verification code printed beside it, a
keyed digest of the number. A tampered number, or a code for another number, fails the
check; so does a revoked certificate (the storage keeps revocations)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

_NUMBER = re.compile(r"^PXC-(?P<year>\d{4})-(?P<region>\d{6})-(?P<serial>\d{6,9})$")
CODE_LENGTH = 10


@dataclass(frozen=True)
class CertificateNumber:
    year: int
    region: str
    serial: int

    def __str__(self) -> str:
        return f"PXC-{self.year:04d}-{self.region}-{self.serial:06d}"


def parse_number(text: str) -> CertificateNumber | None:
    """The number as typed (spaces and lower case forgiven), or None when it is not one."""
    match = _NUMBER.match(re.sub(r"\s+", "", text or "").upper())
    if not match:
        return None
    return CertificateNumber(int(match["year"]), match["region"], int(match["serial"]))


def verification_code(number: CertificateNumber, key: bytes) -> str:
    """Ten characters of base32 (no 0/1/8/9 to misread), from an HMAC of the number."""
    digest = hmac.new(key, f"training certificate {number}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:CODE_LENGTH]


def code_matches(number: CertificateNumber, code: str, key: bytes) -> bool:
    typed = re.sub(r"[\s-]+", "", code or "").upper()
    return hmac.compare_digest(typed, verification_code(number, key))
