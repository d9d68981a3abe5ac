"""getMe and the bot command list (PTB and bots call these at start-up)."""

from __future__ import annotations

import json
import re
from typing import Any

from demo.standin.errors import bad_request
from demo.standin.registry import Call, method

_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


@method("getMe")
async def get_me(call: Call) -> dict[str, Any]:
    return {
        **call.bot,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _scope_key(call: Call) -> str:
    scope = call.params.json("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + (call.params.text("language_code") or "")


@method("setMyCommands")
async def set_my_commands(call: Call) -> bool:
    commands = call.params.json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    cleaned = []
    for command in commands:
        name = str(command.get("command", "")) if isinstance(command, dict) else ""
        description = str(command.get("description", "")) if isinstance(command, dict) else ""
        if not _COMMAND.match(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("command description must be non-empty")
        cleaned.append({"command": name, "description": description})
    call.state.commands[_scope_key(call)] = cleaned
    return True


@method("getMyCommands")
async def get_my_commands(call: Call) -> list[dict[str, str]]:
    return call.state.commands.get(_scope_key(call), [])


@method("deleteMyCommands")
async def delete_my_commands(call: Call) -> bool:
    call.state.commands.pop(_scope_key(call), None)
    return True
