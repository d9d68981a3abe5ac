"""Unit of work: one session, one transaction, the repositories bound to it.

    async with uow_factory() as uow:
        ...
        await uow.commit()

Leaving the block without commit rolls back, so a failure half-way writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar, overload

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import (
    BotUserRepository,
    ErrorRecordRepository,
    RetireeRepository,
    RosterImportRepository,
)
from storage.repositories.assistance import AssistanceRepository
from storage.repositories.care import HomeVisitRepository, LifeEventRepository
from storage.repositories.certification import (
    AttemptRepository,
    AuditRepository,
    BindingRepository,
    CertificationRepository,
    ConsentRepository,
    CycleQueries,
    EvidenceRepository,
    ExportQueries,
    FaceRepository,
    PassAuditRepository,
    ReminderRepository,
    ReviewRepository,
    StaffRepository,
    SuspensionRepository,
)
from storage.repositories.checkplan import CheckPlanRepository
from storage.repositories.console import ConsoleRepository
from storage.repositories.employer import EmployerQuestionRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.liveness import ChallengeRepository, FingerprintRepository
from storage.repositories.publicity import PublicityRepository
from storage.repositories.records import (
    CheckpointRepository,
    NonceRepository,
    OutboxRepository,
    PeerHeadRepository,
    ReceivedRecordRepository,
    RecordRepository,
)
from storage.repositories.recovery import RecoveryRepository
from storage.repositories.reporting import ReportingRepository
from storage.repositories.signals import NoticeRepository, SignalRepository
from storage.repositories.staff_console import RetireeFileRepository, SignInLinkRepository
from storage.repositories.training import TrainingRepository

R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository bound to the unit of work's session, made on first use (and kept on the
    instance after it): a unit of work that reads one table builds one repository."""

    def __init__(self, kind: Callable[[AsyncSession], R]) -> None:
        self.kind = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...
    @overload
    def __get__(self, uow: UnitOfWork, owner: type) -> R: ...
    def __get__(self, uow: UnitOfWork | None, owner: type) -> R | _Repository[R]:
        if uow is None:
            return self
        made = self.kind(uow.session)
        uow.__dict__[self.name] = made
        return made


class UnitOfWork:
    session: AsyncSession

    bot_users = _Repository(BotUserRepository)
    retirees = _Repository(RetireeRepository)
    errors = _Repository(ErrorRecordRepository)
    roster_imports = _Repository(RosterImportRepository)
    bindings = _Repository(BindingRepository)
    consents = _Repository(ConsentRepository)
    staff = _Repository(StaffRepository)
    faces = _Repository(FaceRepository)
    attempts = _Repository(AttemptRepository)
    evidence = _Repository(EvidenceRepository)
    certifications = _Repository(CertificationRepository)
    reviews = _Repository(ReviewRepository)
    pass_audits = _Repository(PassAuditRepository)
    reminders = _Repository(ReminderRepository)
    suspensions = _Repository(SuspensionRepository)
    audit = _Repository(AuditRepository)
    cycle = _Repository(CycleQueries)
    employer_questions = _Repository(EmployerQuestionRepository)
    publicity = _Repository(PublicityRepository)
    challenges = _Repository(ChallengeRepository)
    fingerprints = _Repository(FingerprintRepository)
    home_visits = _Repository(HomeVisitRepository)
    life_events = _Repository(LifeEventRepository)
    inbox = _Repository(InboxRepository)
    records = _Repository(RecordRepository)
    checkpoints = _Repository(CheckpointRepository)
    peer_heads = _Repository(PeerHeadRepository)
    outbox = _Repository(OutboxRepository)
    received = _Repository(ReceivedRecordRepository)
    nonces = _Repository(NonceRepository)
    assistance = _Repository(AssistanceRepository)
    exports = _Repository(ExportQueries)
    signals = _Repository(SignalRepository)
    notices = _Repository(NoticeRepository)
    recovery = _Repository(RecoveryRepository)
    check_plan = _Repository(CheckPlanRepository)
    reporting = _Repository(ReportingRepository)
    console = _Repository(ConsoleRepository)
    sign_in_links = _Repository(SignInLinkRepository)
    retiree_files = _Repository(RetireeFileRepository)
    training = _Repository(TrainingRepository)

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        # Entered again: the repositories made for the last session must not be reused.
        for name in [n for n in vars(self) if isinstance(getattr(type(self), n, None), _Repository)]:
            del self.__dict__[name]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() ends the transaction (uncommitted work is rolled back) and detaches what was
        # loaded without expiring it, so values read inside the block stay readable after it.
        try:
            if exc_type is not None:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def flush(self) -> None:
        """Send what was added so far (new rows get their ids), still inside the transaction."""
        await self.session.flush()

    async def rollback(self) -> None:
        await self.session.rollback()


UnitOfWorkFactory = Callable[[], UnitOfWork]


def unit_of_work_factory(session_factory: async_sessionmaker[AsyncSession]) -> UnitOfWorkFactory:
    return lambda: UnitOfWork(session_factory)
