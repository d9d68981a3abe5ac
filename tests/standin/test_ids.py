"""The stand-in's ids go on above those of its last run, as Telegram's do (demo/standin_ids.py)."""

from __future__ import annotations

import pytest

from demo.standin.state import StandinState
from demo.standin_ids import BLOCK, IdsUsedUp, reserve_first_id


def test_each_start_reserves_the_next_block_and_writes_its_bound_first(tmp_path):
    bound = tmp_path / "demo" / "standin_ids"
    # The first start begins above the ids of runs from before the file (which began at 1).
    assert reserve_first_id(bound) == BLOCK
    assert bound.read_text() == f"{2 * BLOCK}\n"
    assert reserve_first_id(bound) == 2 * BLOCK
    assert reserve_first_id(bound, block=10) == 3 * BLOCK
    assert bound.read_text() == f"{3 * BLOCK + 10}\n"


@pytest.mark.parametrize("content", [b"", b"twelve\n", b"\xff\xfe", b"0\n", b"2147483000\n"])
def test_a_bound_that_cannot_be_trusted_stops_the_start_rather_than_give_an_id_again(tmp_path, content):
    bound = tmp_path / "standin_ids"
    bound.write_bytes(content)
    with pytest.raises(IdsUsedUp, match="standin_ids"):
        reserve_first_id(bound)
    assert bound.read_bytes() == content  # left as it was, for whoever looks


def test_the_stand_in_begins_its_update_and_message_ids_at_the_first_id():
    state = StandinState(["7:seven"], first_id=5_000)
    first_update, first = state.user_message(42, {"text": "/start"})
    second_update, second = state.user_message(42, {"text": "你好"})
    _, other_chat = state.user_message(43, {"text": "hello"})
    assert (first_update, second_update) == (5_000, 5_001)
    assert (first["message_id"], second["message_id"], other_chat["message_id"]) == (5_000, 5_001, 5_000)
