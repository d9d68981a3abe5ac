"""🔎 协查 in the bot, for staff of both regions.

Asked of us: the unanswered requests about retirees living where the staff member's region
covers, oldest due first, each with "start" and "answer" (a finding from four buttons, then
an optional note); the answer goes back to the asking region as a record. Asked by us: ask
the region one of our pensioners lives in to check on him (ID number, then what to check),
and the state of the requests sent. Staff actions are audited by the service.

Also the periodic sweep (overdue, answers in, requests still to send) on the JobQueue, so a
deployment that runs only the bot still marks requests overdue.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
)

from bot.alone import alone
from bot.callbacks import Button, Number, OneOf
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.handlers.conversation import cancel_step, conversation, drop_buttons, stale_button, typed
from bot.keyboards import buttons
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from kernel.permissions import NotStaff
from verification.records.assistance import (
    FINDINGS,
    MOVES,
    QUESTIONS,
    AssistanceService,
    IllegalTransition,
    IncomingView,
    OutgoingView,
)

logger = logging.getLogger(__name__)

ASK_FINDING, ASK_NOTE, ASK_ID, ASK_QUESTION = range(40, 44)
TIMEOUT = timedelta(minutes=10)
_PENDING = "assistance"  # user_data: {"request_id", "finding"} or {"id_number"} while it lasts
SWEEP_JOB = "assistance-sweep"
SWEEP_FIRST_SECONDS = 30

START = Button("xreq:start", Number())
ANSWER = Button("xreq:answer", Number())
FINDING = Button("xreq:finding", OneOf(*FINDINGS))
QUESTION = Button("xreq:q", OneOf(*QUESTIONS))
SENT, ASK, SKIP, CANCEL = (Button(f"xreq:{word}") for word in ("sent", "ask", "skip", "cancel"))


def _cancel(t: Translator) -> tuple[str, str]:
    return t("xreq.button.cancel"), CANCEL()


def _who(t: Translator, name: str | None, masked_id: str | None) -> str:
    return t("xreq.who", name=name, masked_id=masked_id) if name else t("xreq.unknown_retiree")


def _question(t: Translator, question: str) -> str:
    return t(f"xreq.question.{question}") if question in QUESTIONS else question


# ------------------------------------------------------------------ asked of us


def _incoming_text(t: Translator, request: IncomingView) -> str:
    text = t(
        "xreq.item",
        request_id=request.request_id,
        origin=request.origin_region,
        who=_who(t, request.retiree_name, request.masked_id_number),
        region=request.residence_region,
        question=request.question,
        due=t.date(request.due_on),
        state=t(f"xreq.state.{request.state}", by=request.started_by or "—"),
    )
    return text + "\n" + t("xreq.overdue_line") if request.overdue else text


def _incoming_buttons(t: Translator, request: IncomingView) -> InlineKeyboardMarkup:
    rows = [(t("xreq.button.answer"), ANSWER(request.request_id))]
    if request.state in MOVES["start"]:
        rows.insert(0, (t("xreq.button.start"), START(request.request_id)))
    return buttons(*rows)


@menu_action("assistance_requests")
async def list_requests(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    try:
        requests = await services(context).assistance.incoming(update.effective_user.id)
    except NotStaff:
        await message.reply_text(t("review.not_staff"), reply_markup=menu_or_roles(t, profile))
        return
    for request in requests:
        await message.reply_text(_incoming_text(t, request), reply_markup=_incoming_buttons(t, request))
    summary = t("xreq.summary", count=len(requests)) if requests else t("xreq.none")
    await message.reply_text(
        summary,
        reply_markup=buttons((t("xreq.button.sent"), SENT()), (t("xreq.button.ask"), ASK())),
    )


async def start_request(update: Update, context: BotContext) -> None:
    query = update.callback_query
    await query.answer()
    (request_id,) = START.of(update)
    profile, t = await profile_of(update, context)
    try:
        await services(context).assistance.start(request_id, telegram_user_id=update.effective_user.id)
        text = t("xreq.started", request_id=request_id)
    except NotStaff:
        text = t("review.not_staff")
    except (IllegalTransition, LookupError):
        text = t("xreq.moved_meanwhile", request_id=request_id)
    try:  # started: what is left to do on that request is answering it
        await query.edit_message_reply_markup(buttons((t("xreq.button.answer"), ANSWER(request_id))))
    except BadRequest:
        pass
    await update.effective_message.reply_text(text, reply_markup=menu_or_roles(t, profile))


async def ask_finding(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    (request_id,) = ANSWER.of(update)
    context.user_data[_PENDING] = {"request_id": request_id}
    _, t = await profile_of(update, context)
    rows = [(t(f"xreq.finding.{finding}"), FINDING(finding)) for finding in FINDINGS]
    await update.effective_message.reply_text(
        t("xreq.ask_finding", request_id=request_id), reply_markup=buttons(*rows, _cancel(t))
    )
    return ASK_FINDING


async def finding_chosen(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    pending = context.user_data.get(_PENDING) or {}
    _, t = await profile_of(update, context)
    if "request_id" not in pending:  # lost (a restart): the list has the buttons again
        return await _end(update, context, t("xreq.stale_button"))
    (pending["finding"],) = FINDING.of(update)
    await update.effective_message.reply_text(
        t("xreq.ask_note"), reply_markup=buttons((t("xreq.button.no_note"), SKIP()), _cancel(t))
    )
    return ASK_NOTE


async def note_typed(update: Update, context: BotContext) -> int:
    return await _answer(update, context, update.effective_message.text)


async def note_skipped(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    return await _answer(update, context, "")


async def _answer(update: Update, context: BotContext, note: str) -> int:
    pending = context.user_data.pop(_PENDING, None) or {}
    _, t = await profile_of(update, context)
    if "finding" not in pending:
        return await _end(update, context, t("xreq.stale_button"))
    request_id = pending["request_id"]
    try:
        answered = await services(context).assistance.answer(
            request_id, answer=note, finding=pending["finding"], telegram_user_id=update.effective_user.id
        )
        text = t("xreq.answered", request_id=request_id, region=answered.origin_region)
    except NotStaff:
        text = t("review.not_staff")
    except (IllegalTransition, LookupError):
        text = t("xreq.moved_meanwhile", request_id=request_id)
    return await _end(update, context, text)


# ------------------------------------------------------------------ asked by us


def _outgoing_text(t: Translator, request: OutgoingView) -> str:
    state = t(
        f"xreq.sent.state.{request.state}",
        finding=t(f"xreq.finding.{request.finding}") if request.finding else "—",
        note=request.note or "—",
        answered=t.date(request.answered_on) if request.answered_on else "—",
    )
    return t(
        "xreq.sent.item",
        request_id=request.request_id,
        who=_who(t, request.retiree_name, request.masked_id_number),
        region=request.residence_region or "—",
        question=_question(t, request.question),
        asked=t.date(request.asked_on),
        due=t.date(request.due_on),
        state=state,
    )


async def list_sent(update: Update, context: BotContext) -> None:
    await drop_buttons(update)
    profile, t = await profile_of(update, context)
    try:
        sent = await services(context).assistance.outgoing(update.effective_user.id)
    except NotStaff:
        sent, text = [], t("review.not_staff")
    else:
        text = t("xreq.sent.title", count=len(sent)) if sent else t("xreq.sent.none")
    lines = [text, *(_outgoing_text(t, request) for request in sent)]
    await update.effective_message.reply_text("\n\n".join(lines), reply_markup=menu_or_roles(t, profile))


async def ask_id_number(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    context.user_data[_PENDING] = {}
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(t("xreq.ask.id"), reply_markup=buttons(_cancel(t)))
    return ASK_ID


async def id_number_typed(update: Update, context: BotContext) -> int:
    profile, t = await profile_of(update, context)
    id_number = update.effective_message.text
    try:
        subject = await services(context).assistance.check(update.effective_user.id, id_number)
    except NotStaff:
        return await _end(update, context, t("review.not_staff"))
    if subject.outcome == "malformed_id":
        await update.effective_message.reply_text(
            t("xreq.ask.malformed_id"), reply_markup=buttons(_cancel(t))
        )
        return ASK_ID
    if subject.outcome != "ok":
        return await _end(update, context, _asked_text(t, subject))
    # The number stays in memory only while the conversation lasts (as in binding).
    context.user_data[_PENDING] = {"id_number": id_number}
    rows = [(t(f"xreq.question.{key}"), QUESTION(key)) for key in QUESTIONS]
    await update.effective_message.reply_text(
        _asked_text(t, subject), reply_markup=buttons(*rows, _cancel(t))
    )
    return ASK_QUESTION


async def question_chosen(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    pending = context.user_data.pop(_PENDING, None) or {}
    _, t = await profile_of(update, context)
    if "id_number" not in pending:
        return await _end(update, context, t("xreq.stale_button"))
    (question,) = QUESTION.of(update)
    try:
        asked = await services(context).assistance.ask(
            update.effective_user.id, pending["id_number"], question
        )
    except NotStaff:
        return await _end(update, context, t("review.not_staff"))
    return await _end(update, context, _asked_text(t, asked))


def _asked_text(t: Translator, asked) -> str:
    return t(
        f"xreq.ask.{asked.outcome}",
        name=asked.retiree_name,
        masked_id=asked.masked_id_number,
        region=asked.residence_region,
        request_id=asked.request_id,
    )


async def _end(update: Update, context: BotContext, text: str) -> int:
    context.user_data.pop(_PENDING, None)
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(text, reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


# ------------------------------------------------------------------ leaving


cancel = cancel_step(_PENDING, "xreq.cancelled")


# ------------------------------------------------------------------ the sweep


async def run_sweep(assistance: AssistanceService | None) -> None:
    if assistance is None:
        return
    try:
        report = await assistance.sweep()
    except Exception as error:  # the next run tries again
        # The type only: a database error's text may quote row values.
        logger.error("assistance sweep failed: %s", type(error).__name__)
        return
    if report.answers or report.overdue or report.sent:
        logger.info(
            "assistance: %d answers in, %d overdue, %d sent", report.answers, report.overdue, report.sent
        )


async def _sweep_job(context: BotContext) -> None:
    await run_sweep(services(context).assistance)


def schedule_sweep(application: Application, interval_seconds: float = 300) -> None:
    """Every few minutes: overdue is a matter of days, but a request waiting to be sent
    should not wait long once its peer is back."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            alone(SWEEP_JOB, _sweep_job), interval=interval_seconds, first=SWEEP_FIRST_SECONDS, name=SWEEP_JOB
        )


