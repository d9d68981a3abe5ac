"""🏠 Home visits: a retiree (or a helper) asks staff to come; staff see the open requests of
their region and close each one — by certifying in person (bot/handlers/assisted.py, the
"certify now" button) or by saying what the visit found.

Asking is a short conversation: for whom (a helper of several), why (four big buttons), and an
optional note with address hints; Cancel, /cancel or any main-menu button leaves it.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ConversationHandler,
)

from bot.callbacks import Button, Number, OneOf
from bot.context import BotContext
from bot.handlers.assisted import CERTIFY_VISIT
from bot.handlers.common import menu_or_roles, profile_of, staff_items
from bot.handlers.conversation import (
    cancel_step,
    conversation,
    drop_buttons,
    stale_button,
    started_by,
    typed,
)
from bot.keyboards import buttons
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from kernel.permissions import NotStaff
from verification.care.home_visits import OUTCOMES, REASONS, VisitAsked, VisitState, VisitView

CHOOSE, ASK_REASON, ASK_NOTE = range(20, 23)
TIMEOUT = timedelta(minutes=10)
_PENDING = "home_visit"  # user_data: {"retiree_id", "reason"} while the conversation lasts

FOR_RETIREE = Button("visit:for", Number())
REASON = Button("visit:reason", OneOf(*REASONS))
SKIP, CANCEL = Button("visit:skip"), Button("visit:cancel")
# What the person is told when no question follows (CAN_ASK asks the reason).
VISIT_TEXT = {state: f"care.visit.{state}" for state in VisitState if state is not VisitState.CAN_ASK}
MISSED = Button("hv:missed", Number())  # a visit made, the retiree not certified: why
OUTCOME = Button("hv:done", Number(), OneOf(*OUTCOMES))


# ------------------------------------------------------------------ asking for a visit


@menu_action("home_visit")
async def start(update: Update, context: BotContext) -> int:
    context.user_data.pop(_PENDING, None)
    whom = await services(context).home_visits.can_ask(update.effective_user.id)
    return await _answer_whom(update, context, whom)


async def elder_chosen(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    (retiree_id,) = FOR_RETIREE.of(update)
    whom = await services(context).home_visits.can_ask(update.effective_user.id, retiree_id)
    return await _answer_whom(update, context, whom)


async def _answer_whom(update: Update, context: BotContext, whom: VisitAsked) -> int:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    if whom.state is VisitState.CHOOSE:
        rows = [(name, FOR_RETIREE(retiree_id)) for retiree_id, name in whom.choices]
        await message.reply_text(t("care.visit.choose"), reply_markup=buttons(*rows, _cancel(t)))
        return CHOOSE
    if whom.state is VisitState.CAN_ASK:
        context.user_data[_PENDING] = {"retiree_id": whom.retiree_id}
        rows = [(t(f"care.visit.reason.{reason}"), REASON(reason)) for reason in REASONS]
        await message.reply_text(
            t("care.visit.ask_reason", name=whom.retiree_name), reply_markup=buttons(*rows, _cancel(t))
        )
        return ASK_REASON
    await message.reply_text(
        t(VISIT_TEXT[whom.state], name=whom.retiree_name), reply_markup=menu_or_roles(t, profile)
    )
    return ConversationHandler.END


def _cancel(t: Translator) -> tuple[str, str]:
    return t("care.button.cancel"), CANCEL()


async def reason_chosen(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    pending = context.user_data.get(_PENDING)
    if not pending:  # lost (a restart): begin again
        return await start(update, context)
    (pending["reason"],) = REASON.of(update)
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t("care.visit.ask_note"),
        reply_markup=buttons((t("care.visit.button.no_note"), SKIP()), _cancel(t)),
    )
    return ASK_NOTE


async def note_typed(update: Update, context: BotContext) -> int:
    return await _ask(update, context, update.effective_message.text)


async def note_skipped(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    return await _ask(update, context, None)


async def _ask(update: Update, context: BotContext, note: str | None) -> int:
    pending = context.user_data.pop(_PENDING, None) or {}
    if "reason" not in pending:
        return await start(update, context)
    asked = await services(context).home_visits.ask(
        update.effective_user.id, pending["retiree_id"], pending["reason"], note
    )
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t(VISIT_TEXT[asked.state], name=asked.retiree_name), reply_markup=menu_or_roles(t, profile)
    )
    return ConversationHandler.END


cancel = cancel_step(_PENDING, "care.cancelled")


# ------------------------------------------------------------------ staff


def _visit_text(t: Translator, visit: VisitView) -> str:
    return t(
        "care.visits.item",
        name=visit.retiree_name,
        masked_id=visit.masked_id_number,
        region=visit.residence_region,
        reason=t(f"care.visit.reason.{visit.reason}"),
        asked=visit.requested_at.strftime("%Y-%m-%d %H:%M"),
        note=visit.note or "—",
    )


@menu_action("home_visits")
async def list_visits(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    message = update.effective_message
    load = services(context).home_visits.open_visits
    for visit in await staff_items(update, context, load, none_key="care.visits.none"):
        await message.reply_text(
            _visit_text(t, visit),
            reply_markup=buttons(
                (t("care.visits.button.certify"), CERTIFY_VISIT(visit.request_id)),
                (t("care.visits.button.not_certified"), MISSED(visit.request_id)),
            ),
        )


async def ask_outcome(update: Update, context: BotContext) -> None:
    await drop_buttons(update)
    _, t = await profile_of(update, context)
    (request_id,) = MISSED.of(update)
    rows = [(t(f"care.visits.outcome.{outcome}"), OUTCOME(request_id, outcome)) for outcome in OUTCOMES]
    await update.effective_message.reply_text(t("care.visits.ask_outcome"), reply_markup=buttons(*rows))


async def outcome_chosen(update: Update, context: BotContext) -> None:
    await drop_buttons(update)
    profile, t = await profile_of(update, context)
    request_id, outcome = OUTCOME.of(update)
    try:
        closed = await services(context).home_visits.visited_not_certified(
            update.effective_user.id, request_id, outcome
        )
    except NotStaff:
        closed = None
    key = {True: "care.visits.closed", False: "care.visits.already_closed", None: "review.not_staff"}[closed]
    await update.effective_message.reply_text(t(key), reply_markup=menu_or_roles(t, profile))


# ------------------------------------------------------------------ registration


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(ask_outcome, pattern=MISSED.pattern))
    application.add_handler(CallbackQueryHandler(outcome_chosen, pattern=OUTCOME.pattern))
    # The buttons are entry points too: the menu button may have been tapped in the middle
    # of another conversation (bot.menu.leave_for_menu), which starts this one outside it.
    taps = [
        CallbackQueryHandler(elder_chosen, pattern=FOR_RETIREE.pattern),
        CallbackQueryHandler(reason_chosen, pattern=REASON.pattern),
    ]
    visit = conversation(
        "home_visit",
        entry_points=[*started_by("home_visit", "visit", start), *taps],
        states={
            CHOOSE: taps,
            ASK_REASON: taps,
            ASK_NOTE: [
                typed(note_typed, cancel, _PENDING),
                CallbackQueryHandler(note_skipped, pattern=SKIP.pattern),
            ],
        },
        cancel=cancel,
        cancel_pattern=CANCEL.pattern,
        pending=_PENDING,
        timeout=TIMEOUT,
    )
    application.add_handler(visit)
    application.add_handler(CallbackQueryHandler(stale_button("care.stale_button"), pattern=r"^visit:"))
