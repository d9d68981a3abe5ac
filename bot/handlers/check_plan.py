"""📋 核查计划 in the bot: community staff see the checks on site assigned to them and record
what each found (verification/checkplan/service.py); staff of a region assign its proposed
checks to a colleague who serves it, chosen by staff number from a list of buttons.

A result is two taps: what was found, then a confirmation that says what it will do (being
seen certifies the retiree). /checks opens the same screen as the menu button.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import Button, Number, OneOf
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of, staff_items
from bot.handlers.conversation import drop_buttons
from bot.keyboards import buttons
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from kernel.permissions import NotStaff
from verification.checkplan.service import AssignOutcome, CheckResult, CheckView, Recorded, RecordOutcome

RESULTS = tuple(result.value for result in CheckResult)
FOUND = Button("ck:res", Number(), OneOf(*RESULTS))  # what was found: asks to confirm
CONFIRM = Button("ck:ok", Number(), OneOf(*RESULTS))
BACK = Button("ck:back", Number())
UNASSIGNED = Button("ck:open")  # the proposed checks nobody is assigned to yet
PICK = Button("ck:pick", Number())  # whom to assign a check to
ASSIGN = Button("ck:to", Number(), Number())  # check id, staff id

RECORDED_TEXT = {outcome: f"checkplan.recorded.{outcome}" for outcome in RecordOutcome}
ASSIGNED_TEXT = {outcome: f"checkplan.assigned.{outcome}" for outcome in AssignOutcome}


async def _say(update: Update, context: BotContext, text_key: str, **values: object) -> None:
    """A closing reply, with the main menu."""
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(t(text_key, **values), reply_markup=menu_or_roles(t, profile))


def check_text(t: Translator, check: CheckView) -> str:
    lines = [t(f"checkplan.reason.{r['code']}", value=r.get("value")) for r in check.reasons if r.get("code")]
    return t(
        "checkplan.item",
        check_id=check.check_id,
        quarter=check.quarter,
        name=check.retiree_name,
        masked_id=check.masked_id_number,
        region=check.region,
        score=check.score,
        reasons="\n".join(f"• {line}" for line in lines) or t("checkplan.no_reasons"),
    )


@menu_action("check_plan")
async def my_checks(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    load = services(context).check_plan.my_checks
    checks = await staff_items(update, context, load, none_key=None)
    for check in checks:
        rows = [(t(f"checkplan.button.{result}"), FOUND(check.check_id, result)) for result in RESULTS]
        await message.reply_text(check_text(t, check), reply_markup=buttons(*rows))
    key = "checkplan.mine.some" if checks else "checkplan.mine.none"
    await message.reply_text(
        t(key, count=len(checks)), reply_markup=buttons((t("checkplan.button.open"), UNASSIGNED()))
    )


async def ask_confirmation(update: Update, context: BotContext) -> None:
    await drop_buttons(update)
    check_id, result = FOUND.of(update)
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t(f"checkplan.confirm.{result}", check_id=check_id),
        reply_markup=buttons(
            (t("checkplan.button.confirm"), CONFIRM(check_id, result)),
            (t("checkplan.button.back"), BACK(check_id)),
        ),
    )


async def record(update: Update, context: BotContext) -> None:
    await drop_buttons(update)
    check_id, result = CONFIRM.of(update)
    profile, t = await profile_of(update, context)
    try:
        recorded = await services(context).check_plan.record(
            update.effective_user.id, check_id, CheckResult(result)
        )
    except NotStaff:
        await _say(update, context, "review.not_staff")
        return
    await update.effective_message.reply_text(
        recorded_text(t, recorded), reply_markup=menu_or_roles(t, profile)
    )


def recorded_text(t: Translator, recorded: Recorded) -> str:
    text = t(
        RECORDED_TEXT[recorded.outcome],
        check_id=recorded.check_id,
        name=recorded.retiree_name,
        valid_until=t.date(recorded.valid_until) if recorded.valid_until else "",
        case_id=recorded.review_case_id,
    )
    return text + "\n" + t("checkplan.recorded.resumed") if recorded.resumed else text


async def back(update: Update, context: BotContext) -> None:
    await drop_buttons(update)
    (check_id,) = BACK.of(update)
    await _say(update, context, "checkplan.back", check_id=check_id)


async def unassigned(update: Update, context: BotContext) -> None:
    await drop_buttons(update)
    _, t = await profile_of(update, context)
    load = services(context).check_plan.unassigned
    for check in await staff_items(update, context, load, none_key="checkplan.open.none"):
        await update.effective_message.reply_text(
            check_text(t, check), reply_markup=buttons((t("checkplan.button.pick"), PICK(check.check_id)))
        )


async def pick(update: Update, context: BotContext) -> None:
    await drop_buttons(update)
    (check_id,) = PICK.of(update)
    _, t = await profile_of(update, context)
    try:
        colleagues = await services(context).check_plan.colleagues(update.effective_user.id, check_id)
    except NotStaff:
        await _say(update, context, "review.not_staff")
        return
    if not colleagues:
        await _say(update, context, "checkplan.pick.none")
        return
    rows = [(f"{c.staff_number} {c.name}", ASSIGN(check_id, c.staff_id)) for c in colleagues]
    await update.effective_message.reply_text(
        t("checkplan.pick", check_id=check_id), reply_markup=buttons(*rows)
    )


async def assign(update: Update, context: BotContext) -> None:
    await drop_buttons(update)
    check_id, staff_id = ASSIGN.of(update)
    try:
        done = await services(context).check_plan.assign_to(
            check_id, staff_id, by_user=update.effective_user.id
        )
    except NotStaff:
        await _say(update, context, "review.not_staff")
        return
    key = ASSIGNED_TEXT[done.outcome]
    await _say(update, context, key, check_id=check_id, number=done.staff_number, name=done.staff_name)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("checks", my_checks))
    # What the bot did not send matches no pattern: the catch-all refuses it (bot.callbacks).
    application.add_handler(CallbackQueryHandler(ask_confirmation, pattern=FOUND.pattern))
    application.add_handler(CallbackQueryHandler(record, pattern=CONFIRM.pattern))
    application.add_handler(CallbackQueryHandler(back, pattern=BACK.pattern))
    application.add_handler(CallbackQueryHandler(unassigned, pattern=UNASSIGNED.pattern))
    application.add_handler(CallbackQueryHandler(pick, pattern=PICK.pattern))
    application.add_handler(CallbackQueryHandler(assign, pattern=ASSIGN.pattern))
