"""Certifying by photo: the ✅ button, the choice of elder, and the selfie itself."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.handlers.common import menu_or_roles, profile_of
from bot.handlers.privacy import ask_consent
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from verification.certification import CertificationResult, Readiness, Selfie
from verification.faces.media import MediaLimits

MAX_SELFIE_BYTES = MediaLimits().max_bytes
_CERTIFYING = "certifying_retiree_id"  # user_data: whom the next picture is for


@menu_action("certify")
async def certify(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    readiness = await services(context).certification.readiness(update.effective_user.id)
    await _answer_readiness(update, context, readiness)


async def elder_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    retiree_id = int(query.data.removeprefix("cert:for:"))
    readiness = await services(context).certification.readiness(update.effective_user.id, retiree_id)
    await _answer_readiness(update, context, readiness)


async def _answer_readiness(update: Update, context: ContextTypes.DEFAULT_TYPE, readiness: Readiness) -> None:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    if readiness.state == "no_consent":
        await ask_consent(update, context, readiness.retiree_id)
        return
    if readiness.state == "choose":
        buttons = [
            [InlineKeyboardButton(name, callback_data=f"cert:for:{rid}")] for rid, name in readiness.choices
        ]
        await message.reply_text(t("cert.choose"), reply_markup=InlineKeyboardMarkup(buttons))
        return
    if readiness.state == "ready":
        context.user_data[_CERTIFYING] = readiness.retiree_id
        text = t("cert.send_selfie", name=readiness.retiree_name)
    else:
        text = t(f"cert.{readiness.state}")
    await message.reply_text(text, reply_markup=menu_or_roles(t, profile))


async def selfie_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    profile, t = await profile_of(update, context)
    if message.photo:
        media, channel, media_type = message.photo[-1], "photo", "image/jpeg"
    else:
        media, channel = message.document, "document"
        media_type = message.document.mime_type or "application/octet-stream"
    if media.file_size and media.file_size > MAX_SELFIE_BYTES:
        # Refused before downloading: a huge file costs us nothing.
        await services(context).certification.refuse_file(
            update.effective_chat.id, channel, "too_large_bytes", media.file_size
        )
        await message.reply_text(t("cert.too_big", limit_mb=MAX_SELFIE_BYTES // 2**20))
        return
    await message.reply_chat_action(ChatAction.TYPING)
    data = bytes(await (await media.get_file()).download_as_bytearray())
    result = await services(context).certification.submit_selfie(
        Selfie(
            idempotency_key=f"tg:{update.effective_chat.id}:{message.message_id}",
            retiree_id=context.user_data.get(_CERTIFYING),
            telegram_user_id=update.effective_user.id,
            chat_id=update.effective_chat.id,
            channel=channel,
            data=data,
            media_type=media_type,
        )
    )
    await message.reply_text(_result_text(t, result), reply_markup=menu_or_roles(t, profile))


def _result_text(t: Translator, result: CertificationResult) -> str:
    if result.outcome == "certified":
        text = t("cert.certified", valid_until=t.date(result.valid_until))
        if result.resumed and result.back_pay_months:
            text += "\n\n" + t("cert.resumed", months="、".join(result.back_pay_months))
        return text
    if result.outcome == "retry":
        return t(f"cert.retry.{result.reason}") + "\n\n" + t("cert.help_offer")
    if result.outcome == "not_matched":
        return t("cert.not_matched", tries=result.tries_left)
    if result.outcome == "review_opened":
        return t("cert.review_opened")
    if result.reason == "choose":
        return t("cert.pick_first")
    return t(f"cert.{result.reason}")


def register(application: Application) -> None:
    application.add_handler(CommandHandler("certify", certify))
    application.add_handler(CallbackQueryHandler(elder_chosen, pattern=r"^cert:for:\d+$"))
    application.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, selfie_received))
