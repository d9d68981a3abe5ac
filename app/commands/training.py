"""`pension-bot training verify NUMBER [--code CODE]`, `training revoke NUMBER --by STAFF
--reason TEXT` and `training check`: staff training certificates checked from the server,
revoked by a supervisor, and the course and question bank checked against the law texts."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from app.commands._database import DatabaseUnavailable, command_runtime
from app.commands._groups import group

if TYPE_CHECKING:  # building the parser loads no service (tests/test_import_rules.py)
    from training.service import TrainingService


def register(subparsers: argparse._SubParsersAction) -> None:
    training = group(subparsers, "training", "staff training: certificates, the course and the question bank")
    verify = training.add_parser("verify", help="is a training certificate genuine and in force?")
    verify.add_argument("number", help="the certificate number, e.g. PXC-2026-110105-000123")
    verify.add_argument("--code", help="the verification code printed beside it (checked when given)")
    verify.set_defaults(handler=lambda args: asyncio.run(_verify(args)))
    revoke = training.add_parser("revoke", help="revoke a certificate (a supervisor of its region)")
    revoke.add_argument("number")
    revoke.add_argument("--by", required=True, metavar="STAFF_NUMBER", help="the supervisor's staff number")
    revoke.add_argument("--reason", required=True, help="why, in words (kept with the revocation)")
    revoke.set_defaults(handler=lambda args: asyncio.run(_revoke(args)))
    attend = training.add_parser(
        "attend", help="record a staff member's day at a classroom session (a supervisor of their region)"
    )
    attend.add_argument("staff_number", help="the staff member who attended")
    attend.add_argument("--on", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD", help="the day")
    attend.add_argument("--by", required=True, metavar="STAFF_NUMBER", help="the supervisor's staff number")
    attend.set_defaults(handler=lambda args: asyncio.run(_attend(args)))
    check = training.add_parser(
        "check",
        help="load the course and the question bank and list every problem (citations, answers, repeats)",
    )
    check.set_defaults(handler=_check)


async def _verify(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from training.service import CheckResult

    try:
        async with command_runtime(Settings()) as runtime:
            training = runtime.bot_services.training
            assert training is not None
            check = await training.check(args.number, args.code)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    if check.result is CheckResult.VALID:
        print(
            f"{check.number}: valid; held by {check.holder} "
            f"(region {check.region_code}), issued {check.issued_on}"
        )
        return 0
    if check.result is CheckResult.REVOKED:
        print(
            f"{check.number}: REVOKED on {check.revoked_on} (issued {check.issued_on} in {check.region_code})"
        )
        return 3
    explained = {
        CheckResult.MALFORMED: "not a certificate number (they look like PXC-2026-110105-000123)",
        CheckResult.UNKNOWN: "no certificate has this number",
        CheckResult.CODE_WRONG: "the verification code is not this number's: mistyped, or tampered with",
    }
    print(f"{args.number[:40]}: {explained[check.result]}", file=sys.stderr)
    return 3


async def _as_supervisor(
    args: argparse.Namespace, act: Callable[[TrainingService, int], Awaitable[StrEnum]]
) -> int:
    """`act(training, the supervisor's Telegram account)` for the supervisor named by --by;
    prints what came of it."""
    from app.settings import Settings

    try:
        async with command_runtime(Settings()) as runtime:
            training = runtime.bot_services.training
            assert training is not None
            async with runtime.uow_factory() as uow:
                supervisor = await uow.staff.by_number(args.by)
            if supervisor is None or supervisor.telegram_user_id is None:
                print(f"{args.by}: no signed-in staff member has this number; nothing done.", file=sys.stderr)
                return 2
            result = await act(training, supervisor.telegram_user_id)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"Nothing done: {error}.", file=sys.stderr)
        return 2
    print(result.value.replace("_", " "))
    return 0 if result.value in ("revoked", "already_revoked", "recorded", "already_recorded") else 2


async def _revoke(args: argparse.Namespace) -> int:
    return await _as_supervisor(args, lambda training, user: training.revoke(user, args.number, args.reason))


async def _attend(args: argparse.Namespace) -> int:
    return await _as_supervisor(
        args, lambda training, user: training.record_classroom_day(user, args.staff_number, args.on)
    )


def _check(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from training.material import SHIPPED, TrainingMaterialProblems, load_material

    try:
        material = load_material(Settings().training_dir or SHIPPED)
    except TrainingMaterialProblems as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    course, bank = material.course, material.bank
    print(f"course: {len(course.modules)} modules, {len(course.lessons)} lessons over {course.days} days")
    print(f"question bank: {len(bank.questions)} questions, topics {sorted(bank.by_topic())}")
    print(f"exam: {material.rules.size} questions, pass mark {material.rules.pass_mark:.0%}")
    return 0
