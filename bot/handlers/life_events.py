"""🕯 A relative reports a death or a hospital stay.

One question per message, big buttons, and a way out at every step (Cancel, /cancel, any
main-menu button): what happened; about whom (a retiree this account helps, or the ID number
and name); the day; for a death the certificate number and, if at hand, a photo of it; for a
hospital stay the hospital's name if wished; then one confirmation, because a death report
stops the pension at once. Condolences come first, and the family's duty to report and what
false claiming leads to are said plainly, with their articles.

The ID number stays in memory only while the conversation lasts, and is never echoed back.
"""

from __future__ import annotations

from datetime import date, timedelta

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button, NumberOr, OneOf
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.handlers.conversation import (
    cancel_step,
    conversation,
    drop_buttons,
    receive_photo,
    stale_button,
    started_by,
    typed,
)
from bot.keyboards import buttons
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from verification.care.life_events import (
    DeathReport,
    HospitalReport,
    IdentifiedState,
    ReportState,
    RetireeClaim,
)

KIND, WHOM, ASK_ID, ASK_NAME, ASK_DAY, ASK_CERTIFICATE, ASK_DOCUMENT, ASK_HOSPITAL, CONFIRM = range(40, 49)
TIMEOUT = timedelta(minutes=15)
_PENDING = "life_event"  # user_data while the conversation lasts: kind, claim, name, day, ...

# A report not taken, and why (a report taken is thanked for by its kind: care.life.<kind>_reported).
REPORT_TEXT = {
    state: f"care.life.report.{state}" for state in ReportState if state is not ReportState.REPORTED
}
KIND_BUTTON = Button("life:kind", OneOf("death", "hospital"))
WHOM_BUTTON = Button("life:for", NumberOr("other"))  # a retiree the person helps, or someone else
DAY = Button("life:day", OneOf("today", "yesterday"))
SKIP, CONFIRM_BUTTON, CANCEL = (Button(f"life:{word}") for word in ("skip", "confirm", "cancel"))


def _cancel(t: Translator) -> tuple[str, str]:
    return t("care.button.cancel"), CANCEL()


def _skip(t: Translator) -> tuple[str, str]:
    return t("care.button.skip"), SKIP()


async def _reply(update: Update, context: BotContext, key: str, *rows, **values) -> None:
    _, t = await profile_of(update, context)
    labelled = [row(t) if callable(row) else row for row in rows]
    await update.effective_message.reply_text(t(key, **values), reply_markup=buttons(*labelled, _cancel(t)))


@menu_action("report_life_event")
async def start(update: Update, context: BotContext) -> int:
    context.user_data.pop(_PENDING, None)
    _, t = await profile_of(update, context)
    await _reply(
        update,
        context,
        "care.life.start",
        (t("care.life.button.death"), KIND_BUTTON("death")),
        (t("care.life.button.hospital"), KIND_BUTTON("hospital")),
    )
    return KIND


