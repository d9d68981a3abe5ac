"""The keys that protect personal data, as values, and where they come from.

Its own module, importing nothing heavy: the settings (app/settings.py) make these values and
the keyring (storage/keyring.py) checks them against the database; neither needs the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class PersonalDataKeys:
    data_key: bytes  # a Fernet key (urlsafe base64 of 32 bytes)
    id_hash_key: bytes
    data_key_from_env: bool
    id_hash_key_from_env: bool

    def __repr__(self) -> str:  # never show keys
        return "PersonalDataKeys(<keys hidden>)"


class KeySource(Protocol):
    """Where the keys are kept: the environment, or the local secrets file (app.settings.Settings)."""

    def secrets_path(self) -> Path: ...

    def load_personal_data_keys(self) -> PersonalDataKeys | None:
        """The keys, or None where one is missing. Never creates any."""
        ...

    def create_local_secrets_file(self) -> None:
        """New keys in the local secrets file; FileExistsError if it is there already."""
        ...
