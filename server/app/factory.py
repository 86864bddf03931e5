"""The app factory: synchronous wiring; everything awaited lives in a cleanup context."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from encounters.scenarios import load_scenarios
from encounters.scenarios.translated import load_builtin_translations
from server.api.health import REDIS_PING, RedisPing
from server.api.routes import setup_routes
from server.app.metrics import METRICS, CountsCollector, Metrics, metrics_middleware, metrics_view
from server.core.clock import Clock, SystemClock
from server.core.crypto import audit_chain_key
from server.core.logs import protect_logs, request_id_var
from server.core.settings import Settings
from server.edge.auth import PRINCIPAL, auth_middleware, forwarded_address
from server.edge.errors import error_middleware
from server.edge.language import language_choice
from server.edge.rendering import JINJA, make_jinja, render_error
from server.edge.static_files import add_static_routes
from server.jobs.drills import drills_ctx
from server.jobs.escalation import escalation_ctx
from server.jobs.recordings import recordings_retention_ctx
from server.jobs.reminders import reminder_jobs_ctx
from server.pages.routes import setup_page_routes
from server.realtime.recording import RecordingCalls
from server.realtime.wiring import setup_realtime
from server.services.audit import PROBES, THROTTLED, ProbeTally, denial_middleware
from server.services.context import EDUCATION, SCENARIOS, SERVICES, Services
from server.services.education_catalogue import load_catalogue
from server.services.ratelimit import make_attempts
from server.services.recordings import RECORDING_MEDIA
from server.services.sessions import SessionStore
from server.store import audit_chain
from server.store.db import Database
from web import STATIC_DIR

access_log = logging.getLogger("hearth.access")

# The largest request body Hearth accepts; JSON bodies are capped lower in read_json.
CLIENT_MAX_SIZE = 256 * 1024

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = uuid.uuid4().hex[:12]
    token = request_id_var.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        # The route template, not the path: a family path holds its join token.
        route = resource.canonical if resource is not None else "-"
        access_log.info(
            "%s %s %s %.1fms", request.method, route, status, (time.perf_counter() - started) * 1000
        )
        request_id_var.reset(token)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Join links carry their token in the path: never leak it in a Referer.
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault(
        "Permissions-Policy", "camera=(self), microphone=(self), bluetooth=(self), geolocation=()"
    )
    if not request.path.startswith("/static/"):
        # Patient data must not stay in shared or browser caches.
        headers.setdefault("Cache-Control", "no-store")
    if request.app[SERVICES].settings.is_https:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    if not settings.secret_key:
        raise ValueError("settings.secret_key must be set (see server.core.settings.with_secret)")
    protect_logs()
    app = web.Application(
        client_max_size=CLIENT_MAX_SIZE,
        middlewares=[
            # First, so that everything after it (the audit log, sessions, rate limits) sees
            # the client's address, not the reverse proxy's.
            forwarded_address,
            request_context,
            security_headers,
            metrics_middleware,
            error_middleware(render_error),
            auth_middleware,
            denial_middleware(PRINCIPAL),
            language_choice,
        ],
    )
    app[METRICS] = Metrics()
    app[JINJA] = make_jinja()
    # Read now: a bad scenario file stops start-up with its file, line and reason.
    app[SCENARIOS] = load_scenarios(
        Path(settings.scenarios_dir) if settings.scenarios_dir else None
    )
    # Their translations too: a key that matches no prompt, step or teach-back question
    # stops it.
    load_builtin_translations()
    # Read now as well: a bad topic file stops start-up with its file, line and reason.
    app[EDUCATION] = load_catalogue(
        Path(settings.education_dir) if settings.education_dir else None
    )
    app.cleanup_ctx.append(_services_ctx(settings, clock or SystemClock()))
    app.cleanup_ctx.append(reminder_jobs_ctx)
    app.cleanup_ctx.append(escalation_ctx)
    app.cleanup_ctx.append(drills_ctx)
    app.cleanup_ctx.append(recordings_retention_ctx)
    setup_routes(app)
    setup_page_routes(app)
    app.router.add_get("/metrics", metrics_view)
    realtime = setup_realtime(app, settings)
    app[RECORDING_MEDIA] = RecordingCalls(realtime.namespace, realtime.hub)
    if settings.redis_url:
        app[REDIS_PING] = RedisPing(settings.redis_url)
    app[METRICS].registry.register(
        CountsCollector(
            "hearth_media_events",
            "Media relay counts since start: frames forwarded and received, keyframe requests, "
            "and packets or datagrams dropped, by reason",
            "event",
            realtime.hub.totals,
        )
    )
    # Anonymous refusals that get a bounded number of audit rows (server/services/audit.py).
    for key, name, what in (
        (
            PROBES,
            "hearth_unknown_token_refusals",
            "Refusals of join and diary tokens that match no link",
        ),
        (
            THROTTLED,
            "hearth_rate_limited_sign_in_refusals",
            "Sign-ins refused for too many attempts",
        ),
    ):
        app[key] = ProbeTally()
        app[METRICS].registry.register(
            CountsCollector(
                name,
                f"{what}, since start, by whether they got an audit row of their own (at most "
                "one per address per 10 minutes)",
                "audit",
                app[key].totals,
            )
        )
    add_static_routes(app, STATIC_DIR)
    return app


def _services_ctx(settings: Settings, clock: Clock) -> Any:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        db = Database(settings.database_url, timeout_s=settings.database_timeout_seconds)
        # Every audit row this app's sessions write is chained under this key.
        audit_key = audit_chain_key(settings.audit_key, settings.secret_key)
        assert audit_key is not None
        audit_chain.use_key(db.sessionmaker, audit_key)
        assert settings.secret_key is not None
        # With several nodes (HEARTH_REDIS_URL) the login and link-guess counters live in
        # Redis, so that every node counts into the same windows.
        attempts = make_attempts(settings.redis_url, settings.secret_key)
        app[SERVICES] = Services(
            settings=settings,
            clock=clock,
            db=db,
            attempts=attempts,
            sessions=SessionStore(settings),
        )
        try:
            yield
        finally:
            await attempts.close()
            await db.dispose()

    return ctx
