"""Helpers shared by the stand-in tests: a real PTB Application on the stand-in, shape checks."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any

from PIL import Image
from telegram import TelegramObject
from telegram.ext import Application, ApplicationBuilder

from demo.standin.server import RunningStandin

TOKEN = "123456789:AAH-standin_test_token_0123456789abcd"
CHAT_ID = 424242


def build_application(standin: RunningStandin, token: str = TOKEN) -> Application:
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(standin.bot_base_url)
        .base_file_url(standin.file_base_url)
        .build()
    )


@contextlib.asynccontextmanager
async def polling(application: Application) -> AsyncIterator[Application]:
    """Run a real PTB Application with long polling against the stand-in."""
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=5)
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


def assert_clean(obj: Any) -> None:
    """Fail when PTB put any field into api_kwargs: a field name the real Bot API does not have."""
    if isinstance(obj, TelegramObject):
        assert not obj.api_kwargs, f"{type(obj).__name__} got unknown fields {dict(obj.api_kwargs)}"
        for value in obj._get_attrs(include_private=False, recursive=False).values():
            assert_clean(value)
    elif isinstance(obj, list | tuple):
        for item in obj:
            assert_clean(item)


def image_bytes(width: int, height: int, fmt: str = "PNG", color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, fmt)
    return buffer.getvalue()
