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

from storage.key_material import PersonalDataKeys


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
    # that the demo works out of the box; production sets them from a secret store. Keys are
    # generated only for an empty database; the database keeps their fingerprints and refuses
    # other keys (storage/keyring.py, `pension-bot keys`).
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
    # The staff audit of self-service passes (verification/certification/pass_audit.py): the share of passes
    # drawn at random, and the risk score from which every pass is audited. None: the values
    # of verification/data/pass_audit.toml (5 %, 4 points).
    pass_audit_share: float | None = Field(default=None, ge=0, le=1, validation_alias="PASS_AUDIT_SHARE")
    pass_audit_threshold: int | None = Field(
        default=None, ge=0, le=1000, validation_alias="PASS_AUDIT_THRESHOLD"
    )
    webhook_url: str | None = Field(default=None, validation_alias="WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(default=None, validation_alias="WEBHOOK_SECRET")
    listen_host: str = Field(default="127.0.0.1", validation_alias="LISTEN_HOST")
    listen_port: int = Field(default=8080, validation_alias="LISTEN_PORT")
    # The staff console's public address, as the bot writes it in a sign-in link (HTTPS in
    # production; its cookie is then marked Secure). Default: this server's /console.
    console_url: str | None = Field(default=None, validation_alias="CONSOLE_URL")
    # The region exchange: this region's Ed25519 key and the peers (code -> URL + public key).
    exchange_key_file: Path | None = Field(default=None, validation_alias="EXCHANGE_KEY_FILE")
    exchange_peers_file: Path | None = Field(default=None, validation_alias="EXCHANGE_PEERS_FILE")
    feed_agencies_file: Path | None = Field(default=None, validation_alias="FEED_AGENCIES_FILE")
    # The agency's own certification cycle per region (due-date rule, grace, reminders, quiet
    # hours), in the shipped file's format; default verification/data/cycle_policies.toml.
    cycle_policies_file: Path | None = Field(default=None, validation_alias="CYCLE_POLICIES_FILE")
    # The agency's own training material: a folder with courses/, questions/ and exam.toml in the
    # shipped files' format (content/data/training/, the default).
    training_dir: Path | None = Field(default=None, validation_alias="TRAINING_DIR")
    # Regions (codes, comma-separated; a prefecture or province code covers the regions below
    # it) whose staff decide review cases only while holding a valid training certificate.
    review_needs_training: str = Field(
        default="", pattern=r"^\s*(\d{2,6}\s*(,\s*\d{2,6}\s*)*)?$", validation_alias="REVIEW_NEEDS_TRAINING"
    )
    # Records a paying region refuses as not its retiree (its roster not imported yet) are
    # tried again with a growing back-off for this many days, then listed by `records refused`.
    exchange_refusal_retry_days: float = Field(
        default=7.0, gt=0, validation_alias="EXCHANGE_REFUSAL_RETRY_DAYS"
    )
    # The update inbox (durable updates): pending updates are handed over again every
    # INBOX_SWEEP_SECONDS, at most INBOX_MAX_TRIES times; handled ones are kept this many days.
    inbox_sweep_seconds: float = Field(default=30.0, gt=0, validation_alias="INBOX_SWEEP_SECONDS")
    inbox_max_tries: int = Field(default=10, ge=1, validation_alias="INBOX_MAX_TRIES")
    inbox_retention_days: float = Field(default=7.0, gt=0, validation_alias="INBOX_RETENTION_DAYS")

    # Scaling out (broker/, `pension-bot serve --role`): the RabbitMQ URL, the number of
    # partition queues (the same in every process), and this bot worker's index among WORKERS.
    broker_url: SecretStr | None = Field(default=None, validation_alias="BROKER_URL")
    update_partitions: int = Field(default=8, ge=1, le=1024, validation_alias="UPDATE_PARTITIONS")
    # Names the exchange and queues: two deployments (or test runs) can share one broker.
    broker_prefix: str = Field(
        default="pension-bot", pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", validation_alias="BROKER_PREFIX"
    )
    worker_index: int = Field(default=0, ge=0, validation_alias="WORKER_INDEX")
    workers: int = Field(default=1, ge=1, validation_alias="WORKERS")
    # Face and liveness work: "local" (this process's pool of FACE_WORKERS) or "broker" (face
    # workers of `serve --role faces` anywhere, through RabbitMQ, results in Redis at REDIS_URL).
    face_queue: Literal["local", "broker"] = Field(default="local", validation_alias="FACE_QUEUE")
    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")
    # Seconds a conversation waits for a face worker's verdict, queueing included.
    face_queue_timeout: float = Field(default=120.0, gt=0, validation_alias="FACE_QUEUE_TIMEOUT")

    def face_engine_spec(self):
        """The configured `verification.faces.engines.EngineSpec` (no model is loaded)."""
        from verification.faces.engines import EngineSpec

        return EngineSpec(self.face_engine, self.face_model_path, self.face_dlib_jitters)

    def console_base_url(self) -> str:
        return (self.console_url or f"http://{self.listen_host}:{self.listen_port}/console").rstrip("/")

    def certificate_check_url(self) -> str:
        """The public page that checks a training certificate, beside the console."""
        base = self.console_base_url()
        return base.removesuffix("/console") + "/training/check"

    def review_training_regions(self) -> tuple[str, ...]:
        return tuple(code.strip() for code in self.review_needs_training.split(",") if code.strip())

    def face_thresholds_path(self) -> Path:
        return self.face_thresholds_file or self.var_dir / "face_thresholds.toml"

    def exchange_key_path(self) -> Path:
        """This region's exchange key (`pension-bot records keygen`): EXCHANGE_KEY_FILE, else in VAR_DIR."""
        return self.exchange_key_file or self.var_dir / "exchange_key"

    def exchange_peers_path(self) -> Path:
        """The peer registry of the region exchange: EXCHANGE_PEERS_FILE, else in VAR_DIR."""
        return self.exchange_peers_file or self.var_dir / "exchange_peers.json"

    def feed_agencies_path(self) -> Path:
        """The agencies that may send feeds (POST /v1/feeds/SOURCE): FEED_AGENCIES_FILE, else in VAR_DIR."""
        return self.feed_agencies_file or self.var_dir / "feed_agencies.json"

    @property
    def mode(self) -> BotMode:
        if self.bot_mode is not None:
            return self.bot_mode
        return BotMode.POLLING if self.telegram_token else BotMode.STANDIN

    def secrets_path(self) -> Path:
        """The local secrets file (`VAR_DIR/secrets.json`): keys not given in the environment."""
        return self.var_dir / SECRETS_FILE_NAME

    def load_personal_data_keys(self) -> PersonalDataKeys | None:
        """The keys from the environment (DATA_KEY, ID_HASH_KEY) or the local secrets file, or
        None where one is missing. Never creates keys: only `storage.keyring.open_vault` does,
        and only for an empty database (new keys over existing data would make it unreadable)."""
        from_env = {
            name: value.get_secret_value()
            for name, value in (("data_key", self.data_key), ("id_hash_key", self.id_hash_key))
            if value is not None
        }
        stored: dict[str, str] = {}
        if len(from_env) < 2:
            stored = read_local_secrets(self.secrets_path()) or {}
        values = {**stored, **from_env}
        if not all(values.get(name) for name in ("data_key", "id_hash_key")):
            return None
        return PersonalDataKeys(
            values["data_key"].encode(),
            values["id_hash_key"].encode(),
            data_key_from_env="data_key" in from_env,
            id_hash_key_from_env="id_hash_key" in from_env,
        )

    def create_local_secrets_file(self) -> None:
        create_local_secrets(self.secrets_path())

    def personal_data_keys(self, *, create_if_missing: bool = False) -> tuple[bytes, bytes]:
        """(Fernet key, HMAC key). Missing keys are an error unless `create_if_missing` (for a
        caller that knows the database is empty, e.g. a test setting one up)."""
        keys = self.load_personal_data_keys()
        if keys is None:
            if not create_if_missing:
                raise FileNotFoundError(
                    f"no keys: {self.secrets_path()} does not exist and DATA_KEY/ID_HASH_KEY are not set"
                )
            create_local_secrets(self.secrets_path())
            keys = self.load_personal_data_keys()
            assert keys is not None
        return keys.data_key, keys.id_hash_key


SECRETS_FILE_NAME = "secrets.json"


def read_local_secrets(path: Path) -> dict[str, str] | None:
    """The local secrets file's values, or None if there is no file. Never creates it."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        values = json.loads(text)
    except ValueError:
        # The message names the file only: the text is key material.
        raise ValueError(f"{path} is not valid JSON (damaged?)") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} does not hold the expected keys (damaged?)")
    return {str(k): str(v) for k, v in values.items()}


def new_personal_data_keys() -> dict[str, str]:
    """A new data key and ID-hash key (32 random bytes each, URL-safe base64)."""
    return {
        "data_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "id_hash_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def create_local_secrets(path: Path) -> dict[str, str]:
    """New keys in a new secrets file. Fails with FileExistsError where one exists: keys
    are never replaced. Written whole (temporary file, fsync, hard link), mode 0600."""
    values = new_personal_data_keys()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private_file(path, json.dumps(values), replace=False)
    return values


def write_private_file(path: Path, text: str, *, replace: bool) -> None:
    """Write `text` to `path` whole or not at all, readable by its owner only (0600): a
    temporary file beside it, fsync, then rename (replace=True) or hard link (replace=False:
    FileExistsError where the file exists), then the directory is synced."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # Created with 0600 from the start, never world-readable even for a moment.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
