"""The console's app factory (as in aiohttp-demos' polls): templates, the encrypted session,
the routes, and one middleware that turns every refusal into a kind page and an error record.

Mounted at /console by `pension-bot run`, `records serve` and the demo (`add_console`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from content.i18n import Translator
from kernel.permissions import NotStaff
from web.console import pages
from web.console.common import Refused, problem, staff_key, translator, translator_key
from web.console.cookie import MAX_HOURS, SignedOut, csrf_token, signed_in_staff
from web.console.services import ConsoleServices, prefix_key, services_key

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
MAX_FORM_BYTES = 64 * 1024  # a decision's reason; nothing bigger is ever posted here
OPEN_PATHS = ("/sign-in/", "/signed-out", "/language/", "/static/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def console_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    services = request.app[services_key]
    visit = await get_session(request)
    request[translator_key] = Translator(str(visit.get("language", "zh_Hans")))
    path = request.path.removeprefix(request.app[prefix_key])
    try:
        if not path.startswith(OPEN_PATHS):
            request[staff_key] = await signed_in_staff(request, services)
        return await handler(request)
    except SignedOut:
        raise web.HTTPSeeOther(request.app.router["signed_out"].url_for()) from None
    except NotStaff:
        await services.record_refusal("console_not_allowed", request.path)
        return problem(request, "console.problem.not_allowed", status=403)
    except Refused as refused:
        await services.record_refusal(refused.code, f"{request.path} {refused.detail}".strip())
        return problem(request, refused.key, status=refused.status)
    except web.HTTPException:
        raise
    except Exception as error:  # noqa: BLE001 - a kind page and a record, never a stack trace
        logger.exception("console page failed: %s", type(error).__name__)
        await services.record_refusal("console_failed", f"{request.path}: {type(error).__name__}")
        return problem(request, "console.problem.failed", status=500)


async def _template_globals(request: web.Request) -> dict[str, object]:
    return {
        "t": translator(request),
        "staff": request.get(staff_key),
        "csrf": await csrf_token(request),
        "path_qs": request.path_qs,
    }


def create_console_app(
    services: ConsoleServices, session_key: bytes, *, secure_cookie: bool = False
) -> web.Application:
    """The console as a sub-application; `session_key` (32 bytes) encrypts its cookie."""
    app = web.Application(client_max_size=MAX_FORM_BYTES)
    app[services_key] = services
    app[prefix_key] = ""
    setup_session(
        app,
        EncryptedCookieStorage(
            session_key,  # 32 raw bytes: aiohttp-session makes the Fernet key of them
            cookie_name="console_session",
            max_age=MAX_HOURS * 3600,
            httponly=True,
            samesite="Strict",
            secure=secure_cookie,
            path="/",
        ),
    )
    app.middlewares.append(console_guard)  # after the session's own middleware: it reads the session
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        context_processors=[_template_globals],
    )
    pages.add_routes(app)
    app.router.add_static("/static/", HERE / "static", name="static")
    return app


def add_console(parent: web.Application, console: web.Application, prefix: str = "/console") -> None:
    console[prefix_key] = prefix
    parent.add_subapp(prefix, console)