# ------------------------------------------------------------------ registration


def register(application: Application) -> None:
    assistance = conversation(
        "assistance",
        entry_points=[
            CallbackQueryHandler(ask_finding, pattern=ANSWER.pattern),
            CallbackQueryHandler(ask_id_number, pattern=ASK.pattern),
        ],
        states={
            ASK_FINDING: [CallbackQueryHandler(finding_chosen, pattern=FINDING.pattern)],
            ASK_NOTE: [
                typed(note_typed, cancel, _PENDING),
                CallbackQueryHandler(note_skipped, pattern=SKIP.pattern),
            ],
            ASK_ID: [typed(id_number_typed, cancel, _PENDING)],
            ASK_QUESTION: [CallbackQueryHandler(question_chosen, pattern=QUESTION.pattern)],
        },
        cancel=cancel,
        cancel_pattern=CANCEL.pattern,
        pending=_PENDING,
        timeout=TIMEOUT,
    )
    application.add_handler(assistance)
    application.add_handler(CommandHandler("assistance", list_requests))
    application.add_handler(CallbackQueryHandler(start_request, pattern=START.pattern))
    application.add_handler(CallbackQueryHandler(list_sent, pattern=SENT.pattern))
    application.add_handler(CallbackQueryHandler(stale_button("xreq.stale_button"), pattern=r"^xreq:"))
