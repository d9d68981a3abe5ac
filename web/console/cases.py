"""The console's case pages: review cases and audited self-service passes, with the reference
photo and the recorded video side by side, decided with the same services as in the bot."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from verification.certification.review import NotTrained
from web.console.common import BadRequest, no_store, not_found, require_csrf
from web.console.common import services_of as _services
from web.console.common import staff_of as _staff

routes = web.RouteTableDef()

# --- review cases


@routes.get("/cases", name="cases")
@aiohttp_jinja2.template("cases.html")
async def cases(request: web.Request) -> dict[str, object]:
    staff = _staff(request)
    return {"cases": await _services(request).review.pending(staff.telegram_user_id, limit=100)}


@routes.get("/cases/{case_id:[0-9]{1,9}}", name="case")
@aiohttp_jinja2.template("case.html")
async def case(request: web.Request) -> dict[str, object]:
    staff = _staff(request)
    view = await _services(request).review.case(staff.telegram_user_id, int(request.match_info["case_id"]))
    if view is None:
        raise not_found()
    return {"case": view, "decided": request.query.get("decided")}


@routes.get("/cases/{case_id:[0-9]{1,9}}/reference", name="case_reference")
async def case_reference(request: web.Request) -> web.StreamResponse:
    staff = _staff(request)
    photo = await _services(request).review.reference_photo(
        staff.telegram_user_id, int(request.match_info["case_id"])
    )
    if photo is None:
        raise not_found()
    return no_store(photo, "image/jpeg")


@routes.get("/evidence/{attempt_id:[0-9]{1,9}}", name="evidence")
async def evidence(request: web.Request) -> web.StreamResponse:
    staff = _staff(request)
    found = await _services(request).review.evidence(
        staff.telegram_user_id, int(request.match_info["attempt_id"])
    )
    if found is None:
        raise not_found()
    return no_store(found.data, found.media_type)


@routes.post("/cases/{case_id:[0-9]{1,9}}/decision", name="case_decision")
async def decide(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await require_csrf(request, form)
    staff, case_id = _staff(request), int(request.match_info["case_id"])
    verdict, reason = form.get("verdict"), form.get("reason", "")
    if verdict not in ("approve", "reject") or not isinstance(reason, str) or not reason.strip():
        raise BadRequest("decision")
    try:
        decision = await _services(request).review.decide(
            staff.telegram_user_id, case_id, verdict == "approve", reason, leave_notices=True
        )
    except NotTrained:
        outcome = "not_trained"
    else:
        outcome = "already" if decision is None else "done"
    target = request.app.router["case"].url_for(case_id=str(case_id)).with_query(decided=outcome)
    raise web.HTTPSeeOther(target)


# --- audited self-service passes


@routes.get("/audits", name="audits")
@aiohttp_jinja2.template("audits.html")
async def audits(request: web.Request) -> dict[str, object]:
    # The queue of the bot (oldest first), each look at its evidence audited.
    queue = await _services(request).audits.queue(_staff(request).telegram_user_id, limit=50)
    return {"queue": queue}


def _audit_id(request: web.Request) -> int:
    return int(request.match_info["audit_id"])


@routes.get("/audits/{audit_id:[0-9]{1,9}}", name="audit")
@aiohttp_jinja2.template("audit.html")
async def audit(request: web.Request) -> dict[str, object]:
    view = await _services(request).audits.one(_staff(request).telegram_user_id, _audit_id(request))
    if view is None:
        raise not_found()
    return {"audit": view, "decided": request.query.get("decided")}


@routes.get("/audits/{audit_id:[0-9]{1,9}}/{part:reference|video}", name="audit_media")
async def audit_media(request: web.Request) -> web.StreamResponse:
    view = await _services(request).audits.one(_staff(request).telegram_user_id, _audit_id(request))
    if view is None:
        raise not_found()
    if request.match_info["part"] == "reference":
        body, media_type = view.reference_photo, "image/jpeg"
    else:
        body, media_type = view.video, view.video_media_type or "video/mp4"
    if body is None:
        raise not_found()
    return no_store(body, media_type)


@routes.post("/audits/{audit_id:[0-9]{1,9}}/decision", name="audit_decision")
async def decide_audit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await require_csrf(request, form)
    verdict, audits_service = form.get("verdict"), _services(request).audits
    if verdict not in ("confirm", "review"):
        raise BadRequest("decision")
    decide = audits_service.confirm if verdict == "confirm" else audits_service.open_review
    decision = await decide(_staff(request).telegram_user_id, _audit_id(request))
    outcome = "already" if decision is None else "done"
    target = request.app.router["audit"].url_for(audit_id=str(_audit_id(request))).with_query(decided=outcome)
    raise web.HTTPSeeOther(target)
