"""🏢 The employer assistant in the bot.

* 💬 Ask: an employer's free text is a question; the answer comes with its sources and
  buttons for related questions. A question no entry covers well is answered with the
  governing article of law, quoted. When the bot is not sure, it says so, offers the closest
  topics and articles and hands the question to staff.
* 🧮 Calculator: monthly contributions (wage, then region), the late fee (amount, then due
  date), the last day to register (first day of work): short conversations with /cancel.
* 📑 Payroll self-check: a CSV or XLSX file in, a summary and a findings file back.
* /questions (staff): the queue of questions the bot was not sure about; a staff answer is
  sent to the employer who asked.

Each handler turns an update into one service call and one reply.
"""

from __future__ import annotations

import warnings

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from accounts.profiles import Role
from bot.callbacks import Button, Number, OneOf, Word
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of, staff_items
from bot.menu import FIRST_LOOK_GROUP, answer_step, first_look_step, free_text_for, menu_action, stops_here
from bot.presenters.calculators import contributions_text, deadline_text, late_fee_text, problem_text
from bot.services import services
from content.calculators.money import InputProblem
from content.i18n import Translator
from content.knowledge.answering import AnswerStatus
from content.knowledge.model import Entry
from content.knowledge.render import answer_text, article_citation, button_label, entry_text
from kernel.permissions import NotStaff

CALC_WAGE, CALC_REGION, CALC_AMOUNT, CALC_DUE, CALC_START = range(20, 25)
STAFF_ANSWER = 30
_CALC = "employer_calc"  # user_data: what the calculator conversation has been told so far
_PAYROLL_REGION = "payroll_region"  # user_data: the region chosen for the next payroll
_ANSWERING = "employer_answering"  # user_data: the queued question a staff member answers
_EXAMPLES = ("reg-employee", "base-what", "fee-late-rate")

PAYROLL_FILES = (
    filters.Document.FileExtension("csv")
    | filters.Document.FileExtension("xlsx")
    | filters.Document.FileExtension("xlsm")
    | filters.Document.FileExtension("xls")
    | filters.Document.FileExtension("tsv")
    | filters.Document.MimeType("text/csv")
    | filters.Document.MimeType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    | filters.Document.MimeType("application/vnd.ms-excel")
)


ENTRY = Button("kb", Word())  # a knowledge-base entry; looked up, as it may be gone since
# Each calculator: the question that starts it and the step that waits for the answer.
CALCULATORS = {
    "contrib": ("calc.ask_wage", CALC_WAGE),
    "late": ("calc.ask_amount", CALC_AMOUNT),
    "deadline": ("calc.ask_start", CALC_START),
}
CALCULATOR = Button("calc", OneOf(*CALCULATORS))
CALC_REGION_BUTTON = Button("calc:region", Word())
CALC_CANCEL = Button("calc:cancel")
PAYROLL_REGION = Button("payroll:region", Word())
REPLY = Button("empq:reply", Number())  # staff: answer this employer's question


def _entry_buttons(entries: tuple[Entry, ...] | list[Entry], language: str) -> InlineKeyboardMarkup | None:
    if not entries:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button_label(entry, language), callback_data=ENTRY(entry.id))]
            for entry in entries
        ]
    )


# ------------------------------------------------------------------ asking


@menu_action("ask")
async def ask_prompt(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    employer = services(context).employer
    examples = [entry for entry in (employer.entry(i) for i in _EXAMPLES) if entry]
    await update.effective_message.reply_text(
        t("ask.prompt"), reply_markup=_entry_buttons(examples, t.language)
    )


@free_text_for(Role.EMPLOYER)
async def question_asked(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    result = await services(context).employer.ask(
        update.effective_message.text or "",
        telegram_user_id=update.effective_user.id,
        chat_id=update.effective_chat.id,
        language=profile.language,
        source_key=f"tg:{update.effective_chat.id}:{update.effective_message.message_id}",
    )
    answer = result.answer
    text = answer_text(answer, t, queued=result.queued_id is not None)
    if answer.status is AnswerStatus.ANSWERED and answer.related:
        text += "\n\n" + t("ask.related")
    buttons = _entry_buttons(answer.related, t.language)
    await update.effective_message.reply_text(text, reply_markup=buttons or menu_or_roles(t, profile))


async def entry_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    await query.answer()
    _, t = await profile_of(update, context)
    entry = services(context).employer.entry(*ENTRY.of(update))
    if entry is None:
        await query.message.reply_text(t("ask.unknown_entry"))
        return
    related = [e for e in (services(context).employer.entry(i) for i in entry.related) if e][:3]
    text = entry_text(entry, t) + ("\n\n" + t("ask.related") if related else "")
    await query.message.reply_text(text, reply_markup=_entry_buttons(related, t.language))


# ------------------------------------------------------------------ calculators


def _calc_buttons(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t(f"calc.button.{kind}"), callback_data=CALCULATOR(kind))]
            for kind in CALCULATORS
        ]
    )


