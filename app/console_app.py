"""The web console built from the runtime: its services, and the key of its session cookie
(derived from the ID-hash key, so no new secret has to be kept)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from accounts.console_sign_in import ConsoleAuditTrail
from app.wiring import Runtime
from kernel.clock import utc_now
from storage.errors import record_error
from verification.reporting.lists import RetireeListService
from verification.reporting.retiree_file import RetireeFileService
from verification.reporting.service import QuarterlyReportService
from web.certificate_check import add_certificate_check
from web.console.app import add_console, create_console_app
from web.console.services import ConsoleServices


def console_app(runtime: Runtime) -> web.Application:
    settings, uow_factory, vault = runtime.settings, runtime.uow_factory, runtime.vault
    zone = ZoneInfo(settings.timezone)
    sign_in, audits = runtime.bot_services.console_sign_in, runtime.bot_services.audits
    assert sign_in is not None and audits is not None  # open_runtime always builds them

    async def record_refusal(code: str, detail: str) -> None:
        await record_error(uow_factory, "console", code, detail)

    services = ConsoleServices(
        sign_in=sign_in,
        audit=ConsoleAuditTrail(uow_factory),
        reports=QuarterlyReportService(uow_factory, zone=zone, own_region=settings.region_code),
        lists=RetireeListService(uow_factory, vault, zone=zone),
        files=RetireeFileService(uow_factory, vault),
        review=runtime.bot_services.review,
        audits=audits,
        record_refusal=record_refusal,
        clock=utc_now,
        zone=zone,
        training=runtime.bot_services.training,
        assistance=runtime.bot_services.assistance,
        home_visits=runtime.bot_services.home_visits,
        employer=runtime.bot_services.employer,
    )
    session_key = vault.keyed_digest("console-session-cookie", "v1")
    return create_console_app(
        services, session_key, secure_cookie=settings.console_base_url().startswith("https://")
    )


def mount_console(parent: web.Application, runtime: Runtime) -> None:
    """The staff console at /console, and beside it the public check of training certificates
    at /training/check (the address printed on a certificate)."""
    add_console(parent, console_app(runtime))
    add_certificate_check(parent, runtime.bot_services.training)
