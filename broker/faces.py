"""Face and liveness work on a distributed task queue: taskiq, on the deployment's RabbitMQ,
with the results in Redis.

Why taskiq and not Celery: the bot is asyncio from end to end (PTB, aiohttp, SQLAlchemy's
async engine). taskiq's client sends a job and awaits its result on the event loop, and its
RabbitMQ broker is aio-pika, the library the update queues already use; Celery's client is
synchronous (a thread per waiting conversation) and brings its own AMQP stack.

A bot worker sends the NAME of a face job (verification.faces.pool.FACE_JOBS) and its
arguments; a face worker (`serve --role faces`, on any machine) runs it in its own
FaceWorkerPool (FACE_WORKERS processes, models loaded once) and saves the result in Redis,
where the waiting conversation picks it up. The message is acknowledged only once the result
is saved: a face worker killed mid-job leaves it unacknowledged and RabbitMQ hands it to
another (the queue gives up after FACE_DELIVERY_LIMIT deliveries: a job that kills every
worker goes to the dead-letter queue, and the person is asked to try again).

The jobs carry selfies, video notes and reference templates, so a job's arguments and its
result travel sealed: pickled (numpy arrays and dataclasses), then encrypted and
authenticated with Fernet under a key derived from DATA_KEY, which every process of the
deployment holds. Nothing biometric rests readable on the broker's or Redis' disk, taskiq
itself only ever sees (and could only ever log) the sealed text, and a job forged by someone
without the key is refused before anything is unpickled.
"""

from __future__ import annotations

import asyncio
import base64
import pickle
from typing import Annotated, Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from taskiq import AsyncBroker, Context, TaskiqDepends
from taskiq.exceptions import TaskiqResultTimeoutError
from taskiq_aio_pika import AioPikaBroker, Exchange, Queue
from taskiq_redis import RedisAsyncResultBackend

from verification.faces.pipeline import VerifyPolicy
from verification.faces.pool import FaceWork, FaceWorkerPool, FaceWorkError, FaceWorkTimeout

FACE_TASK = "pension_bot.face_job"
FACE_DELIVERY_LIMIT = 3
RESULT_SECONDS = 600  # a result nobody collected (the conversation gave up) expires


class Seal:
    """pickle inside Fernet, as text (what taskiq's JSON messages and results carry)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def close(self, value: Any) -> str:
        return self._fernet.encrypt(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).decode()

    def open(self, sealed: str) -> Any:
        try:
            plain = self._fernet.decrypt(sealed.encode())
        except InvalidToken:  # forged, or another deployment's key
            raise ValueError("face job refused: not sealed with this deployment's key") from None
        return pickle.loads(plain)  # noqa: S301 - authenticated above: only our own processes wrote it


def face_queue_key(data_key: bytes) -> bytes:
    """A Fernet key for the face queue, derived from DATA_KEY (never DATA_KEY itself)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pension-bot face queue").derive(
        data_key
    )
    return base64.urlsafe_b64encode(derived)


async def run_face_job(sealed: str, context: Annotated[Context, TaskiqDepends()]) -> str:
    """In a face worker: one job of FACE_JOBS, sealed (name, arguments), in this machine's
    pool; the result sealed too."""
    seal: Seal = context.state.face_seal
    pool: FaceWorkerPool = context.state.face_pool
    job, args = seal.open(sealed)
    return seal.close(await pool.run_job(job, *args, time_limit=None))


def face_broker(
    amqp_url: str, redis_url: str, key: bytes, *, prefix: str = "pension-bot", prefetch: int = 1
) -> AsyncBroker:
    queue = Queue(
        name=f"{prefix}.faces",
        arguments={"x-delivery-limit": FACE_DELIVERY_LIMIT},
    )
    broker = (
        AioPikaBroker(
            amqp_url,
            qos=prefetch,
            exchange=Exchange(name=f"{prefix}.faces"),
            task_queues=[queue],
            dead_letter_queue=Queue(name=f"{prefix}.faces.dead"),
        )
        # Read once, then deleted; one nobody collected expires.
        .with_result_backend(
            RedisAsyncResultBackend(redis_url, keep_results=False, result_ex_time=RESULT_SECONDS)
        )
    )
    broker.state.face_seal = Seal(key)
    broker.register_task(run_face_job, task_name=FACE_TASK)
    return broker


class RemoteFaceWork(FaceWork):
    """The services' face calls, run by face workers on the task queue. Waits up to
    `timeout` seconds for a result (queueing included: a burst of video notes waits its turn)."""

    def __init__(
        self, broker: AsyncBroker, *, timeout: float = 120.0, policy: VerifyPolicy | None = None
    ) -> None:
        self._broker = broker
        self._seal: Seal = broker.state.face_seal
        self.timeout = timeout
        self.policy = policy
        self._started = False
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        async with self._starting:
            if not self._started:
                await self._broker.startup()
                self._started = True

    async def shutdown(self) -> None:
        if self._started:
            self._started = False
            await self._broker.shutdown()

    async def run_job(self, job: str, *args: Any, time_limit: float | None) -> Any:
        await self.start()
        limit = time_limit if time_limit is not None else self.timeout
        task = self._broker.find_task(FACE_TASK)
        if task is None:  # pragma: no cover - face_broker registers it
            raise FaceWorkError("the face task is not registered")
        sent = await task.kiq(self._seal.close((job, args)))
        try:
            result = await sent.wait_result(check_interval=0.05, timeout=limit)
        except TaskiqResultTimeoutError as error:
            raise FaceWorkTimeout(f"no face worker answered within {limit} s") from error
        if result.is_err:
            raise FaceWorkError(f"the face job failed in its worker ({type(result.error).__name__})")
        return self._seal.open(result.return_value)
