"""`pension-bot training verify NUMBER [--code CODE]`, `training revoke NUMBER --by STAFF
--reason TEXT` and `training check`: staff training certificates checked from the server,
revoked by a supervisor, and the course and question bank checked against the law texts."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.commands._database import DatabaseUnavailable, command_runtime
from app.commands._groups import group


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


async def _revoke(args: argparse.Namespace) -> int:
    from app.settings import Settings

    try:
        async with command_runtime(Settings()) as runtime:
            training = runtime.bot_services.training
            assert training is not None
            async with runtime.uow_factory() as uow:
                supervisor = await uow.staff.by_number(args.by)
            if supervisor is None or supervisor.telegram_user_id is None:
                print(
                    f"{args.by}: no signed-in staff member has this number; nothing revoked.", file=sys.stderr
                )
                return 2
            result = await training.revoke(supervisor.telegram_user_id, args.number, args.reason)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"Not revoked: {error}.", file=sys.stderr)
        return 2
    print(f"{args.number[:40]}: {result.value.replace('_', ' ')}")
    return 0 if result.value in ("revoked", "already_revoked") else 2


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
