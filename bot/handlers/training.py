"""📚 培训考试 in the bot: staff read the course in short steps, sit the exam one question at
a time with big buttons, and receive the certificate as a PDF. Supervisors revoke a
certificate with /revoke_certificate NUMBER REASON. Each tap is one service call
(training/service.py) and one reply; the texts are in training.po."""

from __future__ import annotations

import asyncio

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import Button, Number, OneOf, Word
from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.handlers.conversation import remove_buttons
from bot.menu import menu_action
from bot.presenters.training import (
    choice_label,
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
LESSON_STEP = Button("lsn", Number(), Number())  # lesson's place in the course, step
LESSON_DONE = Button("lsnok", Number())
EXAM_ANSWER = Button("exa", Number(), Number(), Word(6))  # sitting, question's place, choice
EXAM_PICK = Button("exp", Number(), Number(), Word(6))  # multiple choice: toggle, or "ok"
EXAM_GO = Button("exg", Number(), Number())  # sitting, question's place
EXAM_SUBMIT = Button("exs", Number())


def _training(context: BotContext) -> TrainingService:
    training = services(context).training
    if training is None:
        raise NotStaff(0)
    return training


def _home_buttons(t: Translator, training: TrainingService, read: frozenset[str]) -> InlineKeyboardMarkup:
    lessons = training.course.lessons
    following = next((i for i, lesson in enumerate(lessons) if lesson.id not in read), None)
    rows = []
    if following is not None:
        title = lessons[following].titles["en" if t.language == "en" else "zh_Hans"]
        rows.append((t("training.button.continue", title=title), LESSON_STEP(following, 0)))
    rows += [
        (t("training.button.contents"), TRAINING_MENU("contents")),
        (t("training.button.exam"), TRAINING_MENU("exam")),
        (t("training.button.certificate"), TRAINING_MENU("certificate")),
    ]
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)] for label, data in rows])


