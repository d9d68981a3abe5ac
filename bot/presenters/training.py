"""Words for staff training in the chat: the progress screen, a lesson's step, an exam
question, the result (catalog keys training.*). The service decides (training/service.py);
this module says it in the reader's language."""

from __future__ import annotations

from datetime import datetime

from content.i18n import Translator
from training.bank import LETTERS, Question, QuestionKind
from training.courses import Course, Lesson
from training.exam import Refusal
from training.service import Progress, Sitting, Submission


def language_of(t: Translator) -> str:
    """The course's and the bank's language key for a reader: English, or else Chinese."""
    return "en" if t.language == "en" else "zh_Hans"


def when(t: Translator, moment: datetime) -> str:
    """A local time as a date and a clock time (the service gives it in the region's zone)."""
    return f"{t.date(moment.date())} {moment.strftime('%H:%M')}"


def progress_text(t: Translator, progress: Progress, min_days: int) -> str:
    lines = [
        t(
            "training.progress",
            name=progress.staff_name,
            read=len(progress.lessons_read),
            total=progress.lessons_total,
            days=len(progress.days_studied),
            min_days=min_days,
        )
    ]
    if progress.days_studied:
        lines.append(t("training.days", days="、".join(t.date(day) for day in progress.days_studied)))
    if progress.certificate_number:
        lines.append(t("training.holds_certificate", number=progress.certificate_number))
    elif progress.open_sitting is not None:
        lines.append(t("training.exam_open"))
    elif progress.refusal is not None:
        lines.append(refusal_text(t, progress.refusal, progress.retake_from, min_days))
    else:
        lines.append(t("training.exam_ready"))
    return "\n\n".join(lines)


def refusal_text(t: Translator, refusal: Refusal, retake_from: datetime | None, min_days: int) -> str:
    if refusal in (Refusal.TOO_SOON, Refusal.LATE) and retake_from is not None:
        return t(f"training.refused.{refusal.value}_until", date=when(t, retake_from))
    return t(f"training.refused.{refusal.value}", min_days=min_days)


def lesson_text(t: Translator, course: Course, lesson: Lesson, step: int) -> str:
    language = language_of(t)
    module = course.module(lesson.module_id)
    text = t(
        "training.lesson.step",
        module=module.titles[language] if module else "",
        title=lesson.titles[language],
        step=step + 1,
        steps=len(lesson.steps),
        body=lesson.steps[step][language],
    )
    if step == len(lesson.steps) - 1:
        text += "\n\n" + t("training.lesson.basis", citations="；".join(lesson.citations))
    return text


def question_text(t: Translator, question: Question, number: int, total: int, chosen: set[str]) -> str:
    wording = question.wordings[language_of(t)]
    lines = [t(f"training.question.head.{question.kind.value}", number=number, total=total), "", wording.stem]
    if question.kind is not QuestionKind.TRUE_FALSE:
        lines.append("")
        lines += [
            f"{'☑' if LETTERS[i] in chosen else '☐'} {LETTERS[i]}. {option}"
            for i, option in enumerate(wording.options)
        ]
    return "\n".join(lines)


def choice_label(t: Translator, question: Question, choice: str, chosen: set[str]) -> str:
    if question.kind is QuestionKind.TRUE_FALSE:
        return t(f"training.answer.{choice}")
    if question.kind is QuestionKind.MULTIPLE:
        return f"{'☑' if choice in chosen else '☐'} {choice}"
    return choice


def review_text(t: Translator, sitting: Sitting) -> str:
    missing = [str(n) for n, q in enumerate(sitting.question_ids, start=1) if q not in sitting.answers]
    if missing:
        return t(
            "training.exam.missing",
            count=len(missing),
            numbers="、".join(missing),
            deadline=sitting.deadline.strftime("%H:%M"),
        )
    return t("training.exam.all_answered", deadline=sitting.deadline.strftime("%H:%M"))


def result_text(
    t: Translator, submission: Submission, questions: dict[str, Question], pass_mark: float, min_days: int
) -> str:
    if submission.refusal is not None:
        return refusal_text(t, submission.refusal, submission.retake_from, min_days)
    marking = submission.marking
    assert marking is not None
    if submission.certificate is not None:
        certificate = submission.certificate
        return t(
            "training.result.passed",
            right=marking.right,
            total=marking.total,
            number=certificate.number,
            code=certificate.code,
        )
    language = language_of(t)
    wrong = [
        t("training.result.wrong_item", stem=q.wordings[language].stem, why=q.wordings[language].explanation)
        for q in (questions[qid] for qid in marking.wrong if qid in questions)
    ][:5]
    retake = when(t, submission.retake_from) if submission.retake_from else ""
    return "\n\n".join(
        [
            t(
                "training.result.failed",
                right=marking.right,
                total=marking.total,
                needed=round(pass_mark * 100),
                date=retake,
            ),
            *wrong,
        ]
    )
