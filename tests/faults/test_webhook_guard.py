"""The webhook under forged, malformed and over-large requests: 403/400/413 (never 500),
counted by reason in memory, and only a bounded sample written as error records."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient, TestServer
from telegram.ext import ApplicationBuilder

from web.update_guard import MalformedUpdate, RefusalCounter, parse_update
from web.webhook import MAX_UPDATE_BYTES, WEBHOOK_PATH, create_webhook_app, into_application, refusals_key

TOKEN = "7100000001:webhook-guard"
SECRET = "s3cret-only-telegram-knows"
GOOD = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def _update(update_id: int = 7) -> dict:
    chat = {"id": 5, "type": "private"}
    person = {"id": 5, "is_bot": False, "first_name": "A"}
    message = {"message_id": 3, "date": 0, "chat": chat, "from": person, "text": "你好"}
    return {"update_id": update_id, "message": message}


def _with_message(**fields) -> bytes:
    update = _update()
    return json.dumps({**update, "message": {**update["message"], **fields}}).encode()


class Recorded:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    async def __call__(self, code: str, detail: str) -> None:
        self.rows.append((code, detail))


@pytest.fixture
async def served():
    application = ApplicationBuilder().token(TOKEN).updater(None).build()
    recorded = Recorded()
    app = create_webhook_app(into_application(application), SECRET, recorded, bot=application.bot)
    async with TestClient(TestServer(app)) as client:
        yield client, application, recorded, app


async def test_a_flood_of_forged_requests_is_counted_and_only_sampled(served):
    client, application, recorded, app = served
    for index in range(400):
        headers = {} if index % 4 == 0 else {"X-Telegram-Bot-Api-Secret-Token": f"guess-{index}"}
        async with client.post(WEBHOOK_PATH, json=_update(), headers=headers) as response:
            assert response.status == 403
    counts = app[refusals_key].snapshot()
    assert counts["missing_secret"] == 100 and counts["wrong_secret"] == 300
    assert application.update_queue.qsize() == 0
    # Three samples per reason, not a row per request; nothing of the body in them.
    assert len(recorded.rows) == 6
    assert {code for code, _ in recorded.rows} == {"forged_webhook_request"}
    await app[refusals_key].flush()
    code, detail = recorded.rows[-1]
    assert code == "webhook_refusals_suppressed"
    assert detail == "missing_secret=97 wrong_secret=297"


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"x"',
        b"null",
        b"5",
        b"{not json",
        b"\xff\xfe",
        b'{"update_id":1,"message":"hi"}',
        b'{"update_id":"abc"}',
        b'{"update_id":true}',
        b'{"update_id":0}',
        b'{"update_id":-3}',
        b"{}",
        b'{"update_id":1,"callback_query":5}',
        json.dumps(_update() | {"update_id": 1.5}).encode(),
        _with_message(text=5),
        _with_message(message_id="x"),
        _with_message(date="z"),
        _with_message(chat={"id": "y", "type": "private"}),
        _with_message(**{"from": {"id": 5, "is_bot": "no", "first_name": "A"}}),
        json.dumps({**_update(), "message": {"message_id": 1, "date": 0}}).encode(),
        json.dumps(
            {
                "update_id": 2,
                "callback_query": {
                    "id": 5,
                    "from": {"id": 1, "is_bot": False, "first_name": "a"},
                    "chat_instance": "c",
                    "data": 7,
                },
            }
        ).encode(),
        b'{"update_id":1,"message":' * 5000,
    ],
)
async def test_malformed_bodies_are_400_never_500(served, body):
    client, application, recorded, app = served
    async with client.post(WEBHOOK_PATH, data=body, headers=GOOD) as response:
        assert response.status == 400
    assert app[refusals_key].snapshot()["malformed_body"] == 1
    assert application.update_queue.qsize() == 0
    [(code, detail)] = recorded.rows
    assert code == "malformed_update" and "你好" not in detail


async def test_an_over_large_body_is_413(served):
    client, application, recorded, app = served
    body = b'{"update_id":1,"pad":"' + b"x" * MAX_UPDATE_BYTES + b'"}'
    async with client.post(WEBHOOK_PATH, data=body, headers=GOOD) as response:
        assert response.status == 413
    assert app[refusals_key].snapshot()["too_large"] == 1
    assert recorded.rows[0][0] == "oversized_update"
    # Without the secret the body is not even read: 403.
    async with client.post(WEBHOOK_PATH, data=body) as response:
        assert response.status == 403


async def test_a_valid_update_goes_through(served):
    client, application, recorded, app = served
    payload = _update(41) | {"some_future_field": {"x": 1}}
    async with client.post(WEBHOOK_PATH, json=payload, headers=GOOD) as response:
        assert response.status == 200
    update = application.update_queue.get_nowait()
    assert update.update_id == 41 and update.message.text == "你好"
    assert recorded.rows == [] and sum(app[refusals_key].snapshot().values()) == 0


async def test_samples_start_again_in_each_window_with_a_summary_of_the_last():
    recorded, clock = Recorded(), [100.0]
    counter = RefusalCounter(recorded, samples=2, window=60.0, monotonic=lambda: clock[0])
    for _ in range(5):
        await counter.refuse("wrong_secret", "forged_webhook_request", "wrong_secret")
    assert len(recorded.rows) == 2
    clock[0] += 61
    await counter.refuse("too_large", "oversized_update", "")
    assert recorded.rows[2:] == [("webhook_refusals_suppressed", "wrong_secret=3"), ("oversized_update", "")]
    await counter.flush()
    assert len(recorded.rows) == 4  # nothing suppressed in this window: no summary
    assert counter.snapshot() == {"missing_secret": 0, "wrong_secret": 5, "malformed_body": 0, "too_large": 1}


async def test_a_refusal_is_answered_even_when_it_cannot_be_recorded():
    async def failing(code: str, detail: str) -> None:
        raise OSError("database away")

    counter = RefusalCounter(failing)
    await counter.refuse("wrong_secret", "forged_webhook_request", "")
    assert counter.counts["wrong_secret"] == 1


def test_parse_update_accepts_real_shapes_and_names_no_values():
    assert parse_update(json.dumps(_update(9)).encode())["update_id"] == 9
    inaccessible = {"chat": {"id": 5, "type": "private"}, "message_id": 3, "date": 0}
    query = {
        "id": "q1",
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
        "chat_instance": "c",
        "data": "menu:home",
        "message": inaccessible,
    }
    assert parse_update(json.dumps({"update_id": 10, "callback_query": query}).encode())
    with pytest.raises(MalformedUpdate) as refused:
        parse_update(_with_message(text=123456))
    assert "123456" not in str(refused.value) and "message.text" in str(refused.value)
