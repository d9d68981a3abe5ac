"""🔒 My data: what is held, the consent to face recognition, and withdrawing it.

`ask_consent` shows the consent text (called by the certification handler when a bound
retiree without consent taps ✅); the buttons under it record the decision. The privacy
screen lists what is held per bound retiree, with a button to withdraw consent and delete
the face data, behind one confirmation step.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from accounts.consent import CONSENT_TEXT_VERSION, DECISIONS, NotBound, PrivacySummary
from bot import keyboards
from bot.callbacks import Button, Number, OneOf
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from verification.signals.data_matching import NotBound as DataMatchingNotBound

CONSENT = Button("consent", OneOf(*DECISIONS), Number())
WITHDRAW = Button("privacy:withdraw", Number())
WITHDRAW_CONFIRMED = Button("privacy:confirm", Number())
KEEP = Button("privacy:keep")
DATA_MATCHING = Button("privacy:data", OneOf("on", "off"), Number())


async def ask_consent(update: Update, context: BotContext, retiree_id: int) -> None:
    """The consent screen for one retiree, with its three answers as inline buttons."""
    _, t = await profile_of(update, context)
    answers = [(t(f"consent.button.{answer}"), CONSENT(answer, retiree_id)) for answer in DECISIONS]
    await update.effective_message.reply_text(
        t("consent.text", version=CONSENT_TEXT_VERSION), reply_markup=keyboards.buttons(*answers)
    )


async def consent_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    profile, t = await profile_of(update, context)
    decision, retiree_id = CONSENT.of(update)
    try:
        await services(context).consent.record(update.effective_user.id, retiree_id, decision)
    except NotBound:
        await query.answer(t("privacy.not_yours"), show_alert=True)
        return
    await query.answer()
    await _drop_buttons(query)
    texts = {"agree": t("consent.agreed"), "not_now": t("consent.not_now"), "no_face": t("consent.no_face")}
    await query.message.reply_text(texts[decision], reply_markup=menu_or_roles(t, profile))


@menu_action("privacy")
async def show_privacy(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    summaries = await services(context).consent.privacy_summary(update.effective_user.id)
    message = update.effective_message
    if not summaries:
        await message.reply_text(t("privacy.not_bound"), reply_markup=menu_or_roles(t, profile))
        return
    text = "\n\n".join([t("privacy.header"), *(_summary_text(t, summary) for summary in summaries)])
    choices = await services(context).data_matching.choices(update.effective_user.id)
    for choice in choices:
        state = "signals.privacy.data_matching_on" if choice.allowed else "signals.privacy.data_matching_off"
        text += "\n\n" + (choice.name + "：" if len(choices) > 1 else "") + t(state)
    text += "\n\n" + t("privacy.retention")
    buttons = [
        [
            InlineKeyboardButton(
                t("privacy.button.withdraw")
                if len(summaries) == 1
                else t("privacy.button.withdraw_for", name=summary.name),
                callback_data=WITHDRAW(summary.retiree_id),
            )
        ]
        for summary in summaries
        if summary.consent_state == "agree" or summary.face_templates or summary.stored_photos
    ]
    buttons += [
        [
            InlineKeyboardButton(
                t("signals.button.data_matching_off" if choice.allowed else "signals.button.data_matching_on")
                + ("" if len(choices) == 1 else f" · {choice.name}"),
                callback_data=DATA_MATCHING("off" if choice.allowed else "on", choice.retiree_id),
            )
        ]
        for choice in choices
    ]
    markup = InlineKeyboardMarkup(buttons) if buttons else menu_or_roles(t, profile)
    await message.reply_text(text, reply_markup=markup)


def _summary_text(t: Translator, s: PrivacySummary) -> str:
    consent = {
        "none": t("privacy.consent.none"),
        "agree": t("privacy.consent.agree", on=s.consent_on),
        "not_now": t("privacy.consent.not_now", on=s.consent_on),
        "no_face": t("privacy.consent.no_face", on=s.consent_on),
        "withdrawn": t("privacy.consent.withdrawn", on=s.consent_on),
    }[s.consent_state]
    return t(
        "privacy.summary",
        name=s.name,
        masked_id=s.masked_id_number,
        phone=t("privacy.phone.yes") if s.phone_on_file else t("privacy.phone.no"),
        templates=s.face_templates,
        photos=s.stored_photos,
        attempts=s.attempts,
        certifications=s.certifications,
        consent=consent,
        pension_region=s.pension_region,
        residence_region=s.residence_region,
        accounts=s.linked_accounts,
    )


async def withdraw_asked(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _, t = await profile_of(update, context)
    (retiree_id,) = WITHDRAW.of(update)
    await query.answer()
    buttons = keyboards.buttons(
        (t("privacy.button.confirm"), WITHDRAW_CONFIRMED(retiree_id)), (t("privacy.button.keep"), KEEP())
    )
    await query.message.reply_text(t("privacy.confirm_withdraw"), reply_markup=buttons)


async def withdraw_confirmed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    profile, t = await profile_of(update, context)
    (retiree_id,) = WITHDRAW_CONFIRMED.of(update)
    try:
        report = await services(context).consent.withdraw(retiree_id, update.effective_user.id)
    except NotBound:
        await query.answer(t("privacy.not_yours"), show_alert=True)
        return
    await query.answer()
    await _drop_buttons(query)
    await query.message.reply_text(
        t("privacy.withdrawn", templates=report.templates_deleted, photos=report.photos_deleted),
        reply_markup=menu_or_roles(t, profile),
    )


async def withdraw_kept(update: Update, context: BotContext) -> None:
    query = update.callback_query
    profile, t = await profile_of(update, context)
    await query.answer()
    await _drop_buttons(query)
    await query.message.reply_text(t("privacy.kept"), reply_markup=menu_or_roles(t, profile))


async def _drop_buttons(query) -> None:
    """Take the buttons off a message once answered, so it cannot be pressed twice."""
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest:  # already without buttons (a double tap): nothing to do
        pass


async def data_matching_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    profile, t = await profile_of(update, context)
    choice, retiree_id = DATA_MATCHING.of(update)
    try:
        await services(context).data_matching.choose(update.effective_user.id, retiree_id, choice == "on")
    except DataMatchingNotBound:
        await query.answer(t("privacy.not_yours"), show_alert=True)
        return
    await query.answer()
    await _drop_buttons(query)
    await query.message.reply_text(
        t(f"signals.privacy.changed_{choice}"), reply_markup=menu_or_roles(t, profile)
    )


def register(application: Application) -> None:
    application.add_handler(CommandHandler("privacy", show_privacy))
    application.add_handler(CallbackQueryHandler(consent_chosen, pattern=CONSENT.pattern))
    application.add_handler(CallbackQueryHandler(withdraw_asked, pattern=WITHDRAW.pattern))
    application.add_handler(CallbackQueryHandler(withdraw_confirmed, pattern=WITHDRAW_CONFIRMED.pattern))
    application.add_handler(CallbackQueryHandler(withdraw_kept, pattern=KEEP.pattern))
    application.add_handler(CallbackQueryHandler(data_matching_chosen, pattern=DATA_MATCHING.pattern))
