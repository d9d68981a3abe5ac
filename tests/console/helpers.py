"""The console served on loopback over real HTTP, on a real database, with a small region
world from the check plan's helpers: staff of a prefecture (110100), of a district (110105)
and of Shanghai (310000); retirees at home (110105) and far away (310104)."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from accounts.console_sign_in import ConsoleAuditTrail, ConsoleSignInService
from content.calculators.regions import load_regions
from content.employer_service import EmployerService
from content.knowledge.answering import Answerer
from storage.errors import record_error
from tests.checkplan.helpers import FAR, Stack, add_retiree, add_staff, stack
from tests.training.helpers import training_service
from verification.certification.pass_audit import AuditService
from verification.records.assistance import AssistanceService
from verification.reporting.lists import RetireeListService
from verification.reporting.retiree_file import RetireeFileService
from verification.reporting.service import QuarterlyReportService
from web.console.app import add_console, create_console_app
from web.console.services import ConsoleServices
from web.exchange import running_exchange

SHANGHAI = ZoneInfo("Asia/Shanghai")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    url: str
    stack: Stack
    sign_in: ConsoleSignInService
    home_ids: list[int]
    far_id: int

    def browser(self) -> aiohttp.ClientSession:
        """A client that keeps cookies for 127.0.0.1 (aiohttp's jar skips IP hosts unless told)."""
        return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def link(self, telegram_user_id: int) -> str:
        return (await self.sign_in.issue(telegram_user_id)).url

    async def signed_in(self, http: aiohttp.ClientSession, telegram_user_id: int) -> str:
        """Signs `http` in through a fresh link; returns the overview's HTML."""
        async with http.post(await self.link(telegram_user_id)) as response:
            assert response.status == 200, await response.text()
            return await response.text()

    def later(self, minutes: float) -> None:
        self.stack.clock.now += timedelta(minutes=minutes)


def console_services(
    uow_factory, vault, s: Stack, url: str, answerer: Answerer | None = None
) -> ConsoleServices:
    async def record_refusal(code: str, detail: str) -> None:
        await record_error(uow_factory, "console", code, detail)

    return ConsoleServices(
        sign_in=ConsoleSignInService(uow_factory, vault, s.clock, console_url=url + "/console"),
        audit=ConsoleAuditTrail(uow_factory, s.clock),
        reports=QuarterlyReportService(uow_factory, s.clock, SHANGHAI, own_region="110000"),
        lists=RetireeListService(uow_factory, vault, s.clock, SHANGHAI),
        files=RetireeFileService(uow_factory, vault, s.clock),
        review=s.review,
        audits=AuditService(uow_factory, vault, clock=s.clock, region_code="110000"),
        record_refusal=record_refusal,
        clock=s.clock,
        zone=SHANGHAI,
        training=training_service(uow_factory, s.clock),
        assistance=AssistanceService(uow_factory, "110000", s.clock, vault=vault),
        home_visits=s.home_visits,
        employer=EmployerService(uow_factory, answerer, load_regions(), clock=s.clock) if answerer else None,
    )


async def seeded_world(uow_factory, vault) -> tuple[Stack, list[int], int]:
    s = stack(uow_factory, vault)
    await add_staff(uow_factory)
    home = [await add_retiree(uow_factory, vault, serial) for serial in (1, 2, 3)]
    far = await add_retiree(uow_factory, vault, 9, residence=FAR)
    return s, home, far


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serve_console(uow_factory, vault, answerer: Answerer | None = None) -> AsyncIterator[Console]:
    """The console at /console of a server on loopback (the links name its address, so the
    port is chosen first); with `answerer`, the employer questions too."""
    s, home, far = await seeded_world(uow_factory, vault)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    services = console_services(uow_factory, vault, s, url, answerer)
    parent = web.Application()
    add_console(parent, create_console_app(services, b"k" * 32))
    async with running_exchange(parent, port=port):
        yield Console(url, s, services.sign_in, home, far)
