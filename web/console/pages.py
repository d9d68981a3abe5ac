"""The console's pages. Each handler reads the request, makes one call of a service, and
renders one template (or a file); refusals are raised and turned into kind pages by the
middleware in app.py."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from accounts.console_sign_in import ConsoleStaff, LinkRefused
from content.i18n import Translator, available_languages
from kernel.idnumber import is_valid_region_code
from kernel.permissions import NotStaff
from verification.checkplan.quarters import Quarter
from verification.reporting.lists import STATUSES
from web.console import cookie, presenters
from web.console.services import ConsoleServices, services_key

EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
REPORTS = {**EXPORTS, "pdf": "application/pdf"}
routes = web.RouteTableDef()


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


translator_key = web.RequestKey("console_translator", Translator)
staff_key = web.RequestKey("console_staff", ConsoleStaff)


def translator(request: web.Request) -> Translator:
    return request[translator_key]


def _services(request: web.Request) -> ConsoleServices:
    return request.app[services_key]


def _staff(request: web.Request) -> ConsoleStaff:
    return request[staff_key]


def problem(request: web.Request, key: str, *, status: int) -> web.Response:
    return aiohttp_jinja2.render_template("problem.html", request, {"message_key": key}, status=status)


def _scope(request: web.Request) -> tuple[str, Quarter]:
    """The region and quarter a page is about: the staff member's own region and the current
    quarter unless asked; a region they do not cover is refused (NotStaff)."""
    staff, services = _staff(request), _services(request)
    region = request.query.get("region", "").strip() or staff.region_code
    if not is_valid_region_code(region):
        raise BadRequest("region")
    if not staff.covers(region):
        raise NotStaff(staff.telegram_user_id)
    text = request.query.get("quarter", "").strip()
    try:
        quarter = (
            Quarter.parse(text) if text else Quarter.of(services.clock().astimezone(services.zone).date())
        )
    except ValueError:
        raise BadRequest("quarter") from None
    return region, quarter


def _number(text: str, name: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise BadRequest(name)
    return int(text)


def _scope_query(region: str, quarter: Quarter, **more: object) -> str:
    return urlencode({"region": region, "quarter": str(quarter), **{k: v for k, v in more.items() if v}})


# --- signing in and out


@routes.get("/sign-in/{token}", name="sign_in")
@aiohttp_jinja2.template("sign_in.html")
async def sign_in_page(request: web.Request) -> dict[str, object]:
    # A page with a button, not a sign-in on GET: a link preview or a virus scanner that
    # fetches the link must not use it up.
    return {"token": request.match_info["token"]}


@routes.post("/sign-in/{token}", name="sign_in_post")
async def sign_in(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    outcome = await services.sign_in.redeem(request.match_info["token"])
    if isinstance(outcome, LinkRefused):
        return problem(request, f"console.sign_in.refused.{outcome.value}", status=403)
    await cookie.sign_in(request, outcome, services)
    raise web.HTTPSeeOther(request.app.router["overview"].url_for())


@routes.get("/signed-out", name="signed_out")
@aiohttp_jinja2.template("signed_out.html")
async def signed_out(request: web.Request) -> dict[str, object]:
    return {}


@routes.post("/sign-out", name="sign_out")
async def sign_out(request: web.Request) -> web.StreamResponse:
    await _require_csrf(request, await request.post())
    await cookie.sign_out(request)
    raise web.HTTPSeeOther(request.app.router["signed_out"].url_for())


@routes.get("/language/{language}", name="language")
async def language(request: web.Request) -> web.StreamResponse:
    chosen = request.match_info["language"]
    if chosen not in available_languages():
        raise BadRequest("language")
    await cookie.choose_language(request, chosen)
    back = request.query.get("next", "")
    # Only a path of this site: never an open redirect.
    target = (
        back
        if back.startswith("/") and not back.startswith("//")
        else str(request.app.router["overview"].url_for())
    )
    raise web.HTTPSeeOther(target)


async def _require_csrf(request: web.Request, form: object) -> None:
    given = form.get(cookie.CSRF_FIELD, "") if hasattr(form, "get") else ""
    if not isinstance(given, str) or not await cookie.csrf_is_valid(request, given):
        raise Refused("console.problem.csrf", 403, "console_csrf_refused")


# --- the region's quarter


@routes.get("/", name="overview")
@aiohttp_jinja2.template("overview.html")
async def overview(request: web.Request) -> dict[str, object]:
    from verification.reporting.charts import backlog_chart, coverage_chart, methods_chart, svg

    region, quarter = _scope(request)
    figures = await _services(request).reports.figures(region, quarter)
    t = translator(request)
    await _services(request).audit.looked(
        _staff(request), "console_viewed_overview", {"region": region, "quarter": str(quarter)}
    )
    return {
        "region": region,
        "quarter": quarter,
        "headline": presenters.headline(figures, t),
        "rows": presenters.rows(figures, t),
        "charts": [svg(chart(figures, t)) for chart in (coverage_chart, methods_chart, backlog_chart)],
        "scope": _scope_query(region, quarter),
    }


@routes.get("/report.{fmt}", name="report")
async def report(request: web.Request) -> web.StreamResponse:
    from verification.reporting.documents import render_pdf, render_xlsx

    fmt = request.match_info["fmt"]
    if fmt not in ("xlsx", "pdf"):
        raise BadRequest("format")
    region, quarter = _scope(request)
    services = _services(request)
    figures = await services.reports.figures(region, quarter)
    render = render_pdf if fmt == "pdf" else render_xlsx
    body = render(figures, translator(request))
    await services.audit.looked(
        _staff(request),
        "console_downloaded_report",
        {"region": region, "quarter": str(quarter), "format": fmt},
    )
    return _download(body, REPORTS[fmt], f"quarterly-report-{region}-{quarter}.{fmt}")


def _download(body: bytes, content_type: str, name: str) -> web.Response:
    return web.Response(
        body=body,
        content_type=content_type.split(";")[0],
        charset="utf-8" if "charset" in content_type else None,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# --- retirees


def _listing(request: web.Request) -> tuple[str, Quarter, str, str, int]:
    region, quarter = _scope(request)
    status = request.query.get("status", "all")
    if status not in STATUSES:
        raise BadRequest("status")
    search = request.query.get("q", "").strip()[:40]
    page = _number(request.query.get("page", "1"), "page") or 1
    return region, quarter, status, search, page


@routes.get("/retirees", name="retirees")
@aiohttp_jinja2.template("retirees.html")
async def retirees(request: web.Request) -> dict[str, object]:
    region, quarter, status, search, page = _listing(request)
    services = _services(request)
    try:
        listing = await services.lists.page(region, quarter, status=status, search=search, page=page)
    except ValueError:
        raise BadRequest("search") from None
    await services.audit.looked(
        _staff(request),
        "console_viewed_list",
        {"region": region, "status": status, "page": page, "searched": bool(search)},
    )
    return {
        "region": region,
        "quarter": quarter,
        "status": status,
        "statuses": STATUSES,
        "search": search,
        "listing": listing,
        "scope": _scope_query(region, quarter),
        "page_query": lambda number: _scope_query(region, quarter, status=status, q=search, page=number),
        "export_query": _scope_query(region, quarter, status=status, q=search),
    }


@routes.get("/retirees/export.{fmt}", name="retirees_export")
async def export_retirees(request: web.Request) -> web.StreamResponse:
    fmt = request.match_info["fmt"]
    if fmt not in EXPORTS:
        raise BadRequest("format")
    region, quarter, status, search, _ = _listing(request)
    services = _services(request)
    try:
        body = await services.lists.export(region, quarter, status, search, fmt, translator(request).language)
    except ValueError:
        raise BadRequest("search") from None
    await services.audit.looked(
        _staff(request), "console_exported_list", {"region": region, "status": status, "format": fmt}
    )
    return _download(body, EXPORTS[fmt], f"retirees-{region}-{quarter}-{status}.{fmt}")


@routes.get("/retirees/{retiree_id:[0-9]{1,9}}", name="retiree")
@aiohttp_jinja2.template("retiree.html")
async def retiree(request: web.Request) -> dict[str, object]:
    staff = _staff(request)
    found = await _services(request).files.open(staff.telegram_user_id, int(request.match_info["retiree_id"]))
    if found is None:
        raise not_found()
    return {"file": found, "when": _when}


def _when(occurred_at: str) -> datetime:
    return datetime.fromisoformat(occurred_at)


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
    return web.Response(body=photo, content_type="image/jpeg", headers={"Cache-Control": "no-store"})


@routes.get("/evidence/{attempt_id:[0-9]{1,9}}", name="evidence")
async def evidence(request: web.Request) -> web.StreamResponse:
    staff = _staff(request)
    found = await _services(request).review.evidence(
        staff.telegram_user_id, int(request.match_info["attempt_id"])
    )
    if found is None:
        raise not_found()
    return web.Response(body=found.data, content_type=found.media_type, headers={"Cache-Control": "no-store"})


@routes.post("/cases/{case_id:[0-9]{1,9}}/decision", name="case_decision")
async def decide(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await _require_csrf(request, form)
    staff, case_id = _staff(request), int(request.match_info["case_id"])
    verdict, reason = form.get("verdict"), form.get("reason", "")
    if verdict not in ("approve", "reject") or not isinstance(reason, str) or not reason.strip():
        raise BadRequest("decision")
    decision = await _services(request).review.decide(
        staff.telegram_user_id, case_id, verdict == "approve", reason, leave_notices=True
    )
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
    return web.Response(body=body, content_type=media_type, headers={"Cache-Control": "no-store"})


@routes.post("/audits/{audit_id:[0-9]{1,9}}/decision", name="audit_decision")
async def decide_audit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await _require_csrf(request, form)
    verdict, audits_service = form.get("verdict"), _services(request).audits
    if verdict not in ("confirm", "review"):
        raise BadRequest("decision")
    decide = audits_service.confirm if verdict == "confirm" else audits_service.open_review
    decision = await decide(_staff(request).telegram_user_id, _audit_id(request))
    outcome = "already" if decision is None else "done"
    target = request.app.router["audit"].url_for(audit_id=str(_audit_id(request))).with_query(decided=outcome)
    raise web.HTTPSeeOther(target)


def add_routes(app: web.Application) -> None:
    app.router.add_routes(routes)
