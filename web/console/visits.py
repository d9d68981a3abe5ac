"""The console's page of home visits asked for: retirees of the staff member's regions who
cannot certify alone (no phone for the video, tries that failed, in hospital), the oldest
request first, with the family's note on how to find them. The visit itself is recorded in
the bot, on the spot (a certification in person, or why there was none)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from web.console.common import offered
from web.console.common import services_of as _services
from web.console.common import staff_of as _staff

routes = web.RouteTableDef()
SHOWN = 200  # more than a team visits in a month


@routes.get("/visits", name="visits")
@aiohttp_jinja2.template("visits.html")
async def visits(request: web.Request) -> dict[str, object]:
    service = offered(_services(request).home_visits)
    return {"visits": await service.open_visits(_staff(request).telegram_user_id, limit=SHOWN)}
