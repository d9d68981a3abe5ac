"""Who is signed in, for how long, and the CSRF token of their forms.

The cookie lives in an encrypted cookie (aiohttp-session's EncryptedCookieStorage, Fernet):
it names the staff member and holds nothing personal. It ends after `IDLE_MINUTES` without a
click or `MAX_HOURS` after signing in, whichever comes first; the staff member is checked
again on every request (ConsoleSignInService.current), so deactivating them signs them out.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from aiohttp_session import Session, get_session, new_session

from accounts.console_sign_in import ConsoleStaff
from kernel.permissions import NotStaff
from web.console.services import ConsoleServices

IDLE_MINUTES = 30
MAX_HOURS = 8
CSRF_FIELD = "csrf"


class SignedOut(Exception):
    """No session, or one that has ended: the page says to ask the bot for a new link."""


async def sign_in(request: web.Request, staff: ConsoleStaff, services: ConsoleServices) -> None:
    language = (await get_session(request)).get("language")
    cookie = await new_session(request)  # a new identity: nothing of the one before it
    now = services.clock().timestamp()
    cookie.update(staff.as_session())
    cookie.update({"since": now, "seen": now, CSRF_FIELD: secrets.token_urlsafe(32)})
    if language:
        cookie["language"] = language


async def signed_in_staff(request: web.Request, services: ConsoleServices) -> ConsoleStaff:
    cookie = await get_session(request)
    if "staff_id" not in cookie:
        raise SignedOut
    now = services.clock().timestamp()
    if now - cookie["seen"] > IDLE_MINUTES * 60 or now - cookie["since"] > MAX_HOURS * 3600:
        _end(cookie)
        raise SignedOut
    try:
        staff = await services.sign_in.current(cookie["staff_id"], cookie["telegram_user_id"])
    except NotStaff:
        _end(cookie)
        raise SignedOut from None
    cookie["seen"] = now
    return staff


def _end(cookie: Session) -> None:
    language = cookie.get("language")
    cookie.invalidate()
    if language:
        cookie["language"] = language


async def sign_out(request: web.Request) -> None:
    _end(await get_session(request))


async def csrf_token(request: web.Request) -> str:
    return str((await get_session(request)).get(CSRF_FIELD, ""))


async def csrf_is_valid(request: web.Request, given: str) -> bool:
    expected = await csrf_token(request)
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


async def choose_language(request: web.Request, language: str) -> None:
    (await get_session(request))["language"] = language