def _cancel_button(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t("calc.button.cancel"), callback_data=CALC_CANCEL())]]
    )


def _region_buttons(context: BotContext, t: Translator, button: Button) -> InlineKeyboardMarkup:
    regions = services(context).employer.regions.regions
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(r.name(t.language), callback_data=button(r.code))] for r in regions]
    )


@menu_action("calculate")
async def choose_calculator(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(t("calc.choose"), reply_markup=_calc_buttons(t))


async def calculator_chosen(update: Update, context: BotContext) -> int:
    query = update.callback_query
    await query.answer()
    _, t = await profile_of(update, context)
    (kind,) = CALCULATOR.of(update)
    context.user_data[_CALC] = {"kind": kind}
    prompt, state = CALCULATORS[kind]
    await query.message.reply_text(t(prompt), reply_markup=_cancel_button(t))
    return state


async def _try_again(update: Update, t: Translator, problem: InputProblem) -> None:
    await update.effective_message.reply_text(problem_text(t, problem) + "\n" + t("calc.try_again"))


async def wage_typed(update: Update, context: BotContext) -> int:
    _, t = await profile_of(update, context)
    wage = services(context).employer.check_wage(update.effective_message.text)
    if isinstance(wage, InputProblem):
        await _try_again(update, t, wage)
        return CALC_WAGE
    context.user_data.setdefault(_CALC, {})["wage"] = str(wage)
    await update.effective_message.reply_text(
        t("calc.ask_region"), reply_markup=_region_buttons(context, t, CALC_REGION_BUTTON)
    )
    return CALC_REGION


async def region_chosen(update: Update, context: BotContext) -> int:
    query = update.callback_query
    await query.answer()
    profile, t = await profile_of(update, context)
    wage = context.user_data.pop(_CALC, {}).get("wage", "")
    table = services(context).employer.contributions(wage, *CALC_REGION_BUTTON.of(update))
    text = problem_text(t, table) if isinstance(table, InputProblem) else contributions_text(table, t)
    await query.message.reply_text(text, reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


async def region_expected(update: Update, context: BotContext) -> int:
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(t("calc.tap_region"))
    return CALC_REGION


async def amount_typed(update: Update, context: BotContext) -> int:
    _, t = await profile_of(update, context)
    amount = services(context).employer.check_wage(update.effective_message.text)
    if isinstance(amount, InputProblem):
        await _try_again(update, t, amount)
        return CALC_AMOUNT
    context.user_data.setdefault(_CALC, {})["amount"] = str(amount)
    await update.effective_message.reply_text(t("calc.ask_due"), reply_markup=_cancel_button(t))
    return CALC_DUE


async def due_typed(update: Update, context: BotContext) -> int:
    profile, t = await profile_of(update, context)
    amount = context.user_data.get(_CALC, {}).get("amount", "")
    fee = services(context).employer.late_fee(amount, update.effective_message.text, None)
    if isinstance(fee, InputProblem):
        await _try_again(update, t, fee)
        return CALC_DUE
    context.user_data.pop(_CALC, None)
    await update.effective_message.reply_text(late_fee_text(fee, t), reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


async def start_typed(update: Update, context: BotContext) -> int:
    profile, t = await profile_of(update, context)
    employer = services(context).employer
    deadline = employer.registration_deadline(update.effective_message.text)
    if isinstance(deadline, InputProblem):
        await _try_again(update, t, deadline)
        return CALC_START
    context.user_data.pop(_CALC, None)
    text = deadline_text(deadline, t, employer.today())
    await update.effective_message.reply_text(text, reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


async def cancel_calculator(update: Update, context: BotContext) -> int:
    context.user_data.pop(_CALC, None)
    profile, t = await profile_of(update, context)
    if update.callback_query:
        await update.callback_query.answer()
    await update.effective_message.reply_text(t("calc.cancelled"), reply_markup=menu_or_roles(t, profile))
    return ConversationHandler.END


# ------------------------------------------------------------------ payroll self-check


@menu_action("payroll_check")
async def payroll_intro(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t("payroll.intro") + "\n\n" + t("payroll.format"),
        reply_markup=_region_buttons(context, t, PAYROLL_REGION),
    )


async def payroll_region_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    await query.answer()
    _, t = await profile_of(update, context)
    region = services(context).employer.region(*PAYROLL_REGION.of(update))
    context.user_data[_PAYROLL_REGION] = region.code
    await query.message.reply_text(t("payroll.region_chosen", region=region.name(t.language)))


async def payroll_received(update: Update, context: BotContext) -> None:
    message = update.effective_message
    profile, t = await profile_of(update, context)
    if profile.role is not Role.EMPLOYER:
        await message.reply_text(t("payroll.employers_only"), reply_markup=menu_or_roles(t, profile))
        return
    employer = services(context).employer
    document = message.document
    name = document.file_name or ""
    if document.file_size and document.file_size > employer.max_payroll_bytes:
        # Refused from the size Telegram reports, before downloading anything.
        await employer.refuse_file(update.effective_chat.id, "too_big", document.file_size, name)
        limit_mb = employer.max_payroll_bytes // (1024 * 1024)
        await message.reply_text(
            t("payroll.error.too_big", limit_mb=limit_mb), reply_markup=menu_or_roles(t, profile)
        )
        return
    await message.reply_chat_action(ChatAction.TYPING)
    try:
        data = bytes(await (await document.get_file()).download_as_bytearray())
    except BadRequest:
        await employer.refuse_file(update.effective_chat.id, "download_failed", document.file_size, name)
        await message.reply_text(t("payroll.error.download_failed"), reply_markup=menu_or_roles(t, profile))
        return
    outcome = await employer.check_payroll(
        data,
        file_name=name,
        chat_id=update.effective_chat.id,
        language=profile.language,
        region_code=context.user_data.get(_PAYROLL_REGION),
    )
    await message.reply_text(outcome.text, reply_markup=menu_or_roles(t, profile))
    if outcome.file is not None:
        await message.reply_document(
            InputFile(outcome.file.data, filename=outcome.file.name), caption=t("payroll.file_caption")
        )


# ------------------------------------------------------------------ staff: the question queue


@menu_action("questions")
async def list_questions(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    employer = services(context).employer
    questions = await staff_items(
        update,
        context,
        employer.open_questions,
        none_key="questions.none",
        not_staff_key="questions.not_staff",
    )
    for question in questions:
        entries, articles = employer.closest(question)
        text = t(
            "questions.item",
            question_id=question.question_id,
            asked=question.asked_at.strftime("%Y-%m-%d %H:%M"),
            language=question.language,
            question=question.question,
            closest="、".join(button_label(entry, t.language) for entry in entries) or "—",
        )
        if articles:
            separator = "；" if t.language == "zh_Hans" else "; "
            citations = separator.join(article_citation(a, t.language) for a in articles)
            text += "\n" + t("ask.closest_articles", citations=citations)
        button = InlineKeyboardButton(t("questions.button.reply"), callback_data=REPLY(question.question_id))
        await update.effective_message.reply_text(text, reply_markup=InlineKeyboardMarkup([[button]]))


async def ask_staff_answer(update: Update, context: BotContext) -> int:
    query = update.callback_query
    await query.answer()
    _, t = await profile_of(update, context)
    (question_id,) = REPLY.of(update)
    context.user_data[_ANSWERING] = question_id
    await query.message.reply_text(
        t("questions.ask_answer", question_id=question_id), reply_markup=ForceReply()
    )
    return STAFF_ANSWER


async def staff_answer_typed(update: Update, context: BotContext) -> int:
    profile, t = await profile_of(update, context)
    text = (update.effective_message.text or "").strip()
    if not text:
        await update.effective_message.reply_text(t("questions.empty_answer"))
        return STAFF_ANSWER
    question_id = context.user_data.pop(_ANSWERING, None)
    try:
        reply = await services(context).employer.answer_question(update.effective_user.id, question_id, text)
    except NotStaff:
        await update.effective_message.reply_text(
            t("questions.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return ConversationHandler.END
    if reply is None:
        await update.effective_message.reply_text(
            t("questions.already"), reply_markup=menu_or_roles(t, profile)
        )
        return ConversationHandler.END
    await update.effective_message.reply_text(
        t("questions.sent", question_id=reply.question_id), reply_markup=menu_or_roles(t, profile)
    )
    employer_t = Translator(reply.language)
    await context.bot.send_message(
        reply.chat_id, employer_t("ask.staff_answer", question=reply.question, answer=reply.answer)
    )
    return ConversationHandler.END


async def cancel_staff_answer(update: Update, context: BotContext) -> int:
    context.user_data.pop(_ANSWERING, None)
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(
        t("questions.cancelled"), reply_markup=menu_or_roles(t, profile)
    )
    return ConversationHandler.END


def register(application: Application) -> None:
    text = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # Callback queries start these conversations; they are tracked per user, as wanted.
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        calculator = ConversationHandler(
            entry_points=[CallbackQueryHandler(calculator_chosen, pattern=CALCULATOR.pattern)],
            states={
                CALC_WAGE: [MessageHandler(text, answer_step(wage_typed, cancel_calculator, _CALC))],
                CALC_REGION: [
                    CallbackQueryHandler(region_chosen, pattern=CALC_REGION_BUTTON.pattern),
                    MessageHandler(text, answer_step(region_expected, cancel_calculator, _CALC)),
                ],
                CALC_AMOUNT: [MessageHandler(text, answer_step(amount_typed, cancel_calculator, _CALC))],
                CALC_DUE: [MessageHandler(text, answer_step(due_typed, cancel_calculator, _CALC))],
                CALC_START: [MessageHandler(text, answer_step(start_typed, cancel_calculator, _CALC))],
            },
            fallbacks=[
                CommandHandler("cancel", cancel_calculator),
                CallbackQueryHandler(cancel_calculator, pattern=CALC_CANCEL.pattern),
            ],
            conversation_timeout=600,
            allow_reentry=True,
        )
        staff_answer = ConversationHandler(
            entry_points=[CallbackQueryHandler(stops_here(ask_staff_answer), pattern=REPLY.pattern)],
            states={
                STAFF_ANSWER: [
                    MessageHandler(text, first_look_step(staff_answer_typed, cancel_staff_answer, _ANSWERING))
                ]
            },
            fallbacks=[CommandHandler("cancel", stops_here(cancel_staff_answer))],
            conversation_timeout=900,
            allow_reentry=True,  # another case's (or question's) button while one waits
        )
    application.add_handler(calculator)
    # Ahead of the main group: the answer goes to the employer as the official one, so no other
    # conversation may take it, and a main-menu button tapped instead leaves this step.
    application.add_handler(staff_answer, group=FIRST_LOOK_GROUP)
    application.add_handler(CommandHandler("questions", list_questions))
    application.add_handler(CommandHandler("ask", ask_prompt))
    application.add_handler(CallbackQueryHandler(entry_chosen, pattern=ENTRY.pattern))
    application.add_handler(CallbackQueryHandler(payroll_region_chosen, pattern=PAYROLL_REGION.pattern))
    # A calculator button of a conversation that has ended (timed out, cancelled).
    application.add_handler(CallbackQueryHandler(cancel_calculator, pattern=r"^calc:"))
    # Before certification's handler of any document: a spreadsheet is a payroll to check.
    application.add_handler(MessageHandler(PAYROLL_FILES, payroll_received))
