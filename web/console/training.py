"""The console's training pages: the team's training (lessons read, days studied, the last
exam, the certificate) for the regions the staff member covers, a supervisor's record of a day
at a classroom session and revocation of a certificate, and the course to read on a bigger
screen than a phone's."""

from __future__ import annotations

from datetime import date

import aiohttp_jinja2
from aiohttp import web

from training.service import TrainingService
from web.console.common import BadRequest, offered, require_csrf
from web.console.common import services_of as _services
from web.console.common import staff_of as _staff

routes = web.RouteTableDef()


def _training(request: web.Request) -> TrainingService:
    return offered(_services(request).training)


@routes.get("/training", name="training")
@aiohttp_jinja2.template("training.html")
async def team(request: web.Request) -> dict[str, object]:
    training = _training(request)
    staff = _staff(request)
    return {
        "team": await training.team(staff.telegram_user_id),
        "lessons": len(training.course.lessons),
        "min_days": training.rules.min_training_days,
        "supervisor": staff.is_supervisor,
        "revoked": request.query.get("revoked"),
        "classroom": request.query.get("classroom"),
        "today": _services(request).clock().astimezone(training.zone).date().isoformat(),
    }


@routes.post("/training/revoke", name="training_revoke")
async def revoke(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await require_csrf(request, form)
    number, reason = form.get("number", ""), form.get("reason", "")
    if not isinstance(number, str) or not isinstance(reason, str) or not reason.strip():
        raise BadRequest("revocation")
    result = await _training(request).revoke(_staff(request).telegram_user_id, number, reason)
    raise web.HTTPSeeOther(request.app.router["training"].url_for().with_query(revoked=result.value))


@routes.post("/training/classroom", name="training_classroom")
async def classroom(request: web.Request) -> web.StreamResponse:
    """A supervisor records a staff member's day at a classroom session."""
    form = await request.post()
    await require_csrf(request, form)
    number, day = form.get("staff_number", ""), form.get("day", "")
    try:
        when = date.fromisoformat(day) if isinstance(day, str) else None
    except ValueError:
        when = None
    if not isinstance(number, str) or not number.strip() or when is None:
        raise BadRequest("classroom day")
    result = await _training(request).record_classroom_day(_staff(request).telegram_user_id, number, when)
    raise web.HTTPSeeOther(request.app.router["training"].url_for().with_query(classroom=result.value))


@routes.get("/training/course", name="training_course")
@aiohttp_jinja2.template("training_course.html")
async def course(request: web.Request) -> dict[str, object]:
    return {"course": _training(request).course}
