"""Publicity in the bot: the article library by topic, subscriptions (one tap each), and
the staff's campaigns (/campaign new, /campaigns)."""

from __future__ import annotations

from datetime import timedelta

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button, Number, OneOf, Word, refuse
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.menu import first_look_step, menu_action
from bot.services import services
from content.i18n import Translator
from content.publicity.articles import TOPICS, article, articles_in, topics_for
from content.publicity.service import PAUSABLE, UNFINISHED, CampaignStatus, CampaignView, Segment
from kernel.permissions import NotStaff

_TEXT = 1
GROUP = -1  # before certification's photo handler; each step stops the update there

ROLES = (None, "retiree", "employer", "staff")
LANGUAGES = (None, "zh_Hans", "en")
DUE = (None, 7, 30)

TOPIC = Button("pub:topic", OneOf(*TOPICS))
ARTICLE = Button("pub:art", Word())  # an article may have been withdrawn since: looked up
SUBSCRIPTIONS = Button("pub:subs")
SUBSCRIPTION = Button("pub:sub", OneOf(*TOPICS))  # toggles; offered only for the person's role
SEGMENT_FIELDS = ("topic", "role", "lang", "region", "due", "cert")
CAMPAIGN = Button("cmp", Number(), OneOf(*SEGMENT_FIELDS, "preview", "now", "1h", "tmr", "pause", "cancel"))


def _next(values: tuple, current):
    return values[(values.index(current) + 1) % len(values)] if current in values else values[0]


# The library and subscriptions
def _library_buttons(t: Translator, topics) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(t(f"publicity.topic.{topic}"), callback_data=TOPIC(topic))] for topic in topics
    ]
    rows.append([InlineKeyboardButton(t("publicity.button.subscriptions"), callback_data=SUBSCRIPTIONS())])
    return InlineKeyboardMarkup(rows)


def _subscription_buttons(t: Translator, topics, subscribed: set[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(
                        "publicity.sub.on" if topic in subscribed else "publicity.sub.off",
                        topic=t(f"publicity.topic.{topic}"),
                    ),
                    callback_data=SUBSCRIPTION(topic),
                )
            ]
            for topic in topics
        ]
    )


@menu_action("publicity")
async def library(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t("publicity.library"), reply_markup=_library_buttons(t, topics_for(profile.role))
    )


async def show_topic(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _, t = await profile_of(update, context)
    (topic,) = TOPIC.of(update)
    await query.answer()
    buttons = [
        [InlineKeyboardButton(t(f"publicity.article.{a.id}.title"), callback_data=ARTICLE(a.id))]
        for a in articles_in(topic)
    ]
    await query.message.reply_text(
        t("publicity.topic_intro", topic=t(f"publicity.topic.{topic}")),
        reply_markup=InlineKeyboardMarkup(buttons),
    )


def article_text(t: Translator, article_id: str) -> str:
    return t(
        "publicity.article_layout",
        title=t(f"publicity.article.{article_id}.title"),
        body=t(f"publicity.article.{article_id}.body"),
        source=t(f"publicity.article.{article_id}.source"),
    )


async def show_article(update: Update, context: BotContext) -> None:
    query = update.callback_query
    profile, t = await profile_of(update, context)
    found = article(*ARTICLE.of(update))
    if found is None:
        await refuse(update, context, "pub")
        return
    await query.answer()
    await query.message.reply_text(article_text(t, found.id), reply_markup=menu_or_roles(t, profile))


async def show_subscriptions(update: Update, context: BotContext) -> None:
    query = update.callback_query
    await query.answer()
    profile, t = await profile_of(update, context)
    subscribed = await services(context).publicity.topics_of(update.effective_user.id)
    await query.message.reply_text(
        t("publicity.subscriptions"),
        reply_markup=_subscription_buttons(t, topics_for(profile.role), subscribed),
    )


async def toggle_subscription(update: Update, context: BotContext) -> None:
    query = update.callback_query
    profile, t = await profile_of(update, context)
    (topic,) = SUBSCRIPTION.of(update)
    if topic not in topics_for(profile.role):
        await refuse(update, context, "pub")
        return
    publicity = services(context).publicity
    now_on = await publicity.toggle(update.effective_user.id, topic)
    await query.answer(t("publicity.subscribed" if now_on else "publicity.unsubscribed"))
    subscribed = await publicity.topics_of(update.effective_user.id)
    await query.edit_message_reply_markup(_subscription_buttons(t, topics_for(profile.role), subscribed))


# Campaigns (staff)
async def _not_staff(update: Update, t: Translator) -> None:
    await update.effective_message.reply_text(t("campaign.not_staff"))


async def campaign_command(update: Update, context: BotContext) -> int:
    _, t = await profile_of(update, context)
    if not await services(context).publicity.is_staff(update.effective_user.id):
        await _not_staff(update, t)
        raise ApplicationHandlerStop(ConversationHandler.END)
    if context.args[:1] != ["new"]:
        await update.effective_message.reply_text(t("campaign.usage"))
        raise ApplicationHandlerStop(ConversationHandler.END)
    await update.effective_message.reply_text(t("campaign.ask_text"), reply_markup=ForceReply())
    raise ApplicationHandlerStop(_TEXT)


async def campaign_text(update: Update, context: BotContext) -> int:
    _, t = await profile_of(update, context)
    message = update.effective_message
    photo = message.photo[-1].file_id if message.photo else None
    text = (message.caption if photo else message.text) or ""
    if not text.strip():
        await message.reply_text(t("campaign.ask_text"), reply_markup=ForceReply())
        raise ApplicationHandlerStop(_TEXT)
    try:
        campaign_id = await services(context).publicity.create(
            update.effective_user.id, TOPICS[0], text, Segment(), photo=photo
        )
    except NotStaff:
        await _not_staff(update, t)
        raise ApplicationHandlerStop(ConversationHandler.END) from None
    view = await services(context).publicity.preview(update.effective_user.id, campaign_id)
    await message.reply_text(_segment_text(t, view), reply_markup=_segment_buttons(t, view))
    raise ApplicationHandlerStop(ConversationHandler.END)


async def campaign_cancel(update: Update, context: BotContext) -> int:
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t("campaign.cancelled_compose"), reply_markup=menu_or_roles(t, profile)
    )
    raise ApplicationHandlerStop(ConversationHandler.END)


