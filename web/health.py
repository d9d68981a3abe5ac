"""Liveness, readiness and Prometheus metrics for a scaled-out role (`serve --role`).

`/healthz` answers 200 while the process runs (a supervisor restarts it otherwise);
`/readyz` answers 200 only while the role can do its work (connected to the broker), else
503, so a load balancer sends no webhook to an ingress that cannot publish; `/metrics` is
the role's registry in Prometheus' text format, with the partition queues' depths read from
the broker at each scrape."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from broker.metrics import BrokerMetrics

logger = logging.getLogger(__name__)

Ready = Callable[[], bool]
Depths = Callable[[], Awaitable[dict[int, int]]]

metrics_key = web.AppKey("metrics", BrokerMetrics)
# A callable type is no class: the key's type is given by its annotation.
ready_key: web.AppKey[Ready] = web.AppKey("ready")
depths_key: web.AppKey[Depths] = web.AppKey("depths")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    ready = request.app[ready_key]()
    return web.json_response({"ready": ready}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    gauge = request.app[metrics_key].queue_depth
    try:
        for partition, depth in (await request.app[depths_key]()).items():
            gauge.labels(str(partition)).set(depth)
    except Exception as error:  # noqa: BLE001 - the other figures are still worth scraping
        logger.warning("queue depths not read (%s)", type(error).__name__)
    body = generate_latest(request.app[metrics_key].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_health_routes(
    app: web.Application, role_metrics: BrokerMetrics, ready: Ready, depths: Depths
) -> None:
    app[metrics_key] = role_metrics
    app[ready_key] = ready
    app[depths_key] = depths
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
