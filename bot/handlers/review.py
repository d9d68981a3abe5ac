"""Staff review in the bot (until there is a web console): /review lists the pending cases
of the staff member's region; each can be looked at and decided with a reason. A reported
death or hospital stay is a case too, with its own words on the buttons (confirm the death or
find the report untrue; acknowledge the stay) and the certificate to look at."""

from __future__ import annotations

import warnings

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.callbacks import Button, Number, OneOf, Word
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of, staff_items
from bot.menu import FIRST_LOOK_GROUP, first_look_step, menu_action, stops_here
from bot.presenters.review import decision_text
from bot.services import services
from content.i18n import Translator
from kernel.permissions import NotStaff
from verification.certification.review import CaseView, DecisionOutcome, NotTrained, decision_word

_ASK_REASON = 1
_DECISION = "review_decision"  # user_data: (case id, approve?) awaiting its reason


_LIFE_EVENTS = {"death_reported": "death", "hospital_reported": "hospital"}
_AUDITED_PASS = "pass_audit"  # verification.certification.pass_audit.REVIEW_BECAUSE


def _verdict_key(opened_because: str, approve: bool, what: str) -> str:
    """The catalog key of a verdict's button or its word in the reason question (`what`):
    approving a reported death confirms it, approving a hospital stay acknowledges it,
    approving an audited pass upholds it."""
    verdict = "approve" if approve else "reject"
    if opened_because in _LIFE_EVENTS:
        return f"care.review.{_LIFE_EVENTS[opened_because]}.{what}.{verdict}"
    if opened_because == _AUDITED_PASS:
        return f"audit.review.{what}.{verdict}"
    return f"review.{what}.{verdict}"


def _outcome_key(outcome: DecisionOutcome) -> str:
    """The catalog key of what a decision did, for staff, for the outcomes other than a plain
    certification (what the retiree's chats are told: bot/presenters/review.py)."""
    if outcome.startswith("audit_"):
        return f"audit.review.decided.{outcome}"
    return f"care.review.decided.{outcome}"


def _case_text(t: Translator, case: CaseView) -> str:
    if case.life_event is not None:
        return t(
            f"care.review.case.{case.life_event.kind}",
            case_id=case.case_id,
            name=case.retiree_name,
            masked_id=case.masked_id_number,
            region=case.residence_region,
            day=t.date(case.life_event.event_date),
            reported=case.life_event.reported_at.strftime("%Y-%m-%d %H:%M"),
        )
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


EVIDENCE = Button("review:see", Number())
DOCUMENT = Button("review:doc", Number())  # of a death report
# The case's reason rides along to word the question; buttons made before it had none.
VERDICT = Button("review", OneOf("ok", "no"), Number(), Word(24), optional_last=True)


def _case_buttons(t: Translator, case: CaseView) -> InlineKeyboardMarkup:
    case_id = case.case_id
    if case.life_event is None:
        see = [[InlineKeyboardButton(t("review.button.evidence"), callback_data=EVIDENCE(case_id))]]
    elif case.life_event.kind == "death":
        see = [[InlineKeyboardButton(t("care.review.button.document"), callback_data=DOCUMENT(case_id))]]
    else:
        see = []
    return InlineKeyboardMarkup(
        [
            *see,
            [
                InlineKeyboardButton(
                    t(_verdict_key(case.opened_because, True, "button")),
                    callback_data=VERDICT("ok", case_id, case.opened_because),
                ),
                InlineKeyboardButton(
                    t(_verdict_key(case.opened_because, False, "button")),
                    callback_data=VERDICT("no", case_id, case.opened_because),
                ),
            ],
        ]
    )


