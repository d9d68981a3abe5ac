"""Face and liveness work on the task queue (issue 18): taskiq on the local RabbitMQ, results in
the local Redis, a face worker as a process of its own (`serve --role faces`) running the real
dlib models on real photos. A face worker killed mid-job: the job is done by another. A
message not sealed with the deployment's key is refused and the worker goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aio_pika
import aiohttp
import pytest
from pydantic import SecretStr

from app.bench_support import fresh_key_environment
from app.local_deployment import RoleProcess
from app.settings import Settings, new_personal_data_keys
from app.wiring import face_broker_of
from broker.faces import RemoteFaceWork
from tests.conftest import faces_dir
from tests.faces.conftest import GENUINE_PAIR, IMPOSTOR_PAIR
from verification.faces.pool import FaceWorkError
from verification.faces.reasons import Reason

pytestmark = [pytest.mark.serial, pytest.mark.faces]


async def _taken(rabbitmq_url: str, queue: str) -> None:
    """Returns once no job waits in the queue: a face worker holds it."""
    connection = await aio_pika.connect_robust(rabbitmq_url)
    try:
        channel = await connection.channel()
        for _ in range(400):
            declared = await channel.declare_queue(queue, passive=True)
            if declared.declaration_result.message_count == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("no face worker took the job")
    finally:
        await connection.close()


async def test_face_jobs_run_on_a_face_worker_and_survive_one_killed_mid_job(
    tmp_path: Path, rabbitmq_url: str, redis_url: str, topology
):
    photos = faces_dir()

    def read_photo(relative: str) -> bytes:
        return (photos / relative).read_bytes()

    env = {
        **fresh_key_environment(),
        "BROKER_URL": rabbitmq_url,
        "REDIS_URL": redis_url,
        "BROKER_PREFIX": topology.prefix,
        "FACE_WORKERS": "1",
    }
    settings = Settings(
        broker_url=env["BROKER_URL"],
        redis_url=env["REDIS_URL"],
        broker_prefix=env["BROKER_PREFIX"],
        data_key=env["DATA_KEY"],
        id_hash_key=env["ID_HASH_KEY"],
        var_dir=tmp_path / "bot",
    )
    first = RoleProcess("faces", {**env, "VAR_DIR": str(tmp_path / "a")}, tmp_path / "faces-a.log")
    second = RoleProcess("faces", {**env, "VAR_DIR": str(tmp_path / "b")}, tmp_path / "faces-b.log")
    remote = RemoteFaceWork(face_broker_of(settings), timeout=120)
    async with aiohttp.ClientSession() as http:
        try:
            first.start()
            await first.ready(http)
            reference = await remote.encode_reference(read_photo(GENUINE_PAIR[0]))
            assert reference.ok and reference.template is not None
            genuine = await remote.check_selfie(reference.template, read_photo(GENUINE_PAIR[1]))
            impostor = await remote.check_selfie(reference.template, read_photo(IMPOSTOR_PAIR[1]))
            assert (genuine.verdict, genuine.reason) == ("pass", Reason.MATCH)
            assert impostor.verdict != "pass"

            # A forged job (not sealed with the key) is refused; the worker goes on.
            connection = await aio_pika.connect_robust(rabbitmq_url)
            channel = await connection.channel()
            exchange = await channel.get_exchange(f"{topology.prefix}.faces")
            forged = aio_pika.Message(b"\x80\x04forged")
            await exchange.publish(forged, routing_key=f"{topology.prefix}.faces")
            await connection.close()
            # ... and so is a well-formed job sealed with another key (whoever can reach the
            # broker cannot make a face worker unpickle what they wrote).
            other_key = new_personal_data_keys()["data_key"]
            elsewhere = settings.model_copy(update={"data_key": SecretStr(other_key)})
            intruder = RemoteFaceWork(face_broker_of(elsewhere), timeout=30)
            try:
                with pytest.raises(FaceWorkError):
                    await intruder.check_selfie(reference.template, read_photo(GENUINE_PAIR[1]))
            finally:
                await intruder.shutdown()
            again = await remote.check_selfie(reference.template, read_photo(GENUINE_PAIR[1]))
            assert again.verdict == "pass"

            # Killed mid-job: ten frames take the one worker a couple of seconds.
            frames = [read_photo(GENUINE_PAIR[1])] * 10
            job = asyncio.create_task(remote.verify([reference.template], frames))
            await _taken(rabbitmq_url, f"{topology.prefix}.faces")
            await first.kill()
            assert not job.done()
            second.start()
            await second.ready(http)
            verdict = await asyncio.wait_for(job, 120)
            assert (verdict.verdict, verdict.reason) == ("pass", Reason.MATCH)
        finally:
            await remote.shutdown()
            await asyncio.gather(first.stop(), second.stop())
            print(f"--- a\n{first.log_tail(15)}\n--- b\n{second.log_tail(15)}")
