"""Configuration, read once from the environment (and an optional `.env`) and passed in.

Secrets are `SecretStr`: their repr and str print as '**********', so a settings object
can be logged or shown in a traceback without leaking a token or a key.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BotMode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"
    STANDIN = "standin"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_TOKEN")
    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/pension_bot.db", validation_alias="DATABASE_URL"
    )
    bot_mode: BotMode | None = Field(default=None, validation_alias="BOT_MODE")
    default_language: str = Field(default="zh_Hans", validation_alias="DEFAULT_LANGUAGE")
    region_code: str = Field(default="110000", validation_alias="REGION_CODE")
    # Due dates, reminders and quiet hours are reckoned in the region's local time.
    timezone: str = Field(default="Asia/Shanghai", validation_alias="TIMEZONE")

    # Keys protecting personal data at rest: a Fernet key for encrypted copies (ID numbers,
    # phone numbers, face templates) and an HMAC key for the lookup hash of ID numbers.
    # Where none is given they are generated once into `var/secrets.json` (mode 0600), so
    # that the demo works out of the box; production sets them from a secret store.
    data_key: SecretStr | None = Field(default=None, validation_alias="DATA_KEY")
    id_hash_key: SecretStr | None = Field(default=None, validation_alias="ID_HASH_KEY")
    var_dir: Path = Field(default=Path("var"), validation_alias="VAR_DIR")

    # Another Bot API server (a local telegram-bot-api, or the stand-in): its ".../bot" URL.
    bot_api_base_url: str | None = Field(default=None, validation_alias="BOT_API_BASE_URL")
    # Processes checking faces (one core each; one checks about five selfies a second).
    face_workers: int = Field(default=1, ge=1, validation_alias="FACE_WORKERS")
    # The face engine: "dlib" (face_recognition, ships with the product) or "onnx" (an
    # ArcFace-class model file the agency holds a licence for, named by FACE_MODEL_PATH).
    face_engine: Literal["dlib", "onnx"] = Field(default="dlib", validation_alias="FACE_ENGINE")
    face_model_path: Path | None = Field(default=None, validation_alias="FACE_MODEL_PATH")
    # dlib only: re-encodings averaged per face; each costs one more ResNet pass (~0.14 s).
    face_dlib_jitters: int = Field(default=1, ge=1, le=100, validation_alias="FACE_DLIB_JITTERS")
    # Calibrated thresholds written by `pension-bot calibrate`; default <VAR_DIR>/face_thresholds.toml.
    # Engines it does not name keep the shipped values (verification/data/face_thresholds.toml).
    face_thresholds_file: Path | None = Field(default=None, validation_alias="FACE_THRESHOLDS_FILE")
    # Cohort for score normalisation: at most this many other retirees' reference templates of
    # the same residence region; 0 turns normalisation off.
    face_cohort_size: int = Field(default=200, ge=0, le=1000, validation_alias="FACE_COHORT_SIZE")
    webhook_url: str | None = Field(default=None, validation_alias="WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(default=None, validation_alias="WEBHOOK_SECRET")
    listen_host: str = Field(default="127.0.0.1", validation_alias="LISTEN_HOST")
    listen_port: int = Field(default=8080, validation_alias="LISTEN_PORT")
    # The region exchange: this region's Ed25519 key and the peers (code -> URL + public key).
    exchange_key_file: Path | None = Field(default=None, validation_alias="EXCHANGE_KEY_FILE")
    exchange_peers_file: Path | None = Field(default=None, validation_alias="EXCHANGE_PEERS_FILE")

    def face_engine_spec(self):
        """The configured `verification.faces.engines.EngineSpec` (no model is loaded)."""
        from verification.faces.engines import EngineSpec

        return EngineSpec(self.face_engine, self.face_model_path, self.face_dlib_jitters)

    def face_thresholds_path(self) -> Path:
        return self.face_thresholds_file or self.var_dir / "face_thresholds.toml"

    @property
    def mode(self) -> BotMode:
        if self.bot_mode is not None:
            return self.bot_mode
        return BotMode.POLLING if self.telegram_token else BotMode.STANDIN

    def personal_data_keys(self) -> tuple[bytes, bytes]:
        """(Fernet key, HMAC key), from the environment or the local secrets file."""
        if self.data_key and self.id_hash_key:
            return (
                self.data_key.get_secret_value().encode(),
                self.id_hash_key.get_secret_value().encode(),
            )
        stored = _load_or_create_local_secrets(self.var_dir / "secrets.json")
        data_key = self.data_key.get_secret_value() if self.data_key else stored["data_key"]
        hash_key = self.id_hash_key.get_secret_value() if self.id_hash_key else stored["id_hash_key"]
        return data_key.encode(), hash_key.encode()


def _load_or_create_local_secrets(path: Path) -> dict[str, str]:
    if path.exists():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {
        "data_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "id_hash_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    # Created with 0600 from the start, never world-readable even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    return values
