"""🧑‍💼 Certification in person: staff (or a community worker with their own phone) certify a
retiree they are with.

One question per message: the retiree's ID number (or the "certify now" button of a home-visit
request), where they are (typed, or one tap), that the retiree agrees to the face check, then
the photo taken there. The photo certifies as staff's own (`Selfie(assisted=True)`): the
certification service records the method, the staff member and the place. The ID number is
never echoed back, only masked.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button, Number, OneOf
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.handlers.conversation import (
    cancel_step,
    conversation,
    drop_buttons,
    receive_photo,
    stale_button,
    started_by,
    typed,
)
from bot.keyboards import buttons
from bot.menu import menu_action
from bot.services import services
from content.i18n import Translator
from verification.care.home_visits import FoundState, RetireeFound
from verification.certification.service import CertificationResult, Outcome, Selfie

ASK_ID, ASK_PLACE, CONFIRM, ASK_PHOTO = range(30, 34)
TIMEOUT = timedelta(minutes=15)
PLACES = ("home_visit", "service_point")  # the one-tap places, stored as these codes
_PENDING = "assisted"  # user_data: {"retiree_id", "name", "place"} while the conversation lasts

CERTIFY_VISIT = Button("assist:visit", Number())  # on a home-visit request (bot.handlers.home_visits)
PLACE = Button("assist:place", OneOf(*PLACES))
AGREES, DECLINES, CANCEL = (Button(f"assist:{word}") for word in ("agrees", "declines", "cancel"))


def _cancel(t: Translator) -> tuple[str, str]:
    return t("care.button.cancel"), CANCEL()


@menu_action("assisted_certify")
async def start(update: Update, context: BotContext) -> int:
    context.user_data.pop(_PENDING, None)
    profile, t = await profile_of(update, context)
    if await services(context).staff.staff_for(update.effective_user.id) is None:
        await update.effective_message.reply_text(
            t("review.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return ConversationHandler.END
    await update.effective_message.reply_text(t("care.assist.ask_id"), reply_markup=buttons(_cancel(t)))
    return ASK_ID


async def from_visit(update: Update, context: BotContext) -> int:
    """The "certify now" button of a home-visit request."""
    await drop_buttons(update)
    (request_id,) = CERTIFY_VISIT.of(update)
    found = await services(context).home_visits.retiree_to_visit(update.effective_user.id, request_id)
    return await _found(update, context, found)


async def id_typed(update: Update, context: BotContext) -> int:
    found = await services(context).home_visits.retiree_by_id_number(
        update.effective_user.id, update.effective_message.text
    )
    return await _found(update, context, found)


async def _found(update: Update, context: BotContext, found: RetireeFound) -> int:
    profile, t = await profile_of(update, context)
    message = update.effective_message
    if found.state is FoundState.FOUND:
        context.user_data[_PENDING] = {"retiree_id": found.retiree_id, "name": found.retiree_name}
        rows = [(t(f"care.assist.place.{place}"), PLACE(place)) for place in PLACES]
        await message.reply_text(
            t("care.assist.ask_place", name=found.retiree_name, masked_id=found.masked_id_number),
            reply_markup=buttons(*rows, _cancel(t)),
        )
        return ASK_PLACE
    if found.state in (FoundState.MALFORMED, FoundState.NOT_FOUND):
        problem = (
            t(f"bind.id_problem.{found.id_problem.value}") if found.id_problem else t("care.assist.not_found")
        )
        await message.reply_text(
            problem + "\n\n" + t("care.assist.type_again"), reply_markup=buttons(_cancel(t))
        )
        return ASK_ID
    key = "review.not_staff" if found.state is FoundState.NOT_STAFF else "care.assist.visit_closed"
    await message.reply_text(t(key), reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


async def place_chosen(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    return await _ask_agreement(update, context, *PLACE.of(update))


async def place_typed(update: Update, context: BotContext) -> int:
    return await _ask_agreement(update, context, update.effective_message.text.strip()[:200])


async def _ask_agreement(update: Update, context: BotContext, place: str) -> int:
    pending = context.user_data.get(_PENDING)
    if not pending:  # lost (a restart): begin again
        return await start(update, context)
    pending["place"] = place
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t("care.assist.ask_agreement", name=pending["name"]),
        reply_markup=buttons(
            (t("care.assist.button.agrees"), AGREES()),
            (t("care.assist.button.declines"), DECLINES()),
        ),
    )
    return CONFIRM


async def agreed(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    pending = context.user_data.get(_PENDING)
    if not pending or "place" not in pending:
        return await start(update, context)
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t("care.assist.send_photo", name=pending["name"]), reply_markup=buttons(_cancel(t))
    )
    return ASK_PHOTO


async def declined(update: Update, context: BotContext) -> int:
    await drop_buttons(update)
    context.user_data.pop(_PENDING, None)
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t("care.assist.declined"), reply_markup=menu_or_roles(t, profile)
    )
    return ConversationHandler.END


async def photo_received(update: Update, context: BotContext) -> int:
    pending = context.user_data.get(_PENDING)
    if not pending or "place" not in pending:
        return await start(update, context)
    message = update.effective_message
    photo = await receive_photo(update, context)
    if photo is None:
        return ASK_PHOTO
    profile, t = await profile_of(update, context)
    result = await services(context).home_visits.certify_in_person(
        Selfie(
            idempotency_key=f"tg:{update.effective_chat.id}:{message.message_id}",
            retiree_id=pending["retiree_id"],
            telegram_user_id=update.effective_user.id,
            chat_id=update.effective_chat.id,
            channel=photo.channel,
            data=photo.data,
            media_type=photo.media_type,
            assisted=True,
            place=pending["place"],
        )
    )
    again = result.outcome in (Outcome.RETRY, Outcome.NOT_MATCHED)
    if not again:
        context.user_data.pop(_PENDING, None)
    markup = buttons(_cancel(t)) if again else menu_or_roles(t, profile)
    await message.reply_text(_result_text(t, result, pending["name"]), reply_markup=markup)
    return ASK_PHOTO if again else ConversationHandler.END


def _result_text(t: Translator, result: CertificationResult, name: str) -> str:
    if result.outcome is Outcome.CERTIFIED:
        return t("care.assist.certified", name=name, valid_until=t.date(result.valid_until))
    if result.outcome == "retry":
        return t(f"cert.retry.{result.reason}") + "\n\n" + t("care.assist.again")
    if result.outcome is Outcome.NOT_MATCHED:
        return t("care.assist.not_matched", tries=result.tries_left)
    if result.outcome is Outcome.REVIEW_OPENED:
        return t("care.assist.review_opened", name=name)
    known = {"not_staff", "no_reference", "unknown_retiree", "busy", "death_reported"}
    return t(f"care.assist.refused.{result.reason if result.reason in known else 'other'}")


async def photo_expected(update: Update, context: BotContext) -> int:
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(t("care.assist.photo_please"), reply_markup=buttons(_cancel(t)))
    return ASK_PHOTO


cancel = cancel_step(_PENDING, "care.cancelled")


def register(application: Application) -> None:
    # Buttons are entry points too: the menu button may have been tapped in the middle of
    # another conversation (bot.menu.leave_for_menu), which starts this one outside it.
    taps = [
        CallbackQueryHandler(place_chosen, pattern=PLACE.pattern),
        CallbackQueryHandler(agreed, pattern=AGREES.pattern),
        CallbackQueryHandler(declined, pattern=DECLINES.pattern),
    ]
    assisted = conversation(
        "assisted",
        entry_points=[
            *started_by("assisted_certify", "assist", start),
            CallbackQueryHandler(from_visit, pattern=CERTIFY_VISIT.pattern),
            *taps,
        ],
        states={
            ASK_ID: [typed(id_typed, cancel, _PENDING)],
            ASK_PLACE: [typed(place_typed, cancel, _PENDING), *taps],
            CONFIRM: taps,
            ASK_PHOTO: [
                MessageHandler(filters.PHOTO | filters.Document.IMAGE, photo_received),
                typed(photo_expected, cancel, _PENDING),
            ],
        },
        cancel=cancel,
        cancel_pattern=CANCEL.pattern,
        pending=_PENDING,
        timeout=TIMEOUT,
    )
    application.add_handler(assisted)
    application.add_handler(CallbackQueryHandler(stale_button("care.stale_button"), pattern=r"^assist:"))
