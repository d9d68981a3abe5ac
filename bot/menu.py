"""The main menu: large reply-keyboard buttons per role, and what each button does.

A button sends its label as text, so a label is mapped back to its action in every
language. Feature modules register the handler of their actions with `@menu_action`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop, ConversationHandler

from accounts.profiles import Role
from bot.context import BotContext
from content.i18n import Translator, all_translations

MenuHandler = Callable[[Update, BotContext], Awaitable[None]]

# Rows of actions; each action's label is the catalog key `menu.<action>`.
MAIN_MENUS: dict[Role, list[list[str]]] = {
    Role.RETIREE: [
        ["certify"],
        ["status"],
        ["bind"],
        ["home_visit", "report_life_event"],
        ["how_to_certify", "fraud"],
        ["privacy", "help"],
        ["language", "role"],
        ["publicity"],
    ],
    Role.EMPLOYER: [
        ["ask"],
        ["calculate"],
        ["payroll_check"],
        ["employer_duties", "fraud"],
        ["help", "language"],
        ["role", "publicity"],
    ],
    Role.STAFF: [
        ["review", "questions"],
        ["assisted_certify", "home_visits"],
        ["assistance_requests", "audits"],
        ["recoveries", "false_claims"],
        ["check_plan", "console"],
        ["training", "staff_login"],
        ["how_to_certify", "fraud"],
        ["employer_duties", "help"],
        ["language", "role"],
        ["publicity"],
    ],
}

_handlers: dict[str, MenuHandler] = {}
_free_text: dict[Role, MenuHandler] = {}


def menu_action(name: str) -> Callable[[MenuHandler], MenuHandler]:
    def register(handler: MenuHandler) -> MenuHandler:
        _handlers[name] = handler
        return handler

    return register


def handler_for(action: str | None) -> MenuHandler | None:
    return _handlers.get(action) if action else None


def free_text_for(role: Role) -> Callable[[MenuHandler], MenuHandler]:
    """Registers what text that is neither a button nor taken by any handler means for a
    role (an employer's text is a question for the assistant)."""

    def register(handler: MenuHandler) -> MenuHandler:
        _free_text[role] = handler
        return handler

    return register


def free_text_handler(role: Role | None) -> MenuHandler | None:
    return _free_text.get(role) if role else None


@cache
def _labels() -> dict[str, str]:
    actions = {action for menu in MAIN_MENUS.values() for row in menu for action in row}
    return {label: action for action in actions for label in all_translations(f"menu.{action}").values()}


def action_for_label(text: str) -> str | None:
    return _labels().get(text.strip())


def main_menu(t: Translator, role: Role) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(t(f"menu.{action}")) for action in row] for row in MAIN_MENUS[role]]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, input_field_placeholder=t("menu.placeholder"))


CANCEL_WORDS = frozenset({"取消", "cancel", "/cancel", "退出"})
ConversationStep = Callable[[Update, BotContext], Awaitable[int]]


async def leave_for_menu(
    update: Update, context: BotContext, cancel: ConversationStep, forget: str
) -> int | None:
    """Mid-conversation, a cancel word or a main-menu button typed instead of an answer ends
    the conversation (forgetting `forget` from user_data), and a button then does what it
    says: elderly users press the big buttons whatever step they are at. None: an answer."""
    text = (update.effective_message.text or "").strip()
    if text.lower() in CANCEL_WORDS:
        return await cancel(update, context)
    handler = handler_for(action_for_label(text))
    if handler is None:
        return None
    context.user_data.pop(forget, None)
    await handler(update, context)
    return ConversationHandler.END


def answer_step(step: ConversationStep, cancel: ConversationStep, forget: str) -> ConversationStep:
    """A conversation step that first lets the person leave it (see `leave_for_menu`)."""

    async def run(update: Update, context: BotContext) -> int:
        left = await leave_for_menu(update, context, cancel, forget)
        return left if left is not None else await step(update, context)

    return run


# The group of conversations whose typed answer carries weight (a staff decision's reason,
# the official answer to an employer): ahead of the main group, so that no other handler can
# take their answer, and so that they see every text while they wait for one.
FIRST_LOOK_GROUP = -2


def first_look_step(step: ConversationStep, cancel: ConversationStep, forget: str) -> ConversationStep:
    """`answer_step` for a conversation registered ahead of the main group (a group < 0): a
    cancel word cancels; a main-menu label (in any language) is never the answer: it ends this
    conversation (forgetting `forget`) and goes on to the main group, where the button does
    what it says, whichever conversation it starts. Anything else is the answer, and the
    update stops here (ApplicationHandlerStop), so nothing else answers it too."""

    async def run(update: Update, context: BotContext) -> int:
        text = (update.effective_message.text or "").strip()
        if text.lower() in CANCEL_WORDS:
            raise ApplicationHandlerStop(await cancel(update, context))
        if action_for_label(text) is not None:
            context.user_data.pop(forget, None)
            return ConversationHandler.END
        raise ApplicationHandlerStop(await step(update, context))

    return run


def stops_here(step: ConversationStep) -> ConversationStep:
    """A step of a conversation ahead of the main group that nothing after it should see."""

    async def run(update: Update, context: BotContext) -> int:
        raise ApplicationHandlerStop(await step(update, context))

    return run
