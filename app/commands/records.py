"""`pension-bot records verify|refused|heads|keygen|serve|export` and `pension-bot bench exchange`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from app.commands._database import DatabaseUnavailable, command_runtime
from app.commands._groups import group

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    records = group(subparsers, "records", "verification records: chain check, exchange, exports")
    verify = records.add_parser(
        "verify",
        help="prove the hash chain intact and reaching its signed checkpoints (then sign a new one),"
        " or name the first bad record",
    )
    verify.add_argument("--region", help="the chain to check (default: every chain in the database)")
    verify.set_defaults(handler=lambda args: asyncio.run(_verify(args)))

    refused = records.add_parser(
        "refused", help="records a paying region refused: given up after the retry period, or waiting"
    )
    refused.add_argument("--waiting", action="store_true", help="also those still being tried again")
    refused.add_argument(
        "--requeue", type=int, nargs="+", metavar="ID", help="send these given-up records again"
    )
    refused.set_defaults(handler=lambda args: asyncio.run(_refused(args)))

    heads = records.add_parser("heads", help="the latest signed chain head received from each peer region")
    heads.set_defaults(handler=lambda args: asyncio.run(_heads(args)))

    keygen = records.add_parser("keygen", help="create this region's exchange key; prints the public key")
    keygen.add_argument("--force", action="store_true", help="replace an existing key")
    keygen.set_defaults(handler=_keygen)

    serve = records.add_parser("serve", help="run the exchange server and the outbox worker")
    serve.add_argument("--port", type=int, default=None, help="default: LISTEN_PORT")
    serve.set_defaults(handler=lambda args: asyncio.run(_serve(args)))

    export = records.add_parser("export", help="lists for the payment agency (CSV or XLSX)")
    export.add_argument("--kind", required=True, choices=["certified", "due", "suspended", "resumed"])
    export.add_argument("--from", dest="date_from", required=True, type=date.fromisoformat)
    export.add_argument("--to", dest="date_to", required=True, type=date.fromisoformat)
    export.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    export.add_argument("--out", required=True, type=Path)
    export.set_defaults(handler=lambda args: asyncio.run(_export(args)))

    bench = group(subparsers, "bench", "benchmarks that print figures")
    exchange = bench.add_parser("exchange", help="records/s between two regions on loopback; catch-up time")
    exchange.add_argument(
        "--records",
        type=int,
        default=10_000,
        help="queued while the peer is down (100000: about 9 min to queue on SQLite)",
    )
    exchange.add_argument("--live", type=int, default=5_000, help="sent with the peer up")
    exchange.add_argument("--batch", type=int, default=1000, help="records per request")
    exchange.set_defaults(handler=_bench)


async def _verify(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from kernel.clock import utc_now
    from verification.records.chain import chain_regions, verify_chain
    from verification.records.checkpoints import advance_checkpoint, check_checkpoints
    from verification.records.exchange import load_private_key

    settings = Settings()
    key_path = settings.exchange_key_path()
    # The exchange key (a file, not the database) signs the checkpoints that anchor each head.
    key = load_private_key(key_path) if key_path.exists() else None
    try:
        async with command_runtime(settings) as runtime:
            async with runtime.uow_factory() as uow:
                regions = [args.region] if args.region else await chain_regions(uow)
                reports = []
                for region in regions:
                    report = await verify_chain(uow, region)
                    report = await check_checkpoints(uow, report, key.public_key() if key else None)
                    if report.intact and key is not None:
                        advance = await advance_checkpoint(uow, region, key, utc_now())
                        if advance.head is not None:
                            report = replace(report, checkpoint_seq=advance.head.seq, anchored=True)
                    reports.append(report)
                await uow.commit()
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 2
    if not reports:
        print("no verification records yet")
    bad = 0
    for report in reports:
        if report.intact:
            if report.anchored:
                anchor = f"head signed at checkpoint #{report.checkpoint_seq}"
            elif key is None:
                anchor = f"not anchored: no exchange key at {key_path}"
            else:
                anchor = "not anchored yet"
            print(f"region {report.region}: {report.records} records, chain intact ({anchor})")
        else:
            bad += 1
            print(
                f"region {report.region}: BROKEN at record #{report.first_bad_seq}"
                f" ({report.first_bad_record_id or 'missing'}): {report.problem};"
                f" {report.records} records before it check out"
            )
    return 1 if bad else 0


def _keygen(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from verification.records.exchange import (
        generate_private_key,
        load_private_key,
        public_key_b64,
        save_private_key,
    )

    settings = Settings()
    path = settings.exchange_key_path()
    if path.exists() and not args.force:
        key = load_private_key(path)
        print(f"key exists at {path} (use --force to replace)")
    else:
        key = generate_private_key()
        save_private_key(key, path)
        print(f"key written to {path}")
    print(f"region {settings.region_code} public key: {public_key_b64(key)}")
    return 0


async def _serve(args: argparse.Namespace) -> int:
    from app.console_app import mount_console
    from app.settings import Settings
    from kernel.clock import utc_now
    from verification.records.assistance import AssistanceService
    from verification.records.exchange import (
        ExchangeReceiver,
        OutboxDispatcher,
        PeerRegistry,
        load_private_key,
    )
    from verification.signals.agencies import FeedAgencies
    from web.exchange import HttpTransport, create_exchange_app, running_exchange
    from web.feeds import add_feed_routes

    settings = Settings()
    key_path, peers_path = settings.exchange_key_path(), settings.exchange_peers_path()
    if not key_path.exists() or not peers_path.exists():
        print(f"need the key {key_path} (records keygen) and the peer registry {peers_path}", file=sys.stderr)
        return 2
    peers = PeerRegistry.load(peers_path)
    key = load_private_key(key_path)
    try:
        async with command_runtime(settings) as runtime:
            receiver = ExchangeReceiver(runtime.uow_factory, settings.region_code, peers, utc_now)
            transport = HttpTransport()
            dispatcher = OutboxDispatcher(
                runtime.uow_factory,
                settings.region_code,
                peers,
                key,
                transport,
                utc_now,
                refusal_period=timedelta(days=settings.exchange_refusal_retry_days),
            )
            port = args.port if args.port is not None else settings.listen_port
            assistance = AssistanceService(runtime.uow_factory, settings.region_code, utc_now)
            app = create_exchange_app(receiver, assistance)
            mount_console(app, runtime)  # the staff console at /console beside the exchange
            agencies = FeedAgencies.load(settings.feed_agencies_path())
            if agencies.sources:  # other agencies' systems send their feeds here too
                gate = ExchangeReceiver(runtime.uow_factory, settings.region_code, agencies.signers, utc_now)
                add_feed_routes(app, runtime.feeds, agencies, gate)
            async with running_exchange(app, settings.listen_host, port) as url:
                print(
                    f"exchange for region {settings.region_code} at {url}; {len(peers.peers)} peers,"
                    f" {len(agencies.sources)} feed agencies; staff console at {url.rstrip('/')}/console/",
                    flush=True,
                )
                try:
                    while True:
                        report = await dispatcher.drain()
                        if report.delivered or report.refused:
                            logger.info("delivered %d, refused %d", report.delivered, report.refused)
                        await assistance.sweep_overdue()
                        await asyncio.sleep(1.0)
                finally:
                    await transport.close()
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 2
    return 0


async def _refused(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from verification.records.exchange import refused_entries, requeue_refused

    settings = Settings()
    try:
        async with command_runtime(settings) as runtime:
            async with runtime.uow_factory() as uow:
                if args.requeue:
                    count = await requeue_refused(uow, args.requeue)
                    await uow.commit()
                    print(f"{count} record(s) queued to be sent again")
                    return 0
                entries = await refused_entries(uow, waiting_too=args.waiting)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 2
    if not entries:
        print("no refused records" + (" and none waiting" if args.waiting else ""))
        return 0
    for entry in entries:
        since = entry.refused_since.date().isoformat() if entry.refused_since else "-"
        waiting = "given up" if entry.state == "refused" else "waiting"
        if entry.state == "deferred" and entry.next_attempt_at is not None:
            waiting += f", next try {entry.next_attempt_at.isoformat(timespec='minutes')}"
        retiree = f"retiree #{entry.retiree_id}" if entry.retiree_id else "retiree not on this roster"
        print(
            f"#{entry.outbox_id} to {entry.dest_region}: record #{entry.seq} {entry.event}"
            f" ({entry.occurred_at[:10]}), {retiree}; refused since {since}, {entry.attempts} tries,"
            f" {waiting}: {entry.reason}"
        )
    given_up = sum(entry.state == "refused" for entry in entries)
    print(
        f"{given_up} given up, {len(entries) - given_up} waiting; `records refused --requeue ID` sends again"
    )
    return 0


async def _heads(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from verification.records.checkpoints import SignedHead, peer_heads
    from verification.records.exchange import PeerRegistry

    settings = Settings()
    peers_path = settings.exchange_peers_path()
    peers = PeerRegistry.load(peers_path) if peers_path.exists() else PeerRegistry()
    try:
        async with command_runtime(settings) as runtime:
            async with runtime.uow_factory() as uow:
                heads = await peer_heads(uow)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 2
    if not heads:
        print("no chain heads received yet")
    conflicts = 0
    for head in heads:
        peer = peers.get(head.origin_region)
        if peer is None:
            signed = "peer not in the registry"
        else:
            signed = "signature good" if SignedHead.of(head).signed_by(peer.public_key) else "BAD SIGNATURE"
        print(
            f"region {head.origin_region}: record #{head.seq} {head.hash} (signed {head.made_at},"
            f" received {head.received_at.isoformat(timespec='seconds')}), {signed}"
        )
        if head.conflict:
            conflicts += 1
            print(f"  CONFLICT: {head.conflict.splitlines()[0]}")
    return 1 if conflicts else 0


async def _export(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from verification.records.exports import export_rows, write_csv, write_xlsx

    if args.date_to < args.date_from:
        print("--to is before --from", file=sys.stderr)
        return 2
    settings = Settings()
    try:
        async with command_runtime(settings) as runtime:
            rows = await export_rows(runtime.uow_factory, args.kind, args.date_from, args.date_to)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 2
    (write_xlsx if args.format == "xlsx" else write_csv)(rows, args.out)
    print(f"{len(rows) - 1} {args.kind} rows ({args.date_from} to {args.date_to}) written to {args.out}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from app.exchange_bench import run_exchange_bench

    result = asyncio.run(run_exchange_bench(args.records, args.live, args.batch))
    print(f"records appended (chain + outbox, one region):  {result.append_per_second:,.0f}/s")
    print(
        f"catch-up after peer down: {result.records:,} records in {result.catch_up_seconds:.2f} s"
        f" ({result.catch_up_per_second:,.0f}/s, {args.batch} per request)"
    )
    print(f"delivered with peer up:   {result.live_records:,} records at {result.live_per_second:,.0f}/s")
    print(
        f"received by the peer:     {result.received:,} (expected {result.records + result.live_records:,})"
    )
    return 0 if result.received == result.records + result.live_records else 1