@menu_action("review")
async def list_cases(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    cases = await staff_items(update, context, services(context).review.pending, none_key="review.none")
    for case in cases:
        await update.effective_message.reply_text(_case_text(t, case), reply_markup=_case_buttons(t, case))


async def show_evidence(update: Update, context: BotContext) -> None:
    query = update.callback_query
    await query.answer()
    _, t = await profile_of(update, context)
    (case_id,) = EVIDENCE.of(update)
    review = services(context).review
    try:
        reference = await review.reference_photo(update.effective_user.id, case_id)
        kept = await review.case_evidence(update.effective_user.id, case_id)
    except NotStaff:
        await query.message.reply_text(t("review.not_staff"))
        return
    if reference:
        await query.message.reply_photo(reference, caption=t("review.reference_caption", case_id=case_id))
    for evidence in kept:
        caption = t("review.evidence_caption", at=evidence.at.strftime("%Y-%m-%d %H:%M"))
        if evidence.is_video:
            await query.message.reply_video(evidence.data, caption=caption)
        else:
            await query.message.reply_photo(evidence.data, caption=caption)
    if not kept:
        await query.message.reply_text(t("review.no_evidence"))


async def show_document(update: Update, context: BotContext) -> None:
    """The certificate number and photo a relative sent with a death report (audited)."""
    query = update.callback_query
    await query.answer()
    _, t = await profile_of(update, context)
    (case_id,) = DOCUMENT.of(update)
    try:
        sent = await services(context).review.life_event_document(update.effective_user.id, case_id)
    except NotStaff:
        await query.message.reply_text(t("review.not_staff"))
        return
    caption = t("care.review.certificate", number=(sent and sent.certificate_number) or "—")
    if sent and sent.document:
        await query.message.reply_photo(sent.document, caption=caption)
    else:
        await query.message.reply_text(caption + "\n" + t("care.review.no_document"))


async def ask_reason(update: Update, context: BotContext) -> int:
    query = update.callback_query
    await query.answer()
    _, t = await profile_of(update, context)
    verb, case_id, because = VERDICT.of(update)
    approve = verb == "ok"
    context.user_data[_DECISION] = (case_id, approve)
    decision = t(_verdict_key(because or "", approve, "decision"))
    await query.message.reply_text(t("review.ask_reason", decision=decision), reply_markup=ForceReply())
    return _ASK_REASON


async def decide(update: Update, context: BotContext) -> int:
    profile, t = await profile_of(update, context)
    case_id, approve = context.user_data.pop(_DECISION)
    try:
        decision = await services(context).review.decide(
            update.effective_user.id, case_id, approve, update.effective_message.text
        )
    except NotStaff:
        await update.effective_message.reply_text(t("review.not_staff"))
        return ConversationHandler.END
    except NotTrained:
        await update.effective_message.reply_text(
            t("review.not_trained"), reply_markup=menu_or_roles(t, profile)
        )
        return ConversationHandler.END
    if decision is None:
        await update.effective_message.reply_text(
            t("review.already_decided"), reply_markup=menu_or_roles(t, profile)
        )
        return ConversationHandler.END
    if decision.outcome is DecisionOutcome.CERTIFICATION:
        verb = t("review.decision.approve" if approve else "review.decision.reject")
    else:
        verb = t(_outcome_key(decision.outcome))
    await update.effective_message.reply_text(
        t("review.decided", case_id=case_id, decision=verb), reply_markup=menu_or_roles(t, profile)
    )
    await _tell_the_retiree(context, decision)
    return ConversationHandler.END


async def _tell_the_retiree(context: BotContext, decision) -> None:
    for chat_id in decision.notify_chat_ids:
        recipient = await services(context).profiles.profile(chat_id)
        t = Translator(recipient.language)
        text = decision_text(t, decision_word(decision), decision.retiree_name, decision.valid_until)
        await context.bot.send_message(chat_id, text)


async def cancel(update: Update, context: BotContext) -> int:
    context.user_data.pop(_DECISION, None)
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(t("review.cancelled"), reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


def register(application: Application) -> None:
    application.add_handler(CommandHandler("review", list_cases))
    application.add_handler(CallbackQueryHandler(show_evidence, pattern=EVIDENCE.pattern))
    application.add_handler(CallbackQueryHandler(show_document, pattern=DOCUMENT.pattern))
    with warnings.catch_warnings():
        # PTB notes that per_message=False does not track callback queries per message; the
        # reason is asked per staff member, so that is what is wanted here.
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CallbackQueryHandler(stops_here(ask_reason), pattern=VERDICT.pattern)],
            states={
                _ASK_REASON: [
                    MessageHandler(
                        filters.TEXT & ~filters.COMMAND, first_look_step(decide, cancel, _DECISION)
                    )
                ]
            },
            fallbacks=[CommandHandler("cancel", stops_here(cancel))],
            conversation_timeout=600,
            allow_reentry=True,  # another case's (or question's) button while one waits
        )
    # Ahead of the main group: the reason decides a case, so no other conversation may take
    # it, and a main-menu button tapped instead leaves this step (bot.menu.first_look_step).
    application.add_handler(conversation, group=FIRST_LOOK_GROUP)