def _segment_summary(t: Translator, segment: Segment) -> str:
    anyone = t("campaign.any")
    return t(
        "campaign.segment",
        role=t(f"role.button.{segment.role}") if segment.role else anyone,
        language=t(f"campaign.language.{segment.language}") if segment.language else anyone,
        region=segment.region or anyone,
        due=t("campaign.due_days", days=segment.due_within_days) if segment.due_within_days else anyone,
        not_certified=t("campaign.yes") if segment.not_certified else t("campaign.no"),
    )


def _segment_text(t: Translator, view: CampaignView) -> str:
    return t(
        "campaign.draft",
        id=view.id,
        topic=t(f"publicity.topic.{view.topic}"),
        segment=_segment_summary(t, view.segment),
        audience=view.audience if view.audience is not None else "—",
    )


def _segment_buttons(t: Translator, view: CampaignView) -> InlineKeyboardMarkup:
    cid = view.id
    seg = view.segment

    def button(key: str, field: str, **values) -> list[InlineKeyboardButton]:
        return [InlineKeyboardButton(t(key, **values), callback_data=CAMPAIGN(cid, field))]

    anyone = t("campaign.any")
    return InlineKeyboardMarkup(
        [
            button("campaign.button.topic", "topic", value=t(f"publicity.topic.{view.topic}")),
            button(
                "campaign.button.role", "role", value=t(f"role.button.{seg.role}") if seg.role else anyone
            ),
            button(
                "campaign.button.language",
                "lang",
                value=t(f"campaign.language.{seg.language}") if seg.language else anyone,
            ),
            button("campaign.button.region", "region", value=seg.region or anyone),
            button(
                "campaign.button.due",
                "due",
                value=t("campaign.due_days", days=seg.due_within_days) if seg.due_within_days else anyone,
            ),
            button(
                "campaign.button.not_certified",
                "cert",
                value=t("campaign.yes") if seg.not_certified else t("campaign.no"),
            ),
            button("campaign.button.preview", "preview"),
        ]
    )


def _schedule_buttons(t: Translator, cid: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t("campaign.button.now"), callback_data=CAMPAIGN(cid, "now"))],
            [
                InlineKeyboardButton(t("campaign.button.in_hour"), callback_data=CAMPAIGN(cid, "1h")),
                InlineKeyboardButton(t("campaign.button.tomorrow"), callback_data=CAMPAIGN(cid, "tmr")),
            ],
            [InlineKeyboardButton(t("campaign.button.cancel"), callback_data=CAMPAIGN(cid, "cancel"))],
        ]
    )


def _list_buttons(t: Translator, view: CampaignView) -> InlineKeyboardMarkup | None:
    cid = view.id
    row = []
    if view.status in PAUSABLE:
        row.append(InlineKeyboardButton(t("campaign.button.pause"), callback_data=CAMPAIGN(cid, "pause")))
    if view.status == CampaignStatus.PAUSED:
        row.append(InlineKeyboardButton(t("campaign.button.resume"), callback_data=CAMPAIGN(cid, "now")))
    if view.status in UNFINISHED:
        row.append(InlineKeyboardButton(t("campaign.button.cancel"), callback_data=CAMPAIGN(cid, "cancel")))
    return InlineKeyboardMarkup([row]) if row else None


