"""The bot token and the keys never reach the output: a token Telegram refuses ends `run` with
one line and exit code 2 (PTB's own message quotes the token), and every log record is masked
in its message, its arguments and its traceback."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from pathlib import Path

from app.logs import MASK, MaskingFormatter, SecretMask
from demo.standin.server import running_standin

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = "7100000002:the-one-token-the-stand-in-knows"
REFUSED = "7199000001:SUPERSECRETsupersecretSUPERSECRET_0123"
DATA_KEY_VALUE = "c2VjcmV0LWRhdGEta2V5LXZhbHVlLWZvci10ZXN0cw=="


async def test_a_refused_token_ends_run_with_one_line_and_no_token(tmp_path):
    var = tmp_path / "var"
    async with running_standin(tokens=[ACCEPTED]) as standin:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))},
            "PYTHONPATH": str(REPO_ROOT),
            "TELEGRAM_TOKEN": REFUSED,
            "BOT_MODE": "polling",
            "BOT_API_BASE_URL": standin.bot_base_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "VAR_DIR": str(var),
        }
        # cwd is the temporary directory: no .env of the checkout is read.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)

    out, err = stdout.decode(), stderr.decode()
    assert process.returncode == 2, (out, err)
    assert "Telegram refused the bot token; check TELEGRAM_TOKEN" in err
    assert "Traceback" not in err and "Traceback" not in out
    secret = REFUSED.split(":", 1)[1]
    assert secret not in out and secret not in err
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in ("", ".log", ".txt", ".json")]
    for path in written:
        assert secret.encode() not in path.read_bytes(), path


def _record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_a_record_is_masked_in_its_message_arguments_and_traceback():
    mask = SecretMask([DATA_KEY_VALUE])
    try:
        raise RuntimeError(f"The token `{REFUSED}` was rejected by the server.")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = _record("start with %s and key " + DATA_KEY_VALUE, REFUSED, exc_info=exc_info)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(mask)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record)

    text = stream.getvalue()
    assert "Traceback" in text and "RuntimeError" in text and MASK in text
    assert REFUSED not in text and "SUPERSECRET" not in text and DATA_KEY_VALUE not in text


def test_the_formatter_masks_what_no_filter_saw():
    """A traceback formatted by the handler itself (the filter not installed) is masked too."""
    mask = SecretMask()
    try:
        raise ValueError(REFUSED)
    except ValueError:
        record = _record("failed: %s", REFUSED, exc_info=sys.exc_info())
    text = MaskingFormatter(mask, "%(message)s").format(record)
    assert "ValueError" in text and "SUPERSECRET" not in text


def test_short_and_ordinary_values_are_left_alone():
    mask = SecretMask(["", "abc"])
    assert mask.mask("update 12345 failed: abc") == "update 12345 failed: abc"
