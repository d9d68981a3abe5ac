"""What the console's handlers may call: built once by the runtime, kept under one app key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiohttp import web

from accounts.console_sign_in import ConsoleAuditTrail, ConsoleSignInService
from content.employer_service import EmployerService
from kernel.clock import Clock
from training.service import TrainingService
from verification.care.home_visits import HomeVisitService
from verification.certification.pass_audit import AuditService
from verification.certification.review import ReviewService
from verification.records.assistance import AssistanceService
from verification.reporting.retiree_file import RetireeFileService

if TYPE_CHECKING:  # the reporting services load openpyxl and reportlab only when used
    from verification.reporting.lists import RetireeListService
    from verification.reporting.service import QuarterlyReportService

# (code, detail) -> an error record of source "console"; never personal data.
RecordRefusal = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class ConsoleServices:
    sign_in: ConsoleSignInService
    audit: ConsoleAuditTrail
    reports: QuarterlyReportService
    lists: RetireeListService
    files: RetireeFileService
    review: ReviewService
    audits: AuditService
    record_refusal: RecordRefusal
    clock: Clock
    zone: ZoneInfo
    training: TrainingService | None = None
    assistance: AssistanceService | None = None  # 协查 between regions (None: not offered here)
    home_visits: HomeVisitService | None = None
    employer: EmployerService | None = None  # the questions the bot handed to staff


services_key = web.AppKey("console_services", ConsoleServices)
prefix_key = web.AppKey("console_prefix", str)  # where the console is mounted
