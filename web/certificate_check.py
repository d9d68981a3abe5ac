"""The public page that checks a training certificate (issue 19): anyone holding one (an
employer, a community, a retiree's family) enters the number and the verification code
printed on it and learns whether it is genuine and in force. It shows the holder's name with
its middle hidden, the region and the dates, and nothing else.

An app factory with a typed key, as aiohttp-demos' polls; mounted at /training by
`pension-bot run`, `records serve` and the demo, beside the console. Checks are limited per
address (a guessing machine gets "too many" long before it could guess a code of 10 base32
characters), and every failed check leaves an error record (training/service.py).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

import jinja2
from aiohttp import web

from content.i18n import Translator
from training.service import CheckResult, TrainingService

training_key = web.AppKey("training", TrainingService)
PREFIX = "/training"
CHECKS_PER_MINUTE = 10

_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="{{ 'en' if t.language == 'en' else 'zh-CN' }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t("training.check.title") }}</title>
<style>
body { font: 20px/1.6 system-ui, sans-serif; max-width: 36rem; margin: 1rem auto; padding: 0 1rem; }
label, input, button { display: block; width: 100%; font-size: 1.1em; }
input { padding: .5em; margin: .2em 0 1em; box-sizing: border-box; }
button { padding: .6em; background: #0b5cad; color: #fff; border: 0; border-radius: .3em; }
.result { padding: 1em; border-radius: .3em; margin: 1em 0; }
.valid { background: #e3f4e1; } .revoked, .problem { background: #fde8e4; }
</style></head>
<body>
<h1>{{ t("training.check.title") }}</h1>
{% if result %}<p class="result {{ css }}" role="status">{{ result }}</p>{% endif %}
<p>{{ t("training.check.intro") }}</p>
<form method="get">
<input type="hidden" name="lang" value="{{ t.language }}">
<label for="number">{{ t("training.check.number") }}</label>
<input id="number" name="number" value="{{ number }}" autocomplete="off" maxlength="40" required>
<label for="code">{{ t("training.check.code") }}</label>
<input id="code" name="code" value="{{ code }}" autocomplete="off" maxlength="20" required>
<button type="submit">{{ t("training.check.button") }}</button>
</form>
<p><a href="?lang=zh_Hans">中文</a> · <a href="?lang=en">English</a></p>
</body></html>"""
)


class CheckLimiter:
    """At most `per_minute` checks from one address in any minute."""

    def __init__(self, per_minute: int = CHECKS_PER_MINUTE) -> None:
        self._per_minute = per_minute
        self._seen: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[address]
        while seen and seen[0] <= now - 60:
            seen.popleft()
        if len(seen) >= self._per_minute:
            return False
        seen.append(now)
        if len(self._seen) > 10_000:  # forget addresses that went quiet
            for quiet in [a for a, times in self._seen.items() if not times]:
                del self._seen[quiet]
        return True


limiter_key = web.AppKey("check_limiter", CheckLimiter)


def _translator(request: web.Request) -> Translator:
    wanted = request.query.get("lang", "")
    if wanted in ("en", "zh_Hans"):
        return Translator(wanted)
    accepted = request.headers.get("Accept-Language", "")
    return Translator("en" if accepted.lower().startswith("en") else "zh_Hans")


async def check_page(request: web.Request) -> web.Response:
    t = _translator(request)
    number = request.query.get("number", "")[:40]
    code = request.query.get("code", "")[:20]
    result, css = "", ""
    if number or code:
        if not request.app[limiter_key].allow(request.remote or "?"):
            result, css = t("training.check.too_many"), "problem"
        else:
            check = await request.app[training_key].check(number, code)
            css = {CheckResult.VALID: "valid", CheckResult.REVOKED: "revoked"}.get(check.result, "problem")
            result = t(
                f"training.check.{check.result.value}",
                number=check.number,
                holder=check.holder,
                region=check.region_code,
                issued=t.date(check.issued_on) if check.issued_on else "",
                revoked=t.date(check.revoked_on) if check.revoked_on else "",
            )
    html = _PAGE.render(t=t, result=result, css=css, number=number, code=code)
    return web.Response(
        text=html,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"},
    )


def create_check_app(training: TrainingService) -> web.Application:
    app = web.Application()
    app[training_key] = training
    app[limiter_key] = CheckLimiter()
    app.router.add_get("/check", check_page, name="check")
    return app


def add_certificate_check(parent: web.Application, training: TrainingService | None) -> None:
    if training is not None:
        parent.add_subapp(PREFIX, create_check_app(training))
