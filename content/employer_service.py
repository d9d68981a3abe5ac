"""The employer assistant: answers with citations, the staff queue for questions the bot is
not sure about, the calculators and the payroll self-check. Plain values in, plain results
out; no Telegram here. Texts are composed from the catalogs in the asker's language.

Personal data: a queued question is stored with anything that looks like an ID number or a
mobile number masked. A payroll is read in memory and never stored or logged; only the
reason a file was refused (and its size) is recorded as an ErrorRecord.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from content.calculators.money import InputProblem, parse_amount, parse_date
from content.calculators.regions import Region, RegionCatalogue
from content.calculators.rules import (
    ContributionTable,
    Deadline,
    LateFee,
    late_fee,
    load_rules,
    monthly_contributions,
    registration_deadline,
)
from content.i18n import Translator
from content.knowledge.answering import ARTICLES_SHOWN, Answer, Answerer, AnswerStatus
from content.knowledge.articles import Article
from content.knowledge.drafts import AnsweredQuestion, draft_entries
from content.knowledge.model import Entry
from content.payroll.check import PayrollChecker, PayrollReport
from content.payroll.reader import MAX_PAYROLL_BYTES, PayrollFileError, read_payroll
from content.payroll.report import ReportFile, findings_file, summary_text
from kernel.idnumber import mask_id_number
from kernel.permissions import NotStaff
from storage.errors import record_error
from storage.models.employer import EmployerQuestion
from storage.models.signals import EMPLOYER_QUESTION_PARAM, ChatNotice
from storage.uow import UnitOfWorkFactory

MAX_STAFF_ANSWER_CHARS = 3000
# The chat notice that carries a staff answer given where the bot cannot message the
# employer itself (the web console); its params name the question, never its text.
STAFF_ANSWER_NOTICE = "employer_answer"
PAYROLL_EXTENSIONS = (".csv", ".xlsx", ".xlsm", ".xls", ".txt", ".tsv")

_ID_LIKE = re.compile(r"(?<![0-9])\d{17}[\dXx](?![0-9A-Za-z])|(?<![0-9])\d{15}(?![0-9])")
_MOBILE_LIKE = re.compile(r"(?<![0-9])1[3-9]\d{9}(?![0-9])")


def redact(text: str) -> str:
    """Masks what looks like an ID number or a mobile number before a question is stored."""
    text = _ID_LIKE.sub(lambda m: mask_id_number(m.group(0).upper()), text)
    return _MOBILE_LIKE.sub(lambda m: m.group(0)[:3] + "****" + m.group(0)[-4:], text)


@dataclass(frozen=True)
class AskResult:
    answer: Answer
    queued_id: int | None = None


@dataclass(frozen=True)
class QueuedQuestion:
    question_id: int
    asked_at: datetime
    language: str
    question: str
    closest: tuple[str, ...]


@dataclass(frozen=True)
class StaffReply:
    question_id: int
    chat_id: int
    language: str
    question: str
    answer: str


@dataclass(frozen=True)
class PayrollOutcome:
    refused: bool
    text: str
    file: ReportFile | None = None
    report: PayrollReport | None = None


class EmployerService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        answerer: Answerer | Callable[[], Answerer],
        regions: RegionCatalogue,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow_factory = uow_factory
        # An Answerer, or what makes one on first use (indexing takes about two seconds).
        self._answerer = answerer
        self.regions = regions
        self._zone = ZoneInfo(timezone)
        self._clock = clock
        self.rules = load_rules()

    @property
    def answerer(self) -> Answerer:
        if not isinstance(self._answerer, Answerer):
            self._answerer = self._answerer()
        return self._answerer

    def today(self) -> date:
        return self._clock().astimezone(self._zone).date()

    # ------------------------------------------------------------------ answers

    def answer(self, question: str) -> Answer:
        return self.answerer.answer(question)

    def entry(self, entry_id: str) -> Entry | None:
        return self.answerer.entry(entry_id)

    async def ask(
        self,
        question: str,
        *,
        telegram_user_id: int,
        chat_id: int,
        language: str,
        source_key: str | None = None,
    ) -> AskResult:
        """The answer; a question the bot is not sure about also goes to the staff queue.

        `source_key` names the message that asked ("tg:<chat id>:<message id>"): a message
        handled again (after a crash or an outage) finds its question instead of queueing
        it twice."""
        answer = self.answerer.answer(question)
        if answer.status is not AnswerStatus.UNSURE:
            return AskResult(answer)
        text = redact(question.strip())
        async with self._uow_factory() as uow:
            if source_key is not None and (asked := await uow.employer_questions.by_source_key(source_key)):
                return AskResult(answer, asked.id)
            waiting = await uow.employer_questions.open_by_user(telegram_user_id, text)
            if waiting is not None:
                return AskResult(answer, waiting.id)
            row = EmployerQuestion(
                telegram_user_id=telegram_user_id,
                chat_id=chat_id,
                language=language,
                question=text,
                confidence=answer.confidence,
                closest=[entry.id for entry in answer.related],
                asked_at=self._clock(),
                source_key=source_key,
            )
            uow.employer_questions.add(row)
            await uow.commit()
            return AskResult(answer, row.id)

    # ------------------------------------------------------------------ the staff queue

    async def _staff_id(self, uow, telegram_user_id: int) -> int:
        member = await uow.staff.by_telegram_user(telegram_user_id)
        if member is None:
            raise NotStaff(telegram_user_id)
        return member.id

    async def open_questions(self, staff_telegram_user_id: int, limit: int = 10) -> list[QueuedQuestion]:
        async with self._uow_factory() as uow:
            await self._staff_id(uow, staff_telegram_user_id)
            rows = await uow.employer_questions.open(limit)
            return [
                QueuedQuestion(row.id, row.asked_at, row.language, row.question, tuple(row.closest or ()))
                for row in rows
            ]

    def closest(self, question: QueuedQuestion) -> tuple[list[Entry], list[Article]]:
        """What may help staff answer a queued question: the entries the bot found closest
        (stored with it) and the articles of law closest to it (searched again, as the articles
        stand now: not stored)."""
        entries = [entry for entry in map(self.entry, question.closest) if entry is not None]
        articles = self.answerer.articles
        found = articles.search(question.question, limit=ARTICLES_SHOWN) if articles is not None else []
        return entries, [article for article, _ in found]

    async def answer_question(
        self, staff_telegram_user_id: int, question_id: int, text: str, *, leave_notice: bool = False
    ) -> StaffReply | None:
        """Records a staff answer; None when the question is gone or someone answered first.

        `leave_notice`: the employer is told by the bot's notice job, written in the same
        transaction (the console, which cannot message the chat itself); the bot tells them
        at once instead."""
        answer = (text or "").strip()[:MAX_STAFF_ANSWER_CHARS]
        if not answer:
            raise ValueError("an answer needs some text")
        async with self._uow_factory() as uow:
            staff_id = await self._staff_id(uow, staff_telegram_user_id)
            row = await uow.employer_questions.get(question_id)
            if row is None or not await uow.employer_questions.answer(
                question_id, staff_id, answer, self._clock()
            ):
                return None
            if leave_notice:
                uow.notices.add(
                    ChatNotice(
                        chat_id=row.chat_id,
                        kind=STAFF_ANSWER_NOTICE,
                        params={EMPLOYER_QUESTION_PARAM: row.id},
                    )
                )
            await uow.commit()
            return StaffReply(row.id, row.chat_id, row.language, row.question, answer)

    async def export_drafts(self, path: Path) -> int:
        """Answered questions not exported before, as draft entries for an editor (TOML)."""
        async with self._uow_factory() as uow:
            rows = await uow.employer_questions.answered_not_exported()
            items = [
                AnsweredQuestion(
                    row.id,
                    row.language,
                    row.question,
                    row.answer or "",
                    tuple(row.closest or ()),
                    row.asked_at.astimezone(self._zone).date()
                    if row.asked_at.tzinfo
                    else row.asked_at.date(),
                )
                for row in rows
            ]
            if not items:
                return 0
            await asyncio.to_thread(_write_text, path, draft_entries(items, self.today()))
            await uow.employer_questions.mark_exported([item.question_id for item in items], self._clock())
            await uow.commit()
            return len(items)

    # ------------------------------------------------------------------ calculators

    def region(self, code: str | None) -> Region:
        return (self.regions.get(code) if code else None) or self.regions.default

    # Each calculator returns its result, or the InputProblem that stops it (a code and the
    # values its words need); bot/presenters/calculators.py words both.

    def contributions(self, wage_text: str, region_code: str | None) -> ContributionTable | InputProblem:
        try:
            wage = parse_amount(wage_text)
        except InputProblem as problem:
            return problem
        return monthly_contributions(wage, self.region(region_code))

    def check_wage(self, wage_text: str) -> Decimal | InputProblem:
        """A typed wage, checked before the region is asked for."""
        try:
            return parse_amount(wage_text)
        except InputProblem as problem:
            return problem

    def late_fee(self, amount_text: str, due_text: str, on_text: str | None) -> LateFee | InputProblem:
        today = self.today()
        try:
            amount = parse_amount(amount_text)
            due = parse_date(due_text, today=today)
            on = parse_date(on_text, today=today) if on_text else today
        except InputProblem as problem:
            return problem
        if on < due:
            return InputProblem("date_order")
        return late_fee(amount, due, on, self.rules)

    def registration_deadline(self, start_text: str) -> Deadline | InputProblem:
        try:
            start = parse_date(start_text, today=self.today())
        except InputProblem as problem:
            return problem
        return registration_deadline(start, "employee", self.rules)

    # ------------------------------------------------------------------ payroll self-check

    @property
    def max_payroll_bytes(self) -> int:
        return MAX_PAYROLL_BYTES

    async def refuse_file(self, chat_id: int, code: str, size: int | None, file_name: str = "") -> None:
        """An ErrorRecord for a refused payroll: the reason, size and extension, nothing else."""
        extension = Path(file_name).suffix.lower()[:10]
        await record_error(
            self._uow_factory,
            "payroll",
            code,
            f"size={size}",
            chat_id=chat_id,
            context={"size": size, "extension": extension},
        )

    async def check_payroll(
        self, data: bytes, *, file_name: str, chat_id: int, language: str, region_code: str | None = None
    ) -> PayrollOutcome:
        t = Translator(language)
        region = self.region(region_code)
        today = self.today()

        def work() -> tuple[PayrollReport, ReportFile | None]:
            payroll = read_payroll(data)
            report = PayrollChecker(region, today, self.rules).check(payroll)
            return report, findings_file(report, t, payroll.kind) if report.findings else None

        try:
            report, file = await asyncio.to_thread(work)
        except PayrollFileError as error:
            await self.refuse_file(chat_id, error.code, len(data), file_name)
            return PayrollOutcome(
                True, t(f"payroll.error.{error.code}", **error.params) + "\n\n" + t("payroll.format")
            )
        return PayrollOutcome(False, summary_text(report, t, language), file, report)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
