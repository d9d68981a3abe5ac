"""Staff review in the bot (until there is a web console): /review lists the pending cases
of the staff member's region; each can be looked at and decided with a reason."""

from __future__ import annotations

import warnings

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.handlers.common import menu_or_roles, profile_of
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from kernel.permissions import NotStaff
from verification.review import CaseView

_ASK_REASON = 1
_DECISION = "review_decision"  # user_data: (case id, approve?) awaiting its reason


def _case_text(t: Translator, case: CaseView) -> str:
    lines = "\n".join(
        t(
            "review.attempt_line",
            at=attempt.at.strftime("%Y-%m-%d %H:%M"),
            outcome=attempt.outcome,
            reason=attempt.reason,
            distance="—" if attempt.distance is None else f"{attempt.distance:.3f}",
        )
        for attempt in case.attempts
    )
    return t(
        "review.case",
        case_id=case.case_id,
        name=case.retiree_name,
        masked_id=case.masked_id_number,
        region=case.residence_region,
        because=t(f"review.because.{case.opened_because}"),
        opened=case.opened_at.strftime("%Y-%m-%d %H:%M"),
        attempts=lines or "—",
    )


def _case_buttons(t: Translator, case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t("review.button.evidence"), callback_data=f"review:see:{case_id}")],
            [
                InlineKeyboardButton(t("review.button.approve"), callback_data=f"review:ok:{case_id}"),
                InlineKeyboardButton(t("review.button.reject"), callback_data=f"review:no:{case_id}"),
            ],
        ]
    )


@menu_action("review")
async def list_cases(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    profile, t = await profile_of(update, context)
    try:
        cases = await services(context).review.pending(update.effective_user.id)
    except NotStaff:
        await update.effective_message.reply_text(
            t("review.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return
    if not cases:
        await update.effective_message.reply_text(t("review.none"), reply_markup=menu_or_roles(t, profile))
    for case in cases:
        await update.effective_message.reply_text(
            _case_text(t, case), reply_markup=_case_buttons(t, case.case_id)
        )


async def show_evidence(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    _, t = await profile_of(update, context)
    case_id = int(query.data.rsplit(":", 1)[1])
    review = services(context).review
    try:
        reference = await review.reference_photo(update.effective_user.id, case_id)
        photos = await review.case_photos(update.effective_user.id, case_id)
    except NotStaff:
        await query.message.reply_text(t("review.not_staff"))
        return
    if reference:
        await query.message.reply_photo(reference, caption=t("review.reference_caption", case_id=case_id))
    for at, photo in photos:
        await query.message.reply_photo(
            photo, caption=t("review.evidence_caption", at=at.strftime("%Y-%m-%d %H:%M"))
        )
    if not photos:
        await query.message.reply_text(t("review.no_evidence"))


async def ask_reason(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    await query.answer()
    _, t = await profile_of(update, context)
    _, verb, case_id = query.data.split(":")
    approve = verb == "ok"
    context.user_data[_DECISION] = (int(case_id), approve)
    decision = t("review.decision.approve" if approve else "review.decision.reject")
    await query.message.reply_text(t("review.ask_reason", decision=decision), reply_markup=ForceReply())
    return _ASK_REASON


async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    profile, t = await profile_of(update, context)
    case_id, approve = context.user_data.pop(_DECISION)
    try:
        decision = await services(context).review.decide(
            update.effective_user.id, case_id, approve, update.effective_message.text
        )
    except NotStaff:
        await update.effective_message.reply_text(t("review.not_staff"))
        return ConversationHandler.END
    if decision is None:
        await update.effective_message.reply_text(
            t("review.already_decided"), reply_markup=menu_or_roles(t, profile)
        )
        return ConversationHandler.END
    verb = t("review.decision.approve" if approve else "review.decision.reject")
    await update.effective_message.reply_text(
        t("review.decided", case_id=case_id, decision=verb), reply_markup=menu_or_roles(t, profile)
    )
    await _tell_the_retiree(context, decision)
    return ConversationHandler.END


async def _tell_the_retiree(context: ContextTypes.DEFAULT_TYPE, decision) -> None:
    for chat_id in decision.notify_chat_ids:
        recipient = await services(context).profiles.profile(chat_id)
        t = Translator(recipient.language)
        if decision.approved:
            text = t(
                "review.notify.approved", name=decision.retiree_name, valid_until=t.date(decision.valid_until)
            )
        else:
            text = t("review.notify.rejected", name=decision.retiree_name)
        await context.bot.send_message(chat_id, text)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data.pop(_DECISION, None)
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(t("review.cancelled"), reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


def register(application: Application) -> None:
    application.add_handler(CommandHandler("review", list_cases))
    application.add_handler(CallbackQueryHandler(show_evidence, pattern=r"^review:see:\d+$"))
    with warnings.catch_warnings():
        # PTB notes that per_message=False does not track callback queries per message; the
        # reason is asked per staff member, so that is what is wanted here.
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CallbackQueryHandler(ask_reason, pattern=r"^review:(ok|no):\d+$")],
            states={_ASK_REASON: [MessageHandler(filters.TEXT & ~filters.COMMAND, decide)]},
            fallbacks=[CommandHandler("cancel", cancel)],
            conversation_timeout=600,
        )
    application.add_handler(conversation)
