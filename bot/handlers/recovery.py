"""💰 追回多发 in the bot: staff work on the recovery of pensions paid after entitlement
ended (verification/recovery/service.py). /recoveries (or the menu button) lists the open
cases of the staff member's region, each with buttons: tell the family (through the bot's
notice job), the letter as a PDF document, record a payment (the amount is asked for), and,
while a write-off waits, approve it or refuse it with a reason (a second staff member: the
service refuses the one who asked). The service audits and records every step.
"""

from __future__ import annotations

import asyncio
import warnings

from telegram import ForceReply, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.callbacks import Button, Number, OneOf
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.handlers.conversation import remove_buttons
from bot.keyboards import buttons
from bot.menu import FIRST_LOOK_GROUP, first_look_step, menu_action, stops_here
from bot.presenters.recovery import payment_text, refusal_text, view_text
from bot.services import services
from content.i18n import Translator
from kernel.permissions import NotStaff
from verification.recovery.letter import render_letter
from verification.recovery.overpayment import parse_yuan, yuan
from verification.recovery.service import CaseView, RecoveryRefused, RecoveryService

# A step taken at once, and a step that first asks for a typed amount or reason.
RECOVERY_STEP = Button("rcv", OneOf("notice", "letter", "approve"), Number())
RECOVERY_ASK = Button("rcv:ask", OneOf("pay", "refuse"), Number())
_ASKED = "recovery_asked"  # user_data: (what, case id) awaiting its amount or reason
_ANSWER = 1
# Letters are official documents in Chinese, whatever the staff member's own language.
LETTER_LANGUAGE = "zh_Hans"


def _recovery(context: BotContext) -> RecoveryService:
    recovery = services(context).recovery
    if recovery is None:  # the runtime always builds it; a test's BotServices may not
        raise NotStaff(0)
    return recovery


def case_buttons(t: Translator, view: CaseView):
    case_id = view.summary.case_id
    rows = [
        (t("recovery.button.notice"), RECOVERY_STEP("notice", case_id)),
        (t("recovery.button.letter"), RECOVERY_STEP("letter", case_id)),
        (t("recovery.button.payment"), RECOVERY_ASK("pay", case_id)),
    ]
    if view.write_off_requested_by is not None:
        rows += [
            (t("recovery.button.approve"), RECOVERY_STEP("approve", case_id)),
            (t("recovery.button.refuse"), RECOVERY_ASK("refuse", case_id)),
        ]
    return buttons(*rows)


@menu_action("recoveries")
async def list_cases(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    try:
        queue = await _recovery(context).queue(update.effective_user.id)
    except NotStaff:
        await message.reply_text(t("review.not_staff"), reply_markup=menu_or_roles(t, profile))
        return
    if not queue.cases:
        await message.reply_text(t("recovery.none"), reply_markup=menu_or_roles(t, profile))
        return
    for view in queue.cases:
        await message.reply_text(view_text(t, view), reply_markup=case_buttons(t, view))
    if queue.more:
        await message.reply_text(t("recovery.more", count=queue.more), reply_markup=menu_or_roles(t, profile))


async def take_step(update: Update, context: BotContext) -> None:
    verb, case_id = RECOVERY_STEP.of(update)
    await update.callback_query.answer()
    profile, t = await profile_of(update, context)
    message = update.effective_message
    user = update.effective_user.id
    try:
        recovery = _recovery(context)
        if verb == "notice":
            sent = await recovery.send_notice(user, case_id)
            await message.reply_text(t("recovery.notice_sent", chats=sent.chats, case_id=case_id))
        elif verb == "letter":
            data = await recovery.letter_data(user, case_id)
            pdf = await asyncio.to_thread(render_letter, data, Translator(LETTER_LANGUAGE))
            await message.reply_document(
                pdf, filename=f"recovery-{case_id}.pdf", caption=t("recovery.letter_caption", case_id=case_id)
            )
        else:
            summary = await recovery.approve_write_off(user, case_id)
            await remove_buttons(update)
            await message.reply_text(
                t("recovery.write_off_approved", case_id=case_id, amount=yuan(summary.outstanding_fen)),
                reply_markup=menu_or_roles(t, profile),
            )
    except NotStaff:
        await message.reply_text(t("review.not_staff"), reply_markup=menu_or_roles(t, profile))
    except RecoveryRefused as refused:
        await message.reply_text(refusal_text(t, refused))


async def ask(update: Update, context: BotContext) -> int:
    verb, case_id = RECOVERY_ASK.of(update)
    await update.callback_query.answer()
    _, t = await profile_of(update, context)
    try:
        view = await _recovery(context).case(update.effective_user.id, case_id)
    except NotStaff:
        await update.effective_message.reply_text(t("review.not_staff"))
        return ConversationHandler.END
    except RecoveryRefused as refused:
        await update.effective_message.reply_text(refusal_text(t, refused))
        return ConversationHandler.END
    context.user_data[_ASKED] = (verb, case_id)
    if verb == "pay":
        text = t("recovery.ask_payment", case_id=case_id, outstanding=yuan(view.summary.outstanding_fen))
    else:
        text = t("recovery.ask_refusal", case_id=case_id)
    await update.effective_message.reply_text(text, reply_markup=ForceReply())
    return _ANSWER


async def answer(update: Update, context: BotContext) -> int:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    verb, case_id = context.user_data.get(_ASKED, (None, None))
    if verb is None:
        return ConversationHandler.END
    text = message.text or ""
    try:
        recovery = _recovery(context)
        if verb == "pay":
            amount = parse_yuan(text)
            if amount is None:
                await message.reply_text(t("recovery.bad_amount"), reply_markup=ForceReply())
                return _ANSWER  # asked again; "取消" leaves
            summary = await recovery.record_payment(update.effective_user.id, case_id, amount)
            reply = payment_text(t, amount, summary)
        else:
            summary = await recovery.refuse_write_off(update.effective_user.id, case_id, text)
            reply = t(
                "recovery.write_off_refused",
                case_id=case_id,
                state=t(f"recovery.state.{summary.state.value}"),
            )
    except NotStaff:
        reply = t("review.not_staff")
    except RecoveryRefused as refused:
        reply = refusal_text(t, refused)
    context.user_data.pop(_ASKED, None)
    await message.reply_text(reply, reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    context.user_data.pop(_ASKED, None)
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(t("recovery.cancelled"), reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


def register(application: Application) -> None:
    application.add_handler(CommandHandler("recoveries", list_cases))
    # What the bot did not send matches no pattern: the catch-all refuses it (bot.callbacks).
    application.add_handler(CallbackQueryHandler(take_step, pattern=RECOVERY_STEP.pattern))
    with warnings.catch_warnings():
        # The amount is asked per staff member, not per message: per_message=False is meant.
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CallbackQueryHandler(stops_here(ask), pattern=RECOVERY_ASK.pattern)],
            states={
                _ANSWER: [
                    MessageHandler(filters.TEXT & ~filters.COMMAND, first_look_step(answer, cancel, _ASKED))
                ]
            },
            fallbacks=[CommandHandler("cancel", stops_here(cancel))],
            conversation_timeout=600,
            allow_reentry=True,
        )
    # Ahead of the main group, as the review's reason: the typed amount is this step's answer.
    application.add_handler(conversation, group=FIRST_LOOK_GROUP)
