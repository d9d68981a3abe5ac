"""What every console page shares: its refusals (a kind page and an error record), the
request's translator and staff member, the services, and the CSRF check of a form."""

from __future__ import annotations

from typing import TypeVar

import aiohttp_jinja2
from aiohttp import web

from accounts.console_sign_in import ConsoleStaff
from content.i18n import Translator
from web.console import cookie
from web.console.services import ConsoleServices, services_key


class Refused(Exception):
    """A request the console turns down: a kind page (`key`, `status`) and an error record
    (`code`, with what was wrong; never personal data)."""

    def __init__(self, key: str, status: int, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.key, self.status, self.code, self.detail = key, status, code, detail


class BadRequest(Refused):
    """A request the console cannot read (a bad quarter, page or region code)."""

    def __init__(self, what: str) -> None:
        super().__init__("console.problem.bad_request", 400, "console_bad_request", what)


def not_found() -> Refused:
    return Refused("console.problem.not_found", 404, "console_not_found")


Offered = TypeVar("Offered")


def offered(service: Offered | None) -> Offered:
    """A service this deployment may lack (training, 协查, home visits): without it, its
    pages are not found."""
    if service is None:
        raise not_found()
    return service


translator_key = web.RequestKey("console_translator", Translator)
staff_key = web.RequestKey("console_staff", ConsoleStaff)


def translator(request: web.Request) -> Translator:
    return request[translator_key]


def services_of(request: web.Request) -> ConsoleServices:
    return request.app[services_key]


def staff_of(request: web.Request) -> ConsoleStaff:
    return request[staff_key]


def problem(request: web.Request, key: str, *, status: int) -> web.Response:
    return aiohttp_jinja2.render_template("problem.html", request, {"message_key": key}, status=status)


async def require_csrf(request: web.Request, form: object) -> None:
    given = form.get(cookie.CSRF_FIELD, "") if hasattr(form, "get") else ""
    if not isinstance(given, str) or not await cookie.csrf_is_valid(request, given):
        raise Refused("console.problem.csrf", 403, "console_csrf_refused")


def no_store(body: bytes, content_type: str) -> web.Response:
    """A photo or a video of a person: never kept by a browser's or a proxy's cache."""
    return web.Response(body=body, content_type=content_type, headers={"Cache-Control": "no-store"})
