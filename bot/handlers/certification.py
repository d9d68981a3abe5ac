"""Certifying: the ✅ button, the choice of elder, the challenge, and the video note itself.

A retiree on their own certifies with a round video note doing the actions asked (liveness);
a photo sent here is answered with how to film one. Staff certify by photo in person
(bot/handlers/assisted.py)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button, Number
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.handlers.privacy import ask_consent
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from verification.certification.challenges import CHALLENGE_LIFETIME, Challenge
from verification.certification.service import (
    CertificationResult,
    Outcome,
    Readiness,
    ReadinessState,
    VideoNote,
)
from verification.liveness.video import VideoLimits

MAX_VIDEO_BYTES = VideoLimits().max_bytes
# Refusals with their own words in the liveness catalog.
LIVENESS_REFUSALS = frozenset(
    {"challenge_expired", "no_challenge", "challenge_used", "replay", "forwarded", "busy"}
)
# What a person is told when they cannot certify by phone now (READY and CHOOSE have their
# own screens); every other state has its words here (a test holds it for both languages).
NOT_READY_TEXT = {
    ReadinessState.NOT_BOUND: "cert.not_bound",
    ReadinessState.NO_CONSENT: "cert.no_consent",
    ReadinessState.NO_REFERENCE: "cert.no_reference",
    ReadinessState.IN_REVIEW: "cert.in_review",
    ReadinessState.IN_PERSON_NEEDED: "cert.in_person_needed",
    ReadinessState.NOT_STAFF: "care.assist.refused.not_staff",
    ReadinessState.UNKNOWN_RETIREE: "care.assist.refused.unknown_retiree",
    ReadinessState.DEATH_REPORTED: "care.assist.refused.death_reported",
}
_CERTIFYING = "certifying_retiree_id"  # user_data: whom the next picture is for
FOR_RETIREE = Button("cert:for", Number())


@menu_action("certify")
async def certify(update: Update, context: BotContext) -> None:
    readiness, challenge = await services(context).certification.start(update.effective_user.id)
    await _answer_readiness(update, context, readiness, challenge)


async def elder_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    await query.answer()
    (retiree_id,) = FOR_RETIREE.of(update)
    readiness, challenge = await services(context).certification.start(update.effective_user.id, retiree_id)
    await _answer_readiness(update, context, readiness, challenge)


async def _answer_readiness(
    update: Update, context: BotContext, readiness: Readiness, challenge: Challenge | None
) -> None:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    if readiness.state is ReadinessState.NO_CONSENT:
        await ask_consent(update, context, readiness.retiree_id)
        return
    if readiness.state is ReadinessState.CHOOSE:
        buttons = [
            [InlineKeyboardButton(name, callback_data=FOR_RETIREE(rid))] for rid, name in readiness.choices
        ]
        await message.reply_text(t("cert.choose"), reply_markup=InlineKeyboardMarkup(buttons))
        return
    if readiness.state is ReadinessState.READY:
        context.user_data[_CERTIFYING] = readiness.retiree_id
        text = challenge_text(t, challenge, readiness.retiree_name)
    else:
        text = t(NOT_READY_TEXT[readiness.state])
    await message.reply_text(text, reply_markup=menu_or_roles(t, profile))


async def video_note_received(update: Update, context: BotContext) -> None:
    message = update.effective_message
    profile, t = await profile_of(update, context)
    video = message.video_note or message.video
    if video.file_size and video.file_size > MAX_VIDEO_BYTES:
        await services(context).certification.refuse_file(
            update.effective_chat.id, "video_note", "too_large", video.file_size
        )
        await message.reply_text(t("live.retry.too_large"), reply_markup=menu_or_roles(t, profile))
        return
    await message.reply_chat_action(ChatAction.TYPING)
    data = bytes(await (await video.get_file()).download_as_bytearray())
    result = await services(context).certification.submit_video(
        VideoNote(
            idempotency_key=f"tg:{update.effective_chat.id}:{message.message_id}",
            retiree_id=context.user_data.get(_CERTIFYING),
            telegram_user_id=update.effective_user.id,
            chat_id=update.effective_chat.id,
            data=data,
            forwarded=message.forward_origin is not None,
        )
    )
    await message.reply_text(video_result_text(t, result), reply_markup=menu_or_roles(t, profile))


async def photo_received(update: Update, context: BotContext) -> None:
    """A photo or file sent outside any conversation. On their own, retirees certify by video
    note (a photo alone passes only when staff take it in person: bot/handlers/assisted.py),
    so it is not even downloaded: the person is told how to film one."""
    profile, t = await profile_of(update, context)
    text = t("live.video_needed") + "\n\n" + t("live.help_offer")
    await update.effective_message.reply_text(text, reply_markup=menu_or_roles(t, profile))


def _result_text(t: Translator, result: CertificationResult) -> str:
    if result.outcome is Outcome.CERTIFIED:
        text = t("cert.certified", valid_until=t.date(result.valid_until))
        if result.resumed and result.back_pay_months:
            text += "\n\n" + t("cert.resumed", months="、".join(result.back_pay_months))
        return text
    if result.outcome is Outcome.REVIEW_OPENED:
        return t("cert.review_opened")
    if result.reason == ReadinessState.CHOOSE:
        return t("cert.pick_first")
    return t(NOT_READY_TEXT.get(result.reason, f"cert.{result.reason}"))


def challenge_text(t: Translator, challenge: Challenge, name: str | None = None) -> str:
    """What to film, one numbered line per action; stepwise challenges ask for one action."""
    steps = "\n".join(
        f"{n}. {t(f'live.action.{action}')}" for n, action in enumerate(challenge.asked_now, start=1)
    )
    valid = t("live.challenge.valid", minutes=int(CHALLENGE_LIFETIME.total_seconds() // 60))
    if challenge.mode == "stepwise":
        return t("live.challenge.stepwise", action=steps.removeprefix("1. ")) + "\n\n" + valid
    intro = t("live.challenge", name=name) if name else t("live.challenge.again")
    pace = t("live.challenge.pace") + "\n" + valid
    return intro + "\n\n" + steps + "\n\n" + pace + "\n\n" + t("live.how_to_record")


def video_result_text(t: Translator, result: CertificationResult) -> str:
    if result.outcome is Outcome.NEXT_STEP:
        text = t("live.next_step", action=t(f"live.action.{result.next_actions[0]}"))
    elif result.outcome is Outcome.NOT_PASSED:
        text = t(f"live.fail.{result.reason}", tries=result.tries_left)
        if result.missing_actions:
            missing = "、".join(t(f"live.short.{action}") for action in result.missing_actions)
            text += "\n" + t("live.not_seen", actions=missing)
        text += "\n\n" + t("live.help_offer")
    elif result.outcome is Outcome.RETRY:
        text = t(f"live.retry.{result.reason}")
    elif result.outcome is Outcome.REFUSED and result.reason in LIVENESS_REFUSALS:
        text = t(f"live.refused.{result.reason}")
    else:
        text = _result_text(t, result)
    if result.challenge is not None:
        text += "\n\n" + challenge_text(t, result.challenge)
    return text


def register(application: Application) -> None:
    application.add_handler(CommandHandler("certify", certify))
    application.add_handler(CallbackQueryHandler(elder_chosen, pattern=FOR_RETIREE.pattern))
    application.add_handler(MessageHandler(filters.VIDEO_NOTE | filters.VIDEO, video_note_received))
    application.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, photo_received))
