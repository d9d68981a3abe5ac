"""Protection of personal data at rest.

ID numbers are looked up by a keyed hash (HMAC-SHA256), so the database alone does not
reveal them even to someone who can enumerate all valid ID numbers; an encrypted copy
(Fernet: AES-128-CBC with HMAC) is kept for staff who must see the number.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class PersonalDataVault:
    def __init__(self, encryption_key: bytes, lookup_key: bytes) -> None:
        self._fernet = Fernet(encryption_key)
        self._lookup_key = lookup_key

    def __repr__(self) -> str:  # never show keys
        return "PersonalDataVault(<keys hidden>)"

    def lookup_hash(self, id_number: str) -> str:
        normalised = id_number.strip().upper()
        return hmac.new(self._lookup_key, normalised.encode(), hashlib.sha256).hexdigest()

    def keyed_digest(self, purpose: str, text: str) -> bytes:
        """HMAC-SHA256 of `text` under the lookup key, for `purpose` (e.g. drawing which passes
        staff audit): nobody without the key can tell the result beforehand. The NUL between
        purpose and text keeps these apart from ID-number hashes (an ID number has no NUL)."""
        message = purpose.encode() + b"\x00" + text.encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).digest()

    def encrypt(self, value: str | bytes) -> bytes:
        data = value.encode() if isinstance(value, str) else value
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as error:
            raise ValueError("encrypted value cannot be read with the configured key") from error

    def decrypt_text(self, token: bytes) -> str:
        return self.decrypt(token).decode()
