"""The services a handler may call, put in `bot_data` once when the application is built."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from accounts.binding import BindingService
from accounts.consent import ConsentService
from accounts.console_sign_in import ConsoleSignInService
from accounts.profiles import ProfileService
from accounts.staff import StaffService
from content.employer_service import EmployerService
from content.publicity.service import PublicityService
from training.service import TrainingService
from verification.care.home_visits import HomeVisitService
from verification.care.life_events import LifeEventService
from verification.certification.pass_audit import AuditService
from verification.certification.review import ReviewService
from verification.certification.service import CertificationService
from verification.checkplan.service import CheckPlanService
from verification.cycle.service import CycleService
from verification.records.assistance import AssistanceService
from verification.recovery.service import RecoveryService
from verification.signals.data_matching import DataMatchingService
from verification.signals.notices import NoticeService
from verification.signals.suspicions import SuspicionService

if TYPE_CHECKING:  # the console commands' runtime builds BotServices without loading Telegram
    from telegram.ext import ContextTypes

SERVICES_KEY = "services"


class JobLocks(Protocol):
    """storage/job_locks.py: `hold(name)` yields whether this process may run the job now."""

    def hold(self, name: str) -> AbstractAsyncContextManager[bool]: ...


@dataclass(frozen=True)
class BotServices:
    profiles: ProfileService
    binding: BindingService
    consent: ConsentService
    staff: StaffService
    cycle: CycleService
    certification: CertificationService
    review: ReviewService
    employer: EmployerService
    publicity: PublicityService | None = None
    assistance: AssistanceService | None = None
    home_visits: HomeVisitService | None = None
    life_events: LifeEventService | None = None
    audits: AuditService | None = None
    notices: NoticeService | None = None
    data_matching: DataMatchingService | None = None
    suspicions: SuspicionService | None = None
    recovery: RecoveryService | None = None
    check_plan: CheckPlanService | None = None
    console_sign_in: ConsoleSignInService | None = None
    training: TrainingService | None = None
    job_locks: JobLocks | None = None  # None: every timed job runs in this process


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES_KEY]