async def kind_chosen(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    (kind,) = KIND_BUTTON.of(update)
    context.user_data[_PENDING] = {"kind": kind}
    helped = await services(context).life_events.helped(update.effective_user.id)
    _, t = await profile_of(update, context)
    # Condolences and the family's duty first, then the question.
    intro = t(f"care.life.{kind}_intro") + "\n\n"
    if not helped:
        await update.effective_message.reply_text(
            intro + t("care.life.ask_id"), reply_markup=buttons(_cancel(t))
        )
        return ASK_ID
    rows = [(name, WHOM_BUTTON(retiree_id)) for retiree_id, name in helped]
    await update.effective_message.reply_text(
        intro + t("care.life.choose"),
        reply_markup=buttons(*rows, (t("care.life.button.someone_else"), WHOM_BUTTON("other")), _cancel(t)),
    )
    return WHOM


async def whom_chosen(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    pending = context.user_data.get(_PENDING)
    if not pending:
        return await start(update, context)
    (choice,) = WHOM_BUTTON.of(update)
    if choice == "other":
        await _reply(update, context, "care.life.ask_id")
        return ASK_ID
    helped = dict(await services(context).life_events.helped(update.effective_user.id))
    if choice not in helped:  # no longer theirs (unbound meanwhile)
        return await start(update, context)
    pending["claim"], pending["name"] = {"retiree_id": choice}, helped[choice]
    return await _ask_day(update, context, pending)


async def id_typed(update: Update, context: BotContext) -> int:
    pending = context.user_data.get(_PENDING)
    if not pending:
        return await start(update, context)
    problem = services(context).binding.id_number_problem(update.effective_message.text)
    if problem is not None:
        _, t = await profile_of(update, context)
        await update.effective_message.reply_text(
            t(f"bind.id_problem.{problem.value}") + "\n\n" + t("care.life.type_id_again"),
            reply_markup=buttons(_cancel(t)),
        )
        return ASK_ID
    pending["id_number"] = update.effective_message.text
    await _reply(update, context, "care.life.ask_name")
    return ASK_NAME


async def name_typed(update: Update, context: BotContext) -> int:
    pending = context.user_data.get(_PENDING) or {}
    if "id_number" not in pending:
        return await start(update, context)
    name = update.effective_message.text.strip()
    found = await services(context).life_events.identify(update.effective_user.id, pending["id_number"], name)
    if found.state is IdentifiedState.FOUND:
        pending["claim"] = {"id_number": pending.pop("id_number"), "name": name}
        pending["name"] = found.retiree_name
        return await _ask_day(update, context, pending)
    pending.pop("id_number", None)
    profile, t = await profile_of(update, context)
    if found.state is IdentifiedState.LOCKED or found.locked_until is not None:
        context.user_data.pop(_PENDING, None)
        await update.effective_message.reply_text(
            t("care.life.locked"), reply_markup=menu_or_roles(t, profile)
        )
        return ConversationHandler.END
    # Whatever did not match, the same words: nothing tells whether the number is on file.
    text = t("care.life.no_match", tries=found.tries_left) + "\n\n" + t("care.life.type_id_again")
    await update.effective_message.reply_text(text, reply_markup=buttons(_cancel(t)))
    return ASK_ID


async def _ask_day(update: Update, context: BotContext, pending: dict) -> int:
    _, t = await profile_of(update, context)
    await _reply(
        update,
        context,
        f"care.life.ask_day.{pending['kind']}",
        (t("care.button.today"), DAY("today")),
        (t("care.button.yesterday"), DAY("yesterday")),
        name=pending["name"],
    )
    return ASK_DAY


async def day_tapped(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    return await _day(update, context, *DAY.of(update))


async def day_typed(update: Update, context: BotContext) -> int:
    return await _day(update, context, update.effective_message.text)


async def _day(update: Update, context: BotContext, text: str) -> int:
    pending = context.user_data.get(_PENDING) or {}
    if "claim" not in pending:
        return await start(update, context)
    answer = services(context).life_events.event_day(text)
    if answer.day is None:
        await _reply(update, context, f"care.life.day_problem.{answer.problem}")
        return ASK_DAY
    pending["day"] = answer.day.isoformat()
    if pending["kind"] == "death":
        await _reply(update, context, "care.life.ask_certificate")
        return ASK_CERTIFICATE
    await _reply(update, context, "care.life.ask_hospital", _skip)
    return ASK_HOSPITAL


async def certificate_typed(update: Update, context: BotContext) -> int:
    pending = context.user_data.get(_PENDING) or {}
    if "day" not in pending:
        return await start(update, context)
    pending["certificate"] = update.effective_message.text.strip()
    await _reply(update, context, "care.life.ask_document", _skip)
    return ASK_DOCUMENT


async def document_received(update: Update, context: BotContext) -> int:
    pending = context.user_data.get(_PENDING) or {}
    if "certificate" not in pending:
        return await start(update, context)
    photo = await receive_photo(update, context)
    if photo is None:
        return ASK_DOCUMENT
    pending["document"], pending["media_type"] = photo.data, photo.media_type
    return await _confirm(update, context, pending)


async def document_expected(update: Update, context: BotContext) -> int:
    await _reply(update, context, "care.life.ask_document", _skip)
    return ASK_DOCUMENT


async def hospital_typed(update: Update, context: BotContext) -> int:
    pending = context.user_data.get(_PENDING) or {}
    pending["hospital"] = update.effective_message.text.strip()
    return await _confirm(update, context, pending)


async def skipped(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    return await _confirm(update, context, context.user_data.get(_PENDING) or {})


async def _confirm(update: Update, context: BotContext, pending: dict) -> int:
    if "day" not in pending:
        return await start(update, context)
    _, t = await profile_of(update, context)
    await _reply(
        update,
        context,
        f"care.life.confirm.{pending['kind']}",
        (t("care.life.button.confirm"), CONFIRM_BUTTON()),
        name=pending["name"],
        day=t.date(date.fromisoformat(pending["day"])),
        hospital=pending.get("hospital") or "—",
    )
    return CONFIRM


async def confirmed(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    pending = context.user_data.pop(_PENDING, None) or {}
    if "day" not in pending:
        return await start(update, context)
    claim = RetireeClaim(**pending["claim"])
    day = date.fromisoformat(pending["day"])
    reporter = update.effective_user.id
    life_events = services(context).life_events
    if pending["kind"] == "death":
        reported = await life_events.report_death(
            DeathReport(
                reporter,
                claim,
                day,
                pending["certificate"],
                pending.get("document"),
                pending.get("media_type"),
            )
        )
    else:
        reported = await life_events.report_hospital(
            HospitalReport(reporter, claim, day, pending.get("hospital"))
        )
    profile, t = await profile_of(update, context)
    key = (
        f"care.life.{pending['kind']}_reported"
        if reported.state is ReportState.REPORTED
        else REPORT_TEXT[reported.state]
    )
    await update.effective_message.reply_text(
        t(key, name=reported.retiree_name or pending["name"]), reply_markup=menu_or_roles(t, profile)
    )
    return ConversationHandler.END


cancel = cancel_step(_PENDING, "care.cancelled")


def register(application: Application) -> None:
    def step(handler) -> MessageHandler:
        return typed(handler, cancel, _PENDING)

    skip = CallbackQueryHandler(skipped, pattern=SKIP.pattern)
    # The first buttons are entry points too: the menu button may have been tapped in the middle
    # of another conversation (bot.menu.leave_for_menu), which starts this one outside it.
    kind = CallbackQueryHandler(kind_chosen, pattern=KIND_BUTTON.pattern)
    life_event = conversation(
        "life_event",
        entry_points=[*started_by("report_life_event", "report", start), kind],
        states={
            KIND: [kind],
            WHOM: [CallbackQueryHandler(whom_chosen, pattern=WHOM_BUTTON.pattern)],
            ASK_ID: [step(id_typed)],
            ASK_NAME: [step(name_typed)],
            ASK_DAY: [
                step(day_typed),
                CallbackQueryHandler(day_tapped, pattern=DAY.pattern),
            ],
            ASK_CERTIFICATE: [step(certificate_typed)],
            ASK_DOCUMENT: [
                MessageHandler(filters.PHOTO | filters.Document.IMAGE, document_received),
                step(document_expected),
                skip,
            ],
            ASK_HOSPITAL: [step(hospital_typed), skip],
            CONFIRM: [CallbackQueryHandler(confirmed, pattern=CONFIRM_BUTTON.pattern)],
        },
        cancel=cancel,
        cancel_pattern=CANCEL.pattern,
        pending=_PENDING,
        timeout=TIMEOUT,
    )
    application.add_handler(life_event)
    application.add_handler(CallbackQueryHandler(stale_button("care.stale_button"), pattern=r"^life:"))
