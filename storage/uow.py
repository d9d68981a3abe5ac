"""Unit of work: one session, one transaction, the repositories bound to it.

    async with uow_factory() as uow:
        ...
        await uow.commit()

Leaving the block without commit rolls back, so a failure half-way writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.care_repositories import HomeVisitRepository, LifeEventRepository
from storage.certification_repositories import (
    AttemptRepository,
    AuditRepository,
    BindingRepository,
    CertificationRepository,
    ConsentRepository,
    CycleQueries,
    EvidenceRepository,
    FaceRepository,
    PassAuditRepository,
    ReminderRepository,
    ReviewRepository,
    StaffRepository,
    SuspensionRepository,
)
from storage.employer_repositories import EmployerQuestionRepository
from storage.inbox_repository import InboxRepository
from storage.liveness_repositories import ChallengeRepository, FingerprintRepository
from storage.publicity_repositories import PublicityRepository
from storage.repositories import (
    BotUserRepository,
    ErrorRecordRepository,
    RetireeRepository,
    RosterImportRepository,
)


class UnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.bot_users = BotUserRepository(self.session)
        self.retirees = RetireeRepository(self.session)
        self.errors = ErrorRecordRepository(self.session)
        self.roster_imports = RosterImportRepository(self.session)
        self.bindings = BindingRepository(self.session)
        self.consents = ConsentRepository(self.session)
        self.staff = StaffRepository(self.session)
        self.faces = FaceRepository(self.session)
        self.attempts = AttemptRepository(self.session)
        self.evidence = EvidenceRepository(self.session)
        self.certifications = CertificationRepository(self.session)
        self.reviews = ReviewRepository(self.session)
        self.pass_audits = PassAuditRepository(self.session)
        self.reminders = ReminderRepository(self.session)
        self.suspensions = SuspensionRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.cycle = CycleQueries(self.session)
        self.employer_questions = EmployerQuestionRepository(self.session)
        self.publicity = PublicityRepository(self.session)
        self.challenges = ChallengeRepository(self.session)
        self.fingerprints = FingerprintRepository(self.session)
        self.home_visits = HomeVisitRepository(self.session)
        self.life_events = LifeEventRepository(self.session)
        self.inbox = InboxRepository(self.session)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        # close() ends the transaction (uncommitted work is rolled back) and detaches what was
        # loaded without expiring it, so values read inside the block stay readable after it.
        try:
            if exc_type is not None:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


UnitOfWorkFactory = Callable[[], UnitOfWork]


def unit_of_work_factory(session_factory: async_sessionmaker[AsyncSession]) -> UnitOfWorkFactory:
    return lambda: UnitOfWork(session_factory)
