"""The console's pages. Each handler reads the request, makes one call of a service, and
renders one template (or a file); refusals are raised and turned into kind pages by the
middleware in app.py."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from accounts.console_sign_in import LinkRefused
from content.i18n import available_languages
from kernel.idnumber import is_valid_region_code
from kernel.permissions import NotStaff
from storage.repositories.console import STATUSES
from verification.checkplan.quarters import Quarter
from web.console import assistance, cases, cookie, presenters, questions, training, visits
from web.console.common import BadRequest, not_found, problem, require_csrf, translator
from web.console.common import services_of as _services
from web.console.common import staff_of as _staff

EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
REPORTS = {**EXPORTS, "pdf": "application/pdf"}
routes = web.RouteTableDef()


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
    await require_csrf(request, await request.post())
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


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


def _download(body: bytes, content_type: str, name: str) -> web.Response:
    return web.Response(
        body=body,
        content_type=content_type.split(";")[0],
        charset="utf-8" if "charset" in content_type else None,
        headers=_attachment(name),
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
    services, language = _services(request), translator(request).language
    name = f"retirees-{region}-{quarter}-{status}.{fmt}"
    try:
        services.lists.listing(region, quarter, status, search)  # refused here, before any byte
        body = (
            None
            if fmt == "csv"
            else await services.lists.export(region, quarter, status, search, "xlsx", language)
        )
    except ValueError:
        raise BadRequest("search") from None
    await services.audit.looked(
        _staff(request), "console_exported_list", {"region": region, "status": status, "format": fmt}
    )
    if body is not None:
        return _download(body, EXPORTS[fmt], name)
    # CSV streams a batch at a time: a province's list never sits in memory whole.
    response = web.StreamResponse(headers=_attachment(name))
    response.content_type, response.charset = "text/csv", "utf-8"
    await response.prepare(request)
    async for chunk in services.lists.csv_chunks(region, quarter, status, search, language):
        await response.write(chunk)
    await response.write_eof()
    return response


@routes.get("/retirees/{retiree_id:[0-9]{1,9}}", name="retiree")
@aiohttp_jinja2.template("retiree.html")
async def retiree(request: web.Request) -> dict[str, object]:
    staff = _staff(request)
    found = await _services(request).files.open(staff.telegram_user_id, int(request.match_info["retiree_id"]))
    if found is None:
        raise not_found()
    return {
        "file": found,
        "when": _when,
        "word": lambda kind, code: presenters.code_word(translator(request), kind, code),
    }


def _when(occurred_at: str) -> datetime:
    return datetime.fromisoformat(occurred_at)


def add_routes(app: web.Application) -> None:
    app.router.add_routes(routes)
    app.router.add_routes(cases.routes)
    app.router.add_routes(training.routes)
    app.router.add_routes(assistance.routes)
    app.router.add_routes(visits.routes)
    app.router.add_routes(questions.routes)
