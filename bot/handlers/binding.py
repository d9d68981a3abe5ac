"""🔗 Binding: linking this Telegram account to a retiree (for myself / for a family member),
and 🔑 staff sign-in with a staff code.

Both are short conversations: a question, a typed answer, the result. Every step has a
Cancel button and /cancel; tapping a main-menu button leaves the conversation and does what
the button says; after a few quiet minutes the conversation ends by itself. The ID number is
kept in memory only while the conversation lasts, and never logged.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ConversationHandler,
)

from accounts.binding import BindOutcome, BindResult
from accounts.profiles import Role
from accounts.staff import SignInLocked
from bot.callbacks import Button, OneOf
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of, remember_profile, user_and_chat
from bot.handlers.conversation import (
    cancel_step,
    conversation,
    drop_buttons,
    remove_buttons,
    started_by,
    typed,
)
from bot.keyboards import buttons
from bot.menu import main_menu, menu_action
from bot.services import services
from content.i18n import Translator

ASK_KIND, ASK_ID, ASK_CODE, OFFER_HELPER = range(4)
STAFF_ASK_CODE = 10
TIMEOUT = timedelta(minutes=5)
_PENDING = "binding"  # user_data: {"kind", "id_number", "code"} while the conversation lasts

KIND = Button("bind", OneOf("self", "helper"))
AS_HELPER = Button("bind:as_helper")
CANCEL = Button("bind:cancel")  # binding and staff sign-in: one conversation


def _cancel_only(t: Translator) -> InlineKeyboardMarkup:
    return buttons((t("bind.button.cancel"), CANCEL()))


def _wait_text(t: Translator, until: datetime | None) -> str:
    """'in about N hours' (or minutes): no clock time, so no time zone to get wrong."""
    seconds = max(((until or datetime.now(UTC)) - datetime.now(UTC)).total_seconds(), 60)
    if seconds < 3600:
        return t("bind.wait.minutes", minutes=math.ceil(seconds / 60))
    return t("bind.wait.hours", hours=math.ceil(seconds / 3600))


# ------------------------------------------------------------------ binding


@menu_action("bind")
async def start_binding(update: Update, context: BotContext) -> int:
    _, t = await profile_of(update, context)
    context.user_data.pop(_PENDING, None)
    await update.effective_message.reply_text(
        t("bind.ask_kind"),
        reply_markup=buttons(
            (t("bind.button.self"), KIND("self")),
            (t("bind.button.helper"), KIND("helper")),
            (t("bind.button.cancel"), CANCEL()),
        ),
    )
    return ASK_KIND


async def kind_chosen(update: Update, context: BotContext) -> int:
    query = update.callback_query
    _, t = await profile_of(update, context)
    (kind,) = KIND.of(update)
    await drop_buttons(update)
    context.user_data[_PENDING] = {"kind": kind}
    text = t("bind.ask_id_self") if kind == "self" else t("bind.ask_id_helper")
    await query.message.reply_text(text, reply_markup=_cancel_only(t))
    return ASK_ID


async def id_typed(update: Update, context: BotContext) -> int:
    _, t = await profile_of(update, context)
    text = update.effective_message.text
    problem = services(context).binding.id_number_problem(text)
    if problem is not None:
        await update.effective_message.reply_text(
            t(f"bind.id_problem.{problem.value}") + "\n\n" + t("bind.type_id_again"),
            reply_markup=_cancel_only(t),
        )
        return ASK_ID
    context.user_data.setdefault(_PENDING, {"kind": "self"})["id_number"] = text
    await update.effective_message.reply_text(t("bind.ask_code"), reply_markup=_cancel_only(t))
    return ASK_CODE


async def code_typed(update: Update, context: BotContext) -> int:
    pending = context.user_data.get(_PENDING) or {}
    if "id_number" not in pending:  # lost (e.g. a restart): begin again
        return await start_binding(update, context)
    pending["code"] = update.effective_message.text
    return await _bind(update, context, pending, pending["kind"])


async def bind_as_helper(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    pending = context.user_data.get(_PENDING) or {}
    if "code" not in pending:
        return await start_binding(update, context)
    return await _bind(update, context, pending, "helper")


async def _bind(update: Update, context: BotContext, pending: dict, kind: str) -> int:
    user_id, chat_id = user_and_chat(update)
    result = await services(context).binding.bind(
        user_id, chat_id, pending["id_number"], pending["code"], kind
    )
    profile, t = await profile_of(update, context)
    message = update.effective_message
    outcome = result.outcome
    if outcome is BindOutcome.BOUND:
        context.user_data.pop(_PENDING, None)
        if profile.role is None:
            profile, t = remember_profile(
                context, await services(context).profiles.set_role(user_id, chat_id, Role.RETIREE)
            )
        await message.reply_text(_bound_text(t, result), reply_markup=menu_or_roles(t, profile))
        return ConversationHandler.END
    if outcome is BindOutcome.MALFORMED_CODE:
        await message.reply_text(t("bind.code_malformed"), reply_markup=_cancel_only(t))
        return ASK_CODE
    if outcome is BindOutcome.MALFORMED_ID:
        pending.pop("id_number", None)
        await message.reply_text(t("bind.type_id_again"), reply_markup=_cancel_only(t))
        return ASK_ID
    if outcome is BindOutcome.SELF_TAKEN:
        await message.reply_text(
            t("bind.self_taken", name=result.name),
            reply_markup=buttons(
                (t("bind.button.as_helper"), AS_HELPER()), (t("bind.button.cancel"), CANCEL())
            ),
        )
        return OFFER_HELPER
    # no_match or locked: the same words whatever was wrong.
    pending.pop("id_number", None)
    pending.pop("code", None)
    if result.locked_until is not None:
        context.user_data.pop(_PENDING, None)
        text = t("bind.locked", wait=_wait_text(t, result.locked_until))
        if outcome is BindOutcome.NO_MATCH:
            text = t("bind.no_match") + "\n\n" + text
        await message.reply_text(text, reply_markup=menu_or_roles(t, profile))
        return ConversationHandler.END
    await message.reply_text(
        t("bind.no_match")
        + "\n\n"
        + t("bind.tries_left", tries=result.tries_left)
        + "\n\n"
        + t("bind.type_id_again"),
        reply_markup=_cancel_only(t),
    )
    return ASK_ID


def _bound_text(t: Translator, result: BindResult) -> str:
    if result.already:
        return t("bind.already", name=result.name)
    if result.kind == "helper":
        return t("bind.bound_helper", name=result.name)
    return t("bind.bound_self", name=result.name)


cancel = cancel_step(_PENDING, "bind.cancelled")


async def say_timed_out(update: Update, context: BotContext) -> None:
    """Binding says that it has ended (the ID number typed is forgotten by then)."""
    profile, t = await profile_of(update, context)
    await context.bot.send_message(
        update.effective_chat.id, t("bind.timeout"), reply_markup=menu_or_roles(t, profile)
    )


async def stale_button(update: Update, context: BotContext) -> None:
    """A button of a conversation that has ended (timed out, or the bot restarted)."""
    _, t = await profile_of(update, context)
    await update.callback_query.answer(t("bind.stale_button"), show_alert=True)
    await remove_buttons(update)


# ------------------------------------------------------------------ staff sign-in


@menu_action("staff_login")
async def start_staff_login(update: Update, context: BotContext) -> int:
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(t("staff_login.ask_code"), reply_markup=_cancel_only(t))
    return STAFF_ASK_CODE


async def staff_code_typed(update: Update, context: BotContext) -> int:
    user_id, chat_id = user_and_chat(update)
    profile, t = await profile_of(update, context)
    message = update.effective_message
    try:
        staff = await services(context).staff.sign_in(user_id, message.text)
    except SignInLocked as locked:
        text = t("bind.locked", wait=_wait_text(t, locked.until))
        await message.reply_text(text, reply_markup=menu_or_roles(t, profile))
        return ConversationHandler.END
    if staff is None:
        await message.reply_text(t("staff_login.wrong_code"), reply_markup=_cancel_only(t))
        return STAFF_ASK_CODE
    remember_profile(context, await services(context).profiles.set_role(user_id, chat_id, Role.STAFF))
    await message.reply_text(
        t("staff_login.welcome", name=staff.name, region=staff.region_code),
        reply_markup=main_menu(t, Role.STAFF),
    )
    return ConversationHandler.END


# ------------------------------------------------------------------ registration


def register(application: Application) -> None:
    # One conversation for both flows, so that starting one in the middle of the other
    # (allow_reentry) switches cleanly instead of leaving two half-open.
    binding = conversation(
        "binding",
        entry_points=[
            *started_by("bind", "bind", start_binding),
            *started_by("staff_login", "staff", start_staff_login),
        ],
        states={
            ASK_KIND: [CallbackQueryHandler(kind_chosen, pattern=KIND.pattern)],
            ASK_ID: [typed(id_typed, cancel, _PENDING)],
            ASK_CODE: [typed(code_typed, cancel, _PENDING)],
            OFFER_HELPER: [CallbackQueryHandler(bind_as_helper, pattern=AS_HELPER.pattern)],
            STAFF_ASK_CODE: [typed(staff_code_typed, cancel, _PENDING)],
        },
        cancel=cancel,
        cancel_pattern=CANCEL.pattern,
        pending=_PENDING,
        timeout=TIMEOUT,
        on_timeout=say_timed_out,
    )
    application.add_handler(binding)
    application.add_handler(CallbackQueryHandler(stale_button, pattern=r"^(bind|staff):"))