@menu_action("training")
async def show_training(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    if update.callback_query:
        await update.callback_query.answer()
    try:
        training = _training(context)
        progress = await training.progress(update.effective_user.id)
    except NotStaff:
        await update.effective_message.reply_text(
            t("review.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return
    await update.effective_message.reply_text(
        progress_text(t, progress, training.rules.min_training_days),
        reply_markup=_home_buttons(t, training, progress.lessons_read),
    )


async def menu_choice(update: Update, context: BotContext) -> None:
    (choice,) = TRAINING_MENU.of(update)
    if choice == "home":
        await show_training(update, context)
    elif choice == "contents":
        await show_contents(update, context)
    elif choice == "exam":
        await start_exam(update, context)
    else:
        await send_certificate(update, context)


async def show_contents(update: Update, context: BotContext) -> None:
    await update.callback_query.answer()
    _, t = await profile_of(update, context)
    try:
        training = _training(context)
        progress = await training.progress(update.effective_user.id)
    except NotStaff:
        await update.effective_message.reply_text(t("review.not_staff"))
        return
    language = "en" if t.language == "en" else "zh_Hans"
    rows = []
    for index, lesson in enumerate(training.course.lessons):
        module = training.course.module(lesson.module_id)
        day = module.day if module else 0
        mark = "✅" if lesson.id in progress.lessons_read else "📖"
        label = t("training.contents.item", mark=mark, day=day, title=lesson.titles[language])
        rows.append([InlineKeyboardButton(label, callback_data=LESSON_STEP(index, 0))])
    await update.effective_message.reply_text(t("training.contents"), reply_markup=InlineKeyboardMarkup(rows))


async def lesson_step(update: Update, context: BotContext) -> None:
    index, step = LESSON_STEP.of(update)
    await update.callback_query.answer()
    _, t = await profile_of(update, context)
    course = _training(context).course
    lessons = course.lessons
    if index >= len(lessons) or step >= len(lessons[index].steps):
        await update.effective_message.reply_text(t("button.expired"))
        return
    lesson = lessons[index]
    rows = []
    if step + 1 < len(lesson.steps):
        rows.append(
            [InlineKeyboardButton(t("training.button.next"), callback_data=LESSON_STEP(index, step + 1))]
        )
    else:
        rows.append(
            [InlineKeyboardButton(t("training.button.lesson_done"), callback_data=LESSON_DONE(index))]
        )
    if step > 0:
        rows.append(
            [InlineKeyboardButton(t("training.button.back"), callback_data=LESSON_STEP(index, step - 1))]
        )
    await _show(update, lesson_text(t, course, lesson, step), InlineKeyboardMarkup(rows))


async def lesson_done(update: Update, context: BotContext) -> None:
    (index,) = LESSON_DONE.of(update)
    await update.callback_query.answer()
    profile, t = await profile_of(update, context)
    training = _training(context)
    lessons = training.course.lessons
    try:
        done = (
            await training.finish_lesson(update.effective_user.id, lessons[index].id)
            if index < len(lessons)
            else None
        )
    except NotStaff:
        await update.effective_message.reply_text(
            t("review.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return
    if done is None:
        await update.effective_message.reply_text(t("button.expired"))
        return
    await remove_buttons(update)
    rows = []
    if done.next_lesson is not None:
        following = lessons.index(done.next_lesson)
        title = done.next_lesson.titles["en" if t.language == "en" else "zh_Hans"]
        rows.append((t("training.button.continue", title=title), LESSON_STEP(following, 0)))
    rows.append((t("training.button.home"), TRAINING_MENU("home")))
    await update.effective_message.reply_text(
        t("training.lesson.done", days=done.days_studied, min_days=training.rules.min_training_days),
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=data)] for label, data in rows]
        ),
    )


# --- the exam -------------------------------------------------------------------------


async def start_exam(update: Update, context: BotContext) -> None:
    await update.callback_query.answer()
    profile, t = await profile_of(update, context)
    training = _training(context)
    try:
        started = await training.start_exam(update.effective_user.id)
    except NotStaff:
        await update.effective_message.reply_text(
            t("review.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return
    if isinstance(started, SittingRefused):
        await update.effective_message.reply_text(
            refusal_text(t, started.refusal, started.retake_from, training.rules.min_training_days)
        )
        return
    deadline = started.deadline.astimezone(training.zone).strftime("%H:%M")
    key = "training.exam.resumed" if started.resumed else "training.exam.started"
    await update.effective_message.reply_text(
        t(key, count=len(started.question_ids), minutes=_minutes(training), deadline=deadline)
    )
    place = started.question_ids.index(started.next_unanswered() or started.question_ids[0])
    await _send_question(update, context, training, started, place, edit=False)


def _minutes(training: TrainingService) -> int:
    return int(training.rules.time_limit.total_seconds() // 60)


async def _send_question(
    update: Update,
    context: BotContext,
    training: TrainingService,
    sitting: Sitting,
    place: int,
    *,
    edit: bool,
    picked: set[str] | None = None,
) -> None:
    _, t = await profile_of(update, context)
    question = training.bank.get(sitting.question_ids[place])
    assert question is not None  # a paper holds only questions of the bank it was drawn from
    chosen = picked if picked is not None else set(sitting.answers.get(question.id, ()))
    rows = []
    for choice in question.choices():
        label = choice_label(t, question, choice, chosen)
        button = EXAM_PICK if question.kind is QuestionKind.MULTIPLE else EXAM_ANSWER
        rows.append([InlineKeyboardButton(label, callback_data=button(sitting.id, place, choice))])
    if question.kind is QuestionKind.MULTIPLE:
        rows.append(
            [
                InlineKeyboardButton(
                    t("training.button.confirm"), callback_data=EXAM_PICK(sitting.id, place, "ok")
                )
            ]
        )
    if place > 0:
        rows.append(
            [
                InlineKeyboardButton(
                    t("training.button.previous"), callback_data=EXAM_GO(sitting.id, place - 1)
                )
            ]
        )
    text = question_text(t, question, place + 1, len(sitting.question_ids), chosen)
    markup = InlineKeyboardMarkup(rows)
    if edit:
        await _show(update, text, markup)
    else:
        await update.effective_message.reply_text(text, reply_markup=markup)


async def _show(update: Update, text: str, markup: InlineKeyboardMarkup) -> None:
    """The tapped message becomes the next screen: one message per lesson or paper, not a
    long trail of them on a small phone."""
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest:  # too old to edit, or the same text: a new message instead
        await update.effective_message.reply_text(text, reply_markup=markup)


async def exam_answer(update: Update, context: BotContext) -> None:
    sitting_id, place, choice = EXAM_ANSWER.of(update)
    await update.callback_query.answer()
    await _record(update, context, sitting_id, place, {choice})


async def exam_pick(update: Update, context: BotContext) -> None:
    """Multiple choice: each tap toggles a letter (kept in the chat's memory until 确定)."""
    sitting_id, place, choice = EXAM_PICK.of(update)
    await update.callback_query.answer()
    training = _training(context)
    picks: dict[tuple[int, int], set[str]] = context.user_data.setdefault("exam_picks", {})
    sitting = await training.sitting(update.effective_user.id, sitting_id)
    if sitting is None or place >= len(sitting.question_ids):
        await _refused(update, context, SittingRefused(Refusal.NOT_YOURS))
        return
    picked = picks.setdefault((sitting_id, place), set(sitting.answers.get(sitting.question_ids[place], ())))
    if choice != "ok":
        picked ^= {choice}
        await _send_question(update, context, training, sitting, place, edit=True, picked=picked)
        return
    if not picked:
        _, t = await profile_of(update, context)
        await update.callback_query.answer(t("training.exam.pick_one"), show_alert=True)
        return
    picks.pop((sitting_id, place), None)
    await _record(update, context, sitting_id, place, picked)


async def _record(update: Update, context: BotContext, sitting_id: int, place: int, chosen: set[str]) -> None:
    training = _training(context)
    sitting = await training.sitting(update.effective_user.id, sitting_id)
    if sitting is None or place >= len(sitting.question_ids):
        await _refused(update, context, SittingRefused(Refusal.NOT_YOURS))
        return
    taken = await training.answer(update.effective_user.id, sitting_id, sitting.question_ids[place], chosen)
    if isinstance(taken, SittingRefused):
        await _refused(update, context, taken)
        return
    await _next(update, context, training, taken.sitting, place + 1)


async def _next(
    update: Update, context: BotContext, training: TrainingService, sitting: Sitting, place: int
) -> None:
    """The next question, or the review before handing in."""
    if place < len(sitting.question_ids):
        await _send_question(update, context, training, sitting, place, edit=True)
        return
    _, t = await profile_of(update, context)
    rows = [[InlineKeyboardButton(t("training.button.submit"), callback_data=EXAM_SUBMIT(sitting.id))]]
    missing = next((n for n, q in enumerate(sitting.question_ids) if q not in sitting.answers), None)
    if missing is not None:
        label = t("training.button.go_to", number=missing + 1)
        rows.insert(0, [InlineKeyboardButton(label, callback_data=EXAM_GO(sitting.id, missing))])
    rows.append(
        [InlineKeyboardButton(t("training.button.check_answers"), callback_data=EXAM_GO(sitting.id, 0))]
    )
    await _show(update, review_text(t, sitting, str(training.zone)), InlineKeyboardMarkup(rows))


async def exam_go(update: Update, context: BotContext) -> None:
    """◀ 上一题, or a question picked from the review before handing in."""
    sitting_id, place = EXAM_GO.of(update)
    await update.callback_query.answer()
    training = _training(context)
    sitting = await training.sitting(update.effective_user.id, sitting_id)
    if sitting is None or place >= len(sitting.question_ids):
        await _refused(update, context, SittingRefused(Refusal.NOT_YOURS))
        return
    await _send_question(update, context, training, sitting, place, edit=True)


async def exam_submit(update: Update, context: BotContext) -> None:
    (sitting_id,) = EXAM_SUBMIT.of(update)
    await update.callback_query.answer()
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


async def send_certificate(update: Update, context: BotContext) -> None:
    await update.callback_query.answer()
    _, t = await profile_of(update, context)
    try:
        certificate = await _training(context).my_certificate(update.effective_user.id)
    except NotStaff:
        await update.effective_message.reply_text(t("review.not_staff"))
        return
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


async def _refused(update: Update, context: BotContext, refused: SittingRefused) -> None:
    _, t = await profile_of(update, context)
    training = _training(context)
    await remove_buttons(update)
    await update.effective_message.reply_text(
        refusal_text(t, refused.refusal, refused.retake_from, training.rules.min_training_days)
    )


# --- supervisors ----------------------------------------------------------------------


async def revoke_certificate(update: Update, context: BotContext) -> None:
    """/revoke_certificate PXC-2026-110105-000123 the reason, in words"""
    profile, t = await profile_of(update, context)
    words = context.args or []
    if len(words) < 2:
        await update.effective_message.reply_text(t("training.revoke.usage"))
        return
    try:
        result = await _training(context).revoke(update.effective_user.id, words[0], " ".join(words[1:]))
    except NotStaff:
        await update.effective_message.reply_text(
            t("review.not_staff"), reply_markup=menu_or_roles(t, profile)
        )
        return
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
