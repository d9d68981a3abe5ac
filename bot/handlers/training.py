"""📚 培训考试 in the bot: staff read the course in short steps, sit the exam one question at
a time with big buttons, and receive the certificate as a PDF. Supervisors revoke a
certificate with /revoke_certificate NUMBER REASON. Each tap is one service call
(training/service.py) and one reply; the words are in bot/presenters/training.py and
training.po. A tapped lesson step or question becomes the next one in place: one message per
lesson or paper, not a long trail of them on a small phone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import wraps

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import Button, Number, OneOf, Word
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of, reply_in_menu
from bot.handlers.conversation import remove_buttons
from bot.keyboards import buttons
from bot.menu import menu_action
from bot.presenters.training import (
    choice_label,
    language_of,
    lesson_text,
    progress_text,
    question_text,
    refusal_text,
    result_text,
    review_text,
)
from bot.services import services
from content.i18n import Translator
from kernel.permissions import NotStaff
from training.bank import QuestionKind
from training.certificate_pdf import render_certificate
from training.exam import Refusal
from training.service import CertificateView, Sitting, SittingRefused, TrainingService

TRAINING_MENU = Button("trn", OneOf("home", "contents", "exam", "certificate"))
LESSON_STEP = Button("lsn", Number(), Number())  # the lesson's place in the course, the step
LESSON_DONE = Button("lsnok", Number())
EXAM_ANSWER = Button("exa", Number(), Number(), Word(6))  # sitting, question's place, choice
EXAM_PICK = Button("exp", Number(), Number(), Word(6))  # multiple choice: a letter toggled, or "ok"
EXAM_GO = Button("exg", Number(), Number())  # sitting, question's place
EXAM_SUBMIT = Button("exs", Number())

Handler = Callable[[Update, BotContext], Awaitable[None]]


def staff_only(handler: Handler | None = None, *, answers_itself: bool = False) -> Handler:
    """Taps answered at once (unless the handler answers them itself, e.g. with an alert);
    anyone who is not signed-in staff (a forged button, an account signed out meanwhile) is
    told kindly, as everywhere staff work."""

    def wrap(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(update: Update, context: BotContext) -> None:
            if update.callback_query and not answers_itself:
                await update.callback_query.answer()
            try:
                await handler(update, context)
            except NotStaff:
                await reply_in_menu(update, context, "review.not_staff")

        return guarded

    return wrap(handler) if handler is not None else wrap  # type: ignore[return-value]


def _training(context: BotContext) -> TrainingService:
    training = services(context).training
    if training is None:  # a runtime built without training: nobody is staff of it
        raise NotStaff(0)
    return training


def _continue(t: Translator, training: TrainingService, index: int) -> tuple[str, str]:
    title = training.course.lessons[index].titles[language_of(t)]
    return t("training.button.continue", title=title), LESSON_STEP(index, 0)


@menu_action("training")
@staff_only
async def show_training(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    training = _training(context)
    progress = await training.progress(update.effective_user.id)
    lessons = training.course.lessons
    following = next((i for i, lesson in enumerate(lessons) if lesson.id not in progress.lessons_read), None)
    rows = [_continue(t, training, following)] if following is not None else []
    rows += [
        (t("training.button.contents"), TRAINING_MENU("contents")),
        (t("training.button.exam"), TRAINING_MENU("exam")),
        (t("training.button.certificate"), TRAINING_MENU("certificate")),
    ]
    await update.effective_message.reply_text(
        progress_text(t, progress, training.rules.min_training_days), reply_markup=buttons(*rows)
    )


async def menu_choice(update: Update, context: BotContext) -> None:
    (choice,) = TRAINING_MENU.of(update)
    chosen = {"home": show_training, "contents": show_contents, "exam": start_exam}
    await chosen.get(choice, send_certificate)(update, context)


@staff_only
async def show_contents(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    training = _training(context)
    progress = await training.progress(update.effective_user.id)
    rows = []
    for index, lesson in enumerate(training.course.lessons):
        module = training.course.module(lesson.module_id)
        mark = "✅" if lesson.id in progress.lessons_read else "📖"
        day = module.day if module else 0
        label = t("training.contents.item", mark=mark, day=day, title=lesson.titles[language_of(t)])
        rows.append((label, LESSON_STEP(index, 0)))
    await update.effective_message.reply_text(t("training.contents"), reply_markup=buttons(*rows))


@staff_only
async def lesson_step(update: Update, context: BotContext) -> None:
    index, step = LESSON_STEP.of(update)
    _, t = await profile_of(update, context)
    course = _training(context).course
    if index >= len(course.lessons) or step >= len(course.lessons[index].steps):
        await update.effective_message.reply_text(t("button.expired"))
        return
    lesson = course.lessons[index]
    if step + 1 < len(lesson.steps):
        rows = [(t("training.button.next"), LESSON_STEP(index, step + 1))]
    else:
        rows = [(t("training.button.lesson_done"), LESSON_DONE(index))]
    if step > 0:
        rows.append((t("training.button.back"), LESSON_STEP(index, step - 1)))
    await _show(update, lesson_text(t, course, lesson, step), buttons(*rows))


@staff_only
async def lesson_done(update: Update, context: BotContext) -> None:
    (index,) = LESSON_DONE.of(update)
    _, t = await profile_of(update, context)
    training = _training(context)
    lessons = training.course.lessons
    done = (
        await training.finish_lesson(update.effective_user.id, lessons[index].id)
        if index < len(lessons)
        else None
    )
    if done is None:
        await update.effective_message.reply_text(t("button.expired"))
        return
    await remove_buttons(update)
    rows = [_continue(t, training, lessons.index(done.next_lesson))] if done.next_lesson else []
    rows.append((t("training.button.home"), TRAINING_MENU("home")))
    await update.effective_message.reply_text(
        t("training.lesson.done", days=done.days_studied, min_days=training.rules.min_training_days),
        reply_markup=buttons(*rows),
    )


# --- the exam -------------------------------------------------------------------------


@staff_only
async def start_exam(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    training = _training(context)
    started = await training.start_exam(update.effective_user.id)
    if isinstance(started, SittingRefused):
        await _refused(update, context, started, keep_buttons=True)
        return
    key = "training.exam.resumed" if started.resumed else "training.exam.started"
    minutes = int(training.rules.time_limit.total_seconds() // 60)
    deadline = started.deadline.strftime("%H:%M")  # in the region's time
    await update.effective_message.reply_text(
        t(key, count=len(started.question_ids), minutes=minutes, deadline=deadline)
    )
    place = started.question_ids.index(started.next_unanswered() or started.question_ids[0])
    text, markup = _question(t, training, started, place)
    await update.effective_message.reply_text(text, reply_markup=markup)


def _question(
    t: Translator, training: TrainingService, sitting: Sitting, place: int, picked: set[str] | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    question = training.bank.get(sitting.question_ids[place])
    assert question is not None  # a paper holds only questions of the bank it was drawn from
    chosen = picked if picked is not None else set(sitting.answers.get(question.id, ()))
    button = EXAM_PICK if question.kind is QuestionKind.MULTIPLE else EXAM_ANSWER
    rows = [(choice_label(t, question, c, chosen), button(sitting.id, place, c)) for c in question.choices()]
    if question.kind is QuestionKind.MULTIPLE:
        rows.append((t("training.button.confirm"), EXAM_PICK(sitting.id, place, "ok")))
    if place > 0:
        rows.append((t("training.button.previous"), EXAM_GO(sitting.id, place - 1)))
    return question_text(t, question, place + 1, len(sitting.question_ids), chosen), buttons(*rows)


async def _show(update: Update, text: str, markup: InlineKeyboardMarkup) -> None:
    """The tapped message becomes the next screen."""
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest:  # too old to edit, or the same text: a new message instead
        await update.effective_message.reply_text(text, reply_markup=markup)


@staff_only
async def exam_answer(update: Update, context: BotContext) -> None:
    sitting_id, place, choice = EXAM_ANSWER.of(update)
    await _record(update, context, sitting_id, place, {choice})


@staff_only(answers_itself=True)
async def exam_pick(update: Update, context: BotContext) -> None:
    """Multiple choice: each tap toggles a letter (kept in the chat's memory until 选好了,
    starting from the answer stored when the question is answered again)."""
    sitting_id, place, choice = EXAM_PICK.of(update)
    _, t = await profile_of(update, context)
    training = _training(context)
    sitting = await training.sitting(update.effective_user.id, sitting_id)
    if sitting is None or place >= len(sitting.question_ids):
        await update.callback_query.answer()
        await _refused(update, context, SittingRefused(Refusal.NOT_YOURS))
        return
    picks: dict[tuple[int, int], set[str]] = context.user_data.setdefault("exam_picks", {})
    picked = picks.setdefault((sitting_id, place), set(sitting.answers.get(sitting.question_ids[place], ())))
    if choice == "ok" and not picked:
        await update.callback_query.answer(t("training.exam.pick_one"), show_alert=True)
        return
    await update.callback_query.answer()
    if choice == "ok":
        await _record(update, context, sitting_id, place, picks.pop((sitting_id, place)))
        return
    picked ^= {choice}
    await _show(update, *_question(t, training, sitting, place, picked))


async def _record(update: Update, context: BotContext, sitting_id: int, place: int, chosen: set[str]) -> None:
    """The answer stored; then the next question, or the review before handing in."""
    training = _training(context)
    taken = await training.answer(update.effective_user.id, sitting_id, place, chosen)
    if isinstance(taken, SittingRefused):
        await _refused(update, context, taken)
        return
    sitting = taken.sitting
    _, t = await profile_of(update, context)
    if place + 1 < len(sitting.question_ids):
        await _show(update, *_question(t, training, sitting, place + 1))
        return
    rows = [(t("training.button.submit"), EXAM_SUBMIT(sitting.id))]
    missing = next((n for n, q in enumerate(sitting.question_ids) if q not in sitting.answers), None)
    if missing is not None:
        rows.insert(0, (t("training.button.go_to", number=missing + 1), EXAM_GO(sitting.id, missing)))
    rows.append((t("training.button.check_answers"), EXAM_GO(sitting.id, 0)))
    await _show(update, review_text(t, sitting), buttons(*rows))


@staff_only
async def exam_go(update: Update, context: BotContext) -> None:
    """◀ 上一题, or a question picked from the review before handing in."""
    sitting_id, place = EXAM_GO.of(update)
    training = _training(context)
    sitting = await training.sitting(update.effective_user.id, sitting_id)
    if sitting is None or place >= len(sitting.question_ids):
        await _refused(update, context, SittingRefused(Refusal.NOT_YOURS))
        return
    _, t = await profile_of(update, context)
    await _show(update, *_question(t, training, sitting, place))


@staff_only
async def exam_submit(update: Update, context: BotContext) -> None:
    (sitting_id,) = EXAM_SUBMIT.of(update)
    profile, t = await profile_of(update, context)
    training = _training(context)
    submission = await training.submit(update.effective_user.id, sitting_id)
    if submission.refusal is None:
        await remove_buttons(update)
    questions = {q.id: q for q in training.bank.questions}
    text = result_text(t, submission, questions, training.rules.pass_mark, training.rules.min_training_days)
    await update.effective_message.reply_text(text, reply_markup=menu_or_roles(t, profile))
    if submission.certificate is not None:
        await _send_pdf(update, context, t, submission.certificate)


@staff_only
async def send_certificate(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    certificate = await _training(context).my_certificate(update.effective_user.id)
    if certificate is None:
        await update.effective_message.reply_text(t("training.no_certificate"))
        return
    await _send_pdf(update, context, t, certificate)


async def _send_pdf(update: Update, context: BotContext, t: Translator, certificate: CertificateView) -> None:
    training = _training(context)
    pdf = await asyncio.to_thread(render_certificate, certificate, t, training.check_url)
    await update.effective_message.reply_document(
        pdf,
        filename=f"{certificate.number}.pdf",
        caption=t("training.certificate_caption", number=certificate.number, code=certificate.code),
        protect_content=True,
    )


async def _refused(
    update: Update, context: BotContext, refused: SittingRefused, *, keep_buttons: bool = False
) -> None:
    _, t = await profile_of(update, context)
    if not keep_buttons:  # a paper that cannot be answered any more keeps no answer buttons
        await remove_buttons(update)
    min_days = _training(context).rules.min_training_days
    await update.effective_message.reply_text(refusal_text(t, refused.refusal, refused.retake_from, min_days))


# --- supervisors ----------------------------------------------------------------------


@staff_only
async def revoke_certificate(update: Update, context: BotContext) -> None:
    """/revoke_certificate PXC-2026-110105-000123 the reason, in words"""
    _, t = await profile_of(update, context)
    words = context.args or []
    if len(words) < 2:
        await update.effective_message.reply_text(t("training.revoke.usage"))
        return
    result = await _training(context).revoke(update.effective_user.id, words[0], " ".join(words[1:]))
    await update.effective_message.reply_text(t(f"training.revoke.{result.value}", number=words[0][:40]))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("training", show_training))
    application.add_handler(CommandHandler("revoke_certificate", revoke_certificate))
    for button, handler in (
        (TRAINING_MENU, menu_choice),
        (LESSON_STEP, lesson_step),
        (LESSON_DONE, lesson_done),
        (EXAM_ANSWER, exam_answer),
        (EXAM_PICK, exam_pick),
        (EXAM_GO, exam_go),
        (EXAM_SUBMIT, exam_submit),
    ):
        application.add_handler(CallbackQueryHandler(handler, pattern=button.pattern))
