"""Settings → storage → services: built once per process and closed on the way out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.binding import BindingService
from accounts.consent import ConsentService
from accounts.console_sign_in import ConsoleSignInService
from accounts.profiles import ProfileService
from accounts.staff import StaffService
from app.file_modes import secure_storage
from app.settings import Settings
from bot.services import BotServices
from content.calculators.regions import load_regions
from content.employer_service import EmployerService
from content.knowledge.answering import default_answerer
from content.publicity.service import PublicityService
from kernel.clock import Clock, utc_now
from storage.db import create_engine, create_session_factory
from storage.job_locks import JobLocks
from storage.keyring import open_vault
from storage.protection import PersonalDataVault
from storage.schema import ensure_schema
from storage.uow import UnitOfWorkFactory, unit_of_work_factory
from training.service import TrainingService
from verification.care.home_visits import HomeVisitService
from verification.care.life_events import LifeEventService
from verification.certification.enrolment import EnrolmentReport, ReferenceEnrolment
from verification.certification.pass_audit import AuditService, PassAuditor, load_audit_policy
from verification.certification.review import ReviewService
from verification.certification.service import CertificationService
from verification.checkplan.service import CheckPlanService
from verification.cycle.policies import DEFAULT_POLICY_FILE, load_cycle_policies
from verification.cycle.service import CycleService
from verification.faces.engines import engine_factory
from verification.faces.pipeline import VerifyPolicy
from verification.faces.pool import FaceWork, FaceWorkerPool
from verification.faces.thresholds import configured_policy
from verification.records.assistance import AssistanceService, ExchangeLink
from verification.recovery.service import RecoveryService
from verification.signals.data_matching import DataMatchingService
from verification.signals.notices import NoticeService
from verification.signals.service import FeedImporter
from verification.signals.sources import SignalSources
from verification.signals.suspicions import SuspicionService


def training_service(
    settings: Settings, uow_factory: UnitOfWorkFactory, vault: PersonalDataVault, clock: Clock = utc_now
) -> TrainingService:
    from training.material import SHIPPED, load_material

    material = load_material(settings.training_dir or SHIPPED)
    return TrainingService(
        uow_factory,
        course=material.course,
        bank=material.bank,
        rules=material.rules,
        # Certificate codes are keyed digests: derived from the ID-hash key, never stored.
        certificate_key=vault.keyed_digest("training-certificate-code", "v1"),
        check_url=settings.certificate_check_url(),
        timezone=settings.timezone,
        clock=clock,
    )


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    vault: PersonalDataVault
    bot_services: BotServices
    faces: FaceWork
    enrolment: ReferenceEnrolment
    feeds: FeedImporter


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, auto_upgrade: bool = True, index_knowledge: bool = True
) -> AsyncIterator[Runtime]:
    """Everything the product runs on. `index_knowledge=False` (console commands that answer no
    employer's question) leaves the knowledge base to be indexed on first use, not at start."""
    # The configured face engine and its calibrated thresholds, checked now: an engine without
    # a calibrated threshold (an ONNX model nobody ran `calibrate` for) stops the start-up here.
    face_spec = settings.face_engine_spec()
    face_policy = configured_policy(face_spec, settings.face_thresholds_path())
    # VAR_DIR 0700, its files and the SQLite database 0600, before the first connection.
    secure_storage(settings.var_dir, settings.database_url)
    engine = create_engine(settings.database_url)
    # Worker processes start on the first face to check, not here: most commands need none.
    faces = face_work(settings, face_policy)
    link = exchange_link(settings)
    try:
        await ensure_schema(engine, auto_upgrade=auto_upgrade)
        uow_factory = unit_of_work_factory(create_session_factory(engine))
        # The keys must be the ones the database was written with (storage/keyring.py): else
        # KeysDoNotMatchDatabase, and nothing is generated or written.
        vault = await open_vault(engine, settings)
        cycle = CycleService(
            uow_factory,
            load_cycle_policies(settings.cycle_policies_file or DEFAULT_POLICY_FILE),
            settings.timezone,
            default_language=settings.default_language,
            region_code=settings.region_code,
        )
        # Every self-service pass is scored; a share and the risky ones go to staff (🕵 /audits).
        auditor = PassAuditor(
            load_audit_policy(share=settings.pass_audit_share, threshold=settings.pass_audit_threshold),
            vault.keyed_digest,
            timezone=settings.timezone,
        )
        certification = CertificationService(
            uow_factory,
            vault,
            faces,
            cycle,
            timezone=settings.timezone,
            cohort_size=settings.face_cohort_size,
            region_code=settings.region_code,
            auditor=auditor,
        )
        bot_services = BotServices(
            profiles=ProfileService(uow_factory, settings.default_language),
            binding=BindingService(uow_factory, vault, utc_now, timezone=settings.timezone),
            consent=ConsentService(uow_factory, utc_now, vault=vault, timezone=settings.timezone),
            staff=StaffService(uow_factory, vault, utc_now),
            cycle=cycle,
            certification=certification,
            review=ReviewService(
                uow_factory,
                vault,
                cycle,
                timezone=settings.timezone,
                region_code=settings.region_code,
                training_required_in=settings.review_training_regions(),
            ),
            # The knowledge base is indexed once per process (about two seconds), off the loop.
            employer=EmployerService(
                uow_factory,
                await asyncio.to_thread(default_answerer) if index_knowledge else default_answerer,
                load_regions(),
                timezone=settings.timezone,
            ),
            publicity=PublicityService(uow_factory, timezone=settings.timezone),
            assistance=AssistanceService(
                uow_factory, settings.region_code, utc_now, vault=vault, link=link, timezone=settings.timezone
            ),
            home_visits=HomeVisitService(
                uow_factory,
                vault,
                certification,
                timezone=settings.timezone,
                region_code=settings.region_code,
            ),
            life_events=LifeEventService(
                uow_factory, vault, timezone=settings.timezone, region_code=settings.region_code
            ),
            audits=AuditService(
                uow_factory, vault, timezone=settings.timezone, region_code=settings.region_code
            ),
            notices=NoticeService(uow_factory, default_language=settings.default_language),
            data_matching=DataMatchingService(uow_factory),
            suspicions=SuspicionService(uow_factory, vault),
            recovery=RecoveryService(
                uow_factory, vault, timezone=settings.timezone, region_code=settings.region_code
            ),
            check_plan=CheckPlanService(
                uow_factory, vault, cycle, timezone=settings.timezone, region_code=settings.region_code
            ),
            console_sign_in=ConsoleSignInService(uow_factory, vault, console_url=settings.console_base_url()),
            # The course and the question bank are checked against the law texts on loading.
            training=await asyncio.to_thread(training_service, settings, uow_factory, vault),
            job_locks=JobLocks(engine),
        )
        enrolment = ReferenceEnrolment(uow_factory, vault, faces)
        feeds = FeedImporter(
            uow_factory,
            vault,
            SignalSources.load(),
            cycle.policies,
            timezone=settings.timezone,
            region_code=settings.region_code,
        )
        yield Runtime(settings, engine, uow_factory, vault, bot_services, faces, enrolment, feeds)
    finally:
        if link is not None:
            from web.exchange import HttpTransport

            if isinstance(link.transport, HttpTransport):  # what exchange_link made; it holds a session
                await link.transport.close()
        await faces.shutdown()
        await engine.dispose()


def face_work(settings: Settings, policy: VerifyPolicy | None) -> FaceWork:
    """Who checks faces: this process's pool (the default), or the face workers of the task
    queue (FACE_QUEUE=broker, broker/faces.py)."""
    if settings.face_queue == "local":
        return local_face_pool(settings, policy)
    from broker.faces import RemoteFaceWork

    return RemoteFaceWork(face_broker_of(settings), timeout=settings.face_queue_timeout, policy=policy)


def local_face_pool(settings: Settings, policy: VerifyPolicy | None) -> FaceWorkerPool:
    """FACE_WORKERS processes of this machine, each loading the configured engine once."""
    factory = engine_factory(settings.face_engine_spec())
    return FaceWorkerPool(workers=settings.face_workers, engine_factory=factory, policy=policy)


def face_broker_of(settings: Settings, *, prefetch: int = 1):
    """The task queue of face jobs (broker/faces.py), sealed with a key derived from DATA_KEY.
    `serve --role` checked BROKER_URL, REDIS_URL and DATA_KEY before anything started."""
    from broker.faces import face_broker, face_queue_key

    keys = settings.load_personal_data_keys()
    if settings.broker_url is None or settings.redis_url is None or keys is None:
        raise SystemExit("FACE_QUEUE=broker needs BROKER_URL, REDIS_URL and DATA_KEY.")
    return face_broker(
        settings.broker_url.get_secret_value(),
        settings.redis_url.get_secret_value(),
        face_queue_key(keys.data_key),
        prefix=settings.broker_prefix,
        prefetch=prefetch,
    )


def exchange_link(settings: Settings) -> ExchangeLink | None:
    """The exchange key and peers, when this deployment has them: then staff can send
    assistance requests from the bot. Without them the bot still answers incoming ones."""
    from verification.records.exchange import PeerRegistry, load_private_key
    from web.exchange import HttpTransport

    key_path, peers_path = settings.exchange_key_path(), settings.exchange_peers_path()
    if not (key_path.exists() and peers_path.exists()):
        return None
    return ExchangeLink(PeerRegistry.load(peers_path), load_private_key(key_path), HttpTransport())


@dataclass(frozen=True)
class RosterPreparation:
    codes_issued: int
    due_dates_set: int
    enrolment: EnrolmentReport | None


async def prepare_roster(runtime: Runtime, *, enrol_faces: bool = True) -> RosterPreparation:
    """What an imported roster needs before anyone can certify: binding codes for the notice
    letters, due dates, and reference faces encoded from the roster's photos."""
    services = runtime.bot_services
    codes = await services.binding.issue_codes()
    due = await services.cycle.refresh_due_dates()
    enrolment = await runtime.enrolment.enrol_missing() if enrol_faces else None
    return RosterPreparation(codes, due, enrolment)
