"""The services a handler may call, put in `bot_data` once when the application is built."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import ContextTypes

from accounts.profiles import ProfileService
from content.employer_service import EmployerService
from content.publicity.service import PublicityService
from verification.assistance import AssistanceService
from verification.binding import BindingService
from verification.certification import CertificationService
from verification.consent import ConsentService
from verification.cycle_service import CycleService
from verification.home_visits import HomeVisitService
from verification.life_events import LifeEventService
from verification.pass_audit import AuditService
from verification.review import ReviewService
from verification.staff import StaffService

SERVICES_KEY = "services"


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


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES_KEY]
