"""`pension-bot recovery list|show|letter|notice|plan|payment|write-off|approve|refuse`: the
recovery of pensions paid after entitlement ended, from the console. Each command names
the staff member doing it (`--staff-number`): every step is audited under their name, and
a write-off asked for by one staff member is approved or refused by another.

Amounts are typed in yuan ("1250.50") and kept as whole fen. Texts are from the catalogs
(`--language`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.commands._database import DatabaseUnavailable, command_runtime

if TYPE_CHECKING:
    from content.i18n import Translator
    from verification.recovery.service import RecoveryService


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "recovery", help="overpaid pensions: cases, notices, letters, instalments, payments, write-offs"
    )
    actions = parser.add_subparsers(dest="recovery_action", required=True, metavar="COMMAND")

    def action(name: str, help: str, *, case: bool = True) -> argparse.ArgumentParser:
        command = actions.add_parser(name, help=help, description=help)
        if case:
            command.add_argument("case_id", type=int, help="the recovery case's number")
        command.add_argument("--staff-number", required=True, help="the staff member doing it")
        command.add_argument("--language", choices=("zh_Hans", "en"), default="zh_Hans")
        command.set_defaults(handler=_handle)
        return command

    action("list", "the open cases of the staff member's region", case=False)
    action("show", "one case: amounts, months, plan and every step")
    letter = action("letter", "write the letter to the family (PDF)")
    letter.add_argument("--out", type=Path, required=True, help="the PDF file to write")
    letter.add_argument("--letter-language", choices=("zh_Hans", "en"), default="zh_Hans")
    action("notice", "tell the family through the bot (their helpers' chats)")
    plan = action("plan", "agree a plan of monthly instalments for what is still owed")
    plan.add_argument("--instalments", type=int, required=True)
    plan.add_argument("--first-due", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    payment = action("payment", "record an amount paid back")
    payment.add_argument("--amount", required=True, help="in yuan, e.g. 1250.50")
    payment.add_argument("--note", default="", help="e.g. the receipt number")
    write_off = action(
        "write-off", "ask for what is still owed to be written off (a second staff member decides)"
    )
    write_off.add_argument("--reason", required=True)
    action("approve", "approve a write-off asked for by another staff member")
    refuse = action("refuse", "refuse a write-off asked for by another staff member")
    refuse.add_argument("--reason", required=True)


def _handle(args: argparse.Namespace) -> int:
    if args.recovery_action == "payment":  # a typing mistake is said before the database opens
        from content.i18n import Translator
        from verification.recovery.overpayment import parse_yuan

        args.amount_fen = parse_yuan(args.amount)
        if args.amount_fen is None:
            print(Translator(args.language)("recovery.cli.bad_amount"), file=sys.stderr)
            return 2
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from bot.presenters.recovery import refusal_text
    from content.i18n import Translator
    from kernel.permissions import NotStaff
    from verification.recovery.service import RecoveryRefused

    t = Translator(args.language)
    try:
        async with command_runtime(Settings()) as runtime:
            recovery = runtime.bot_services.recovery
            assert recovery is not None  # the runtime always builds it
            work: Callable[[RecoveryService, Translator, argparse.Namespace], Awaitable[int]] = _WORK[
                args.recovery_action
            ]
            return await work(recovery, t, args)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    except NotStaff:
        print(t("recovery.cli.not_staff"), file=sys.stderr)
        return 3
    except RecoveryRefused as refused:
        print(refusal_text(t, refused), file=sys.stderr)
        return 4


async def _list(recovery: RecoveryService, t: Translator, args: argparse.Namespace) -> int:
    from verification.recovery.overpayment import yuan

    cases = await recovery.open_cases(args.staff_number, limit=1000)
    if not cases:
        print(t("recovery.cli.none"))
    for case in cases:
        print(
            t(
                "recovery.cli.line",
                case_id=case.case_id,
                region=case.region,
                state=t(f"recovery.state.{case.state.value}"),
                count=len(case.months),
                overpaid=yuan(case.overpaid_fen),
                recovered=yuan(case.recovered_fen),
                outstanding=yuan(case.outstanding_fen),
            )
        )
    return 0


async def _show(recovery: RecoveryService, t: Translator, args: argparse.Namespace) -> int:
    from bot.presenters.recovery import step_text, view_text

    view = await recovery.case(args.staff_number, args.case_id)
    print(view_text(t, view))
    if view.steps:
        print()
        print(t("recovery.cli.steps"))
        for step in view.steps:
            print(step_text(t, step))
    return 0


async def _letter(recovery: RecoveryService, t: Translator, args: argparse.Namespace) -> int:
    from content.i18n import Translator as LetterTranslator
    from verification.recovery.letter import render_letter

    data = await recovery.letter_data(args.staff_number, args.case_id)
    pdf = await asyncio.to_thread(render_letter, data, LetterTranslator(args.letter_language))
    args.out.write_bytes(pdf)
    print(t("recovery.cli.letter_written", path=args.out, size=len(pdf)))
    return 0


async def _notice(recovery: RecoveryService, t: Translator, args: argparse.Namespace) -> int:
    sent = await recovery.send_notice(args.staff_number, args.case_id)
    print(t("recovery.notice_sent", chats=sent.chats, case_id=sent.case_id))
    return 0


async def _plan(recovery: RecoveryService, t: Translator, args: argparse.Namespace) -> int:
    from bot.presenters.recovery import view_text

    view = await recovery.agree_plan(args.staff_number, args.case_id, args.instalments, args.first_due)
    print(t("recovery.plan_agreed", case_id=args.case_id, count=len(view.plan)))
    print(view_text(t, view))
    return 0


async def _payment(recovery: RecoveryService, t: Translator, args: argparse.Namespace) -> int:
    from bot.presenters.recovery import payment_text

    amount: int = args.amount_fen
    summary = await recovery.record_payment(args.staff_number, args.case_id, amount, note=args.note)
    print(payment_text(t, amount, summary))
    return 0


async def _write_off(recovery: RecoveryService, t: Translator, args: argparse.Namespace) -> int:
    from verification.recovery.overpayment import yuan

    summary = await recovery.request_write_off(args.staff_number, args.case_id, args.reason)
    print(t("recovery.write_off_requested", case_id=summary.case_id, amount=yuan(summary.outstanding_fen)))
    return 0


async def _approve(recovery: RecoveryService, t: Translator, args: argparse.Namespace) -> int:
    from verification.recovery.overpayment import yuan

    summary = await recovery.approve_write_off(args.staff_number, args.case_id)
    # what was still owed when it was written off (the amount recovered stays as it was)
    print(t("recovery.write_off_approved", case_id=summary.case_id, amount=yuan(summary.outstanding_fen)))
    return 0


async def _refuse(recovery: RecoveryService, t: Translator, args: argparse.Namespace) -> int:
    summary = await recovery.refuse_write_off(args.staff_number, args.case_id, args.reason)
    print(
        t(
            "recovery.write_off_refused",
            case_id=summary.case_id,
            state=t(f"recovery.state.{summary.state.value}"),
        )
    )
    return 0


_WORK: dict[str, Any] = {
    "list": _list,
    "show": _show,
    "letter": _letter,
    "notice": _notice,
    "plan": _plan,
    "payment": _payment,
    "write-off": _write_off,
    "approve": _approve,
    "refuse": _refuse,
}
