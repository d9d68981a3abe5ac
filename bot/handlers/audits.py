"""🕵 抽查复核 in the bot: staff audit self-service passes after the fact (verification/
pass_audit.py). /audits lists the open audits of the staff member's region, oldest first:
for each, the reference photo and the video note, one after the other as the review shows
them, then the reasons in plain words with two buttons: ✅ the pass is right, or ⚠️ open a
review case (decided in 🗂 待审核 like any other). The service audits every look and decision.
"""

from __future__ import annotations

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
from verification.certification.pass_audit import AuditDecision, AuditVerdict, AuditView
from verification.certification.pass_risk import COUNTED_REASONS

AUDIT_DECISION = Button("audit", OneOf("ok", "case"), Number())


def audit_text(t: Translator, audit: AuditView) -> str:
    lines = [t(f"audit.reason.{r['code']}", value=_figure(r)) for r in audit.reasons if r.get("code")] or [
        t("audit.no_reasons")
    ]
    if audit.sampled:
        lines.append(t("audit.sampled"))
    if audit.reference_photo is None:
        lines.append(t("audit.no_reference"))
    if audit.video is None:
        lines.append(t("audit.no_video"))
    return t(
        "audit.item",
        audit_id=audit.audit_id,
        name=audit.retiree_name,
        masked_id=audit.masked_id_number,
        region=audit.residence_region,
        at=audit.certified_at.strftime("%Y-%m-%d %H:%M"),
        score=audit.score,
        reasons="\n".join(f"• {line}" for line in lines),
    )


def _figure(reason: dict) -> str:
    value = reason.get("value")
    if reason.get("code") in COUNTED_REASONS and isinstance(value, int | float):
        return str(round(value))
    return ""


@menu_action("audits")
async def list_audits(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    try:
        queue = await services(context).audits.queue(update.effective_user.id)
    except NotStaff:
        await message.reply_text(t("review.not_staff"), reply_markup=menu_or_roles(t, profile))
        return
    if not queue.audits:
        await message.reply_text(t("audit.none"), reply_markup=menu_or_roles(t, profile))
        return
    for audit in queue.audits:
        if audit.reference_photo:
            await message.reply_photo(
                audit.reference_photo, caption=t("audit.reference_caption", audit_id=audit.audit_id)
            )
        if audit.video:
            await message.reply_video(audit.video, caption=t("audit.video_caption", audit_id=audit.audit_id))
        await message.reply_text(
            audit_text(t, audit),
            reply_markup=buttons(
                (t("audit.button.confirm"), AUDIT_DECISION("ok", audit.audit_id)),
                (t("audit.button.review"), AUDIT_DECISION("case", audit.audit_id)),
            ),
        )
    if queue.more:
        await message.reply_text(t("audit.more", count=queue.more), reply_markup=menu_or_roles(t, profile))


async def decide(update: Update, context: BotContext) -> None:
    verb, audit_id = AUDIT_DECISION.of(update)
    await update.callback_query.answer()
    profile, t = await profile_of(update, context)
    audits = services(context).audits
    try:
        if verb == "ok":
            decision = await audits.confirm(update.effective_user.id, audit_id)
        else:
            decision = await audits.open_review(update.effective_user.id, audit_id)
    except NotStaff:
        await update.effective_message.reply_text(
            t("review.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return
    await remove_buttons(update)
    await update.effective_message.reply_text(
        _decided_text(t, audit_id, decision), reply_markup=menu_or_roles(t, profile)
    )


def _decided_text(t: Translator, audit_id: int, decision: AuditDecision | None) -> str:
    if decision is None:
        return t("audit.already_decided", audit_id=audit_id)
    if decision.state is AuditVerdict.CONFIRMED:
        return t("audit.confirmed", audit_id=audit_id, name=decision.retiree_name)
    return t(
        "audit.review_opened", audit_id=audit_id, name=decision.retiree_name, case_id=decision.review_case_id
    )


def register(application: Application) -> None:
    application.add_handler(CommandHandler("audits", list_audits))
    # What the bot did not send matches no pattern: the catch-all refuses it (bot.callbacks).
    application.add_handler(CallbackQueryHandler(decide, pattern=AUDIT_DECISION.pattern))
