"""⚠️ 疑似冒领 in the bot: suspected false claims (a death recorded before a certification or a
life signal), for staff of the retiree's region. Each shows the death record and every piece
of evidence after it side by side, the certification's video or photo on request, and three
buttons: confirm it, or dismiss it for one of the two reasons that explain it. The service
audits every look and decision."""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import Button, Number, OneOf
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.handlers.conversation import remove_buttons
from bot.keyboards import buttons
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from kernel.permissions import NotStaff
from verification.signals.suspicions import DISMISS_REASONS, SuspicionView

DECIDE = Button("suspicion", OneOf("confirm", *DISMISS_REASONS), Number())
SHOW_EVIDENCE = Button("suspicion:media", Number())


def suspicion_text(t: Translator, view: SuspicionView) -> str:
    lines = []
    for item in view.evidence:
        on = t.date(_day(item["on"]))
        if item["kind"] == "certification":
            lines.append(
                t("signals.suspicion.certification", on=on, method=t(f"signals.method.{item['method']}"))
            )
        else:
            lines.append(t("signals.suspicion.signal", on=on, source=t(f"signals.source.{item['source']}")))
    return t(
        "signals.suspicion.item",
        suspicion_id=view.suspicion_id,
        name=view.retiree_name,
        masked_id=view.masked_id_number,
        died_on=t.date(view.died_on),
        source=t(f"signals.source.{view.death_source}"),
        evidence="\n".join(f"• {line}" for line in lines),
    )


def _day(text: str) -> date:
    return date.fromisoformat(text)


@menu_action("false_claims")
async def list_suspicions(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    try:
        views = await services(context).suspicions.open_for_staff(update.effective_user.id)
    except NotStaff:
        await message.reply_text(t("review.not_staff"), reply_markup=menu_or_roles(t, profile))
        return
    if not views:
        await message.reply_text(t("signals.suspicion.none"), reply_markup=menu_or_roles(t, profile))
        return
    for view in views:
        rows = [
            (
                t("signals.suspicion.button.media", on=t.date(_day(item["on"]))),
                SHOW_EVIDENCE(item["attempt_id"]),
            )
            for item in view.evidence
            if item["kind"] == "certification" and item.get("attempt_id")
        ]
        rows.append((t("signals.suspicion.button.confirm"), DECIDE("confirm", view.suspicion_id)))
        rows += [
            (t(f"signals.suspicion.button.{reason}"), DECIDE(reason, view.suspicion_id))
            for reason in DISMISS_REASONS
        ]
        await message.reply_text(suspicion_text(t, view), reply_markup=buttons(*rows))


async def show_evidence(update: Update, context: BotContext) -> None:
    (attempt_id,) = SHOW_EVIDENCE.of(update)
    await update.callback_query.answer()
    profile, t = await profile_of(update, context)
    try:
        evidence = await services(context).review.evidence(update.effective_user.id, attempt_id)
    except NotStaff:
        await update.effective_message.reply_text(
            t("review.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return
    message = update.effective_message
    if evidence is None:
        await message.reply_text(t("signals.suspicion.no_media"))
    elif evidence.is_video:
        await message.reply_video(evidence.data, caption=t("signals.suspicion.media_caption"))
    else:
        await message.reply_photo(evidence.data, caption=t("signals.suspicion.media_caption"))


async def decide(update: Update, context: BotContext) -> None:
    verb, suspicion_id = DECIDE.of(update)
    await update.callback_query.answer()
    profile, t = await profile_of(update, context)
    try:
        decided = await services(context).suspicions.decide(
            update.effective_user.id, suspicion_id, verb == "confirm", verb
        )
    except NotStaff:
        await update.effective_message.reply_text(
            t("review.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return
    await remove_buttons(update)
    key = f"signals.suspicion.decided.{verb}" if decided else "signals.suspicion.already_decided"
    await update.effective_message.reply_text(
        t(key, suspicion_id=suspicion_id), reply_markup=menu_or_roles(t, profile)
    )


def register(application: Application) -> None:
    application.add_handler(CommandHandler("false_claims", list_suspicions))
    application.add_handler(CallbackQueryHandler(show_evidence, pattern=SHOW_EVIDENCE.pattern))
    application.add_handler(CallbackQueryHandler(decide, pattern=DECIDE.pattern))
