"""The console's page of 协查, the assistance requests between regions: those other regions
asked of this one about retirees living where the staff member's regions cover (the earliest
due first), and those this region asked (the newest first, with any answer come back), as the
bot lists them. Starting and answering a request stay in the bot: staff answer after a visit,
from their phone."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from verification.records.assistance import QUESTIONS
from web.console.common import offered
from web.console.common import services_of as _services
from web.console.common import staff_of as _staff

routes = web.RouteTableDef()
SHOWN = 100  # of each list; a region with more open requests than this has a backlog to clear first


@routes.get("/assistance", name="assistance")
@aiohttp_jinja2.template("assistance.html")
async def assistance(request: web.Request) -> dict[str, object]:
    service = offered(_services(request).assistance)
    staff = _staff(request).telegram_user_id
    return {
        "incoming": await service.incoming(staff, limit=SHOWN),
        "outgoing": await service.outgoing(staff, limit=SHOWN),
        "asked_keys": QUESTIONS,
    }