def campaign_line(t: Translator, view: CampaignView) -> str:
    stats = view.stats
    return t(
        "campaign.line",
        id=view.id,
        status=t(f"campaign.status.{view.status}"),
        topic=t(f"publicity.topic.{view.topic}"),
        text=view.text[:60],
        sent=stats.sent,
        failed=stats.failed,
        blocked=stats.blocked,
        uncertain=stats.uncertain,
        pending=stats.pending,
    )


async def list_campaigns(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    try:
        views = await services(context).publicity.campaigns(update.effective_user.id)
    except NotStaff:
        await _not_staff(update, t)
        return
    if not views:
        await update.effective_message.reply_text(t("campaign.none"), reply_markup=menu_or_roles(t, profile))
    for view in views:
        await update.effective_message.reply_text(campaign_line(t, view), reply_markup=_list_buttons(t, view))


async def campaign_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _, t = await profile_of(update, context)
    cid, action = CAMPAIGN.of(update)
    user_id = update.effective_user.id
    publicity = services(context).publicity
    try:
        view = await publicity.preview(user_id, cid)
        if view is None:
            await query.answer()
            return
        if action in SEGMENT_FIELDS:
            seg = view.segment
            topic = view.topic
            if action == "topic":
                topic = _next(TOPICS, topic)
            elif action == "role":
                seg = Segment(**{**seg.as_dict(), "role": _next(ROLES, seg.role)})
            elif action == "lang":
                seg = Segment(**{**seg.as_dict(), "language": _next(LANGUAGES, seg.language)})
            elif action == "region":
                region = None if seg.region else await publicity.staff_region(user_id)
                seg = Segment(**{**seg.as_dict(), "region": region})
            elif action == "due":
                seg = Segment(**{**seg.as_dict(), "due_within_days": _next(DUE, seg.due_within_days)})
            else:
                seg = Segment(**{**seg.as_dict(), "not_certified": not seg.not_certified})
            await publicity.update_draft(user_id, cid, topic, seg)
            view = await publicity.preview(user_id, cid)
            await query.answer()
            await query.edit_message_text(_segment_text(t, view), reply_markup=_segment_buttons(t, view))
        elif action == "preview":
            await query.answer()
            if view.photo:
                await query.message.reply_photo(view.photo, caption=view.text)
            else:
                await query.message.reply_text(view.text)
            await query.message.reply_text(
                t("campaign.preview", audience=view.audience), reply_markup=_schedule_buttons(t, cid)
            )
        elif action in ("now", "1h", "tmr"):
            if action == "now":
                at = publicity.now()
            elif action == "1h":
                at = publicity.now() + timedelta(hours=1)
            else:
                at = publicity.local_time(publicity.today() + timedelta(days=1), 9)
            done = await publicity.schedule(user_id, cid, at)
            await query.answer()
            key = "campaign.scheduled" if done else "campaign.not_changed"
            await query.edit_message_text(
                t(key, id=cid, at=at.astimezone(publicity.zone).strftime("%Y-%m-%d %H:%M"))
            )
        elif action in ("pause", "cancel"):
            changer = publicity.pause if action == "pause" else publicity.cancel
            done = await changer(user_id, cid)
            key = {"pause": "campaign.paused", "cancel": "campaign.cancelled"}[action]
            await query.answer(t(key if done else "campaign.not_changed", id=cid, at=""))
            view = await publicity.preview(user_id, cid)
            await query.edit_message_text(campaign_line(t, view), reply_markup=_list_buttons(t, view))
        else:
            await query.answer()
    except NotStaff:
        await query.answer()
        await query.message.reply_text(t("campaign.not_staff"))


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(show_topic, pattern=TOPIC.pattern))
    application.add_handler(CallbackQueryHandler(show_article, pattern=ARTICLE.pattern))
    application.add_handler(CallbackQueryHandler(show_subscriptions, pattern=SUBSCRIPTIONS.pattern))
    application.add_handler(CallbackQueryHandler(toggle_subscription, pattern=SUBSCRIPTION.pattern))
    application.add_handler(CallbackQueryHandler(campaign_button, pattern=CAMPAIGN.pattern))
    application.add_handler(CommandHandler("campaigns", list_campaigns))
    conversation = ConversationHandler(
        entry_points=[CommandHandler("campaign", campaign_command)],
        # A main-menu button tapped instead of the text leaves (and does what it says).
        states={
            _TEXT: [
                MessageHandler(
                    (filters.TEXT & ~filters.COMMAND) | filters.PHOTO,
                    first_look_step(campaign_text, campaign_cancel, "campaign"),
                )
            ]
        },
        fallbacks=[CommandHandler("cancel", campaign_cancel)],
        conversation_timeout=600,
    )
    application.add_handler(conversation, group=GROUP)
