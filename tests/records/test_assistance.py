"""协查 over the signed exchange: opened once, moved through its states, overdue in time."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.records.regions import BJ, BJ_PAID, SZ, add_retirees
from tests.records.test_exchange import _post
from verification.records.assistance import ASSISTANCE_PATH, IllegalTransition
from verification.records.exchange import sign_headers


async def _ask(sz, bj, body: dict) -> tuple[int, dict]:
    raw = json.dumps(body).encode()
    headers = sign_headers(bj.key, BJ, "POST", ASSISTANCE_PATH, raw, bj.clock())
    return await _post(sz.url, raw, headers, ASSISTANCE_PATH)


async def test_an_assistance_request_goes_open_in_progress_answered(regions):
    sz, bj = regions  # Beijing pays BJ_PAID, who live in Shenzhen: Beijing asks Shenzhen
    ask = {"request_id": "q-1", "retiree_hash": BJ_PAID[0], "question": "请核实是否仍居住在本地"}
    status, opened = await _ask(sz, bj, ask)
    assert status == 201 and opened["created"] and opened["state"] == "open"
    status, again = await _ask(sz, bj, ask)
    assert status == 200 and again == {"id": opened["id"], "created": False, "state": "open"}

    started = await sz.assistance.start(opened["id"], staff_id=7)
    assert started.state == "in_progress"
    answered = await sz.assistance.answer(opened["id"], staff_id=7, answer="已上门核实，本人健在")
    assert answered.state == "answered" and answered.answered_at is not None
    with pytest.raises(IllegalTransition):
        await sz.assistance.start(opened["id"], staff_id=7)


async def test_unanswered_requests_become_overdue_and_can_still_be_answered(regions):
    sz, bj = regions
    status, opened = await _ask(sz, bj, {"request_id": "q-2", "retiree_hash": BJ_PAID[1], "question": "?"})
    assert status == 201
    assert await sz.assistance.sweep_overdue() == 0
    sz.clock.now += timedelta(days=16)
    assert await sz.assistance.sweep_overdue() == 1
    assert (await sz.assistance.answer(opened["id"], staff_id=1, answer="late")).state == "answered"


async def test_bad_assistance_requests_are_refused(regions):
    sz, bj = regions
    status, problem = await _ask(sz, bj, {"request_id": "q-3", "retiree_hash": "e" * 64, "question": "?"})
    assert status == 422 and problem["type"].endswith("not_our_resident")
    status, problem = await _ask(sz, bj, {"request_id": "q-4"})
    assert status == 400 and problem["type"].endswith("malformed_body")
    await add_retirees(sz, ["d" * 64], SZ, BJ)  # lives in Beijing: not Shenzhen's to check
    status, _ = await _ask(sz, bj, {"request_id": "q-5", "retiree_hash": "d" * 64, "question": "?"})
    assert status == 422
