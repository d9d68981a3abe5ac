"""The console's page of employer questions the bot was not sure enough to answer: the oldest
first, each with the entries and articles of law closest to it, answered from a desk in a form.
The employer's chat is told by the bot's notice job (written in the answer's transaction), as
for a review decided here; the bot's own queue shows the same questions."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from content.knowledge.render import article_citation
from web.console.common import BadRequest, offered, require_csrf, translator
from web.console.common import services_of as _services
from web.console.common import staff_of as _staff

routes = web.RouteTableDef()
SHOWN = 30  # each is searched again for its closest articles (a few ms a question)


@routes.get("/questions", name="questions")
@aiohttp_jinja2.template("questions.html")
async def questions(request: web.Request) -> dict[str, object]:
    employer = offered(_services(request).employer)
    queued = await employer.open_questions(_staff(request).telegram_user_id, limit=SHOWN)
    language = translator(request).language
    return {
        "questions": [(question, *employer.closest(question)) for question in queued],
        "citation": lambda article: article_citation(article, language),
        "answered": request.query.get("answered"),
        "outcome": request.query.get("outcome"),
    }


@routes.post("/questions/{question_id:[0-9]{1,9}}/answer", name="question_answer")
async def answer(request: web.Request) -> web.StreamResponse:
    employer = offered(_services(request).employer)
    form = await request.post()
    await require_csrf(request, form)
    text, question_id = form.get("answer"), request.match_info["question_id"]
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("answer")
    reply = await employer.answer_question(
        _staff(request).telegram_user_id, int(question_id), text, leave_notice=True
    )
    outcome = "already" if reply is None else "done"
    target = request.app.router["questions"].url_for().with_query(answered=question_id, outcome=outcome)
    raise web.HTTPSeeOther(target)
