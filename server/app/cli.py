"""The ``hearth`` command: serve, migrate the database, add staff logins, verify the audit log."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import json
import logging
import socket
import sys
from typing import Any

from server.core.clock import SystemClock
from server.core.crypto import audit_chain_key
from server.core.settings import Settings, SettingsError, load_settings, with_secret
from server.core.storable import parse_id
from server.store.audit_chain import ChainReport, verify
from server.store.db import Database
from server.store.migrate import current_revision, head_revision, upgrade


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hearth", description="Hearth telehealth server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--database-url", help="sqlite:///path or postgresql://user@host/db")
    serve.add_argument(
        "--demo",
        action="store_true",
        default=None,
        help="migrate, seed demo data and print the links to open",
    )

    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.add_argument("--database-url")

    user = sub.add_parser("user", help="staff logins")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a staff login")
    add.add_argument(
        "--role", required=True, choices=["clinician", "coordinator", "scheduler", "admin"]
    )
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from standard input (never from the command line)",
    )
    add.add_argument("--time-zone", default="UTC")
    add.add_argument("--database-url")

    audit = sub.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    check = audit_sub.add_parser(
        "verify",
        help="check every audit row's hash and link; exit 1 naming the first row that fails",
    )
    check.add_argument(
        "--anchor",
        metavar="ID:HASH",
        help="the last row an earlier verify printed: it must still be there, unchanged",
    )
    check.add_argument("--database-url")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {
        k: v
        for k, v in vars(args).items()
        if k in ("host", "port", "database_url", "demo") and v is not None
    }
    return load_settings(flags)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        if args.command == "serve":
            return _serve(settings)
        if args.command == "db":
            upgrade(
                settings.database_url,
                audit_key=audit_chain_key(settings.audit_key, settings.secret_key),
            )
            print(
                json.dumps(
                    {"database": "upgraded", "revision": head_revision(settings.database_url)}
                )
            )
            return 0
        if args.command == "audit":
            return _audit_verify(settings, args.anchor)
        return _user_add(settings, args)
    except SettingsError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2


def _serve(settings: Settings) -> int:
    from aiohttp import web

    from server.app.demo import describe, seed_demo
    from server.app.factory import create_app
    from server.core.logs import configure_logging

    configure_logging()
    settings = with_secret(settings)
    # Take the port first: one clear line when it is taken, before any banner or seeding.
    try:
        sock = listening_socket(settings.host, settings.port)
    except OSError as exc:
        print(f"hearth: {_bind_problem(settings, exc)}", file=sys.stderr)
        return 2
    if settings.demo:
        upgrade(
            settings.database_url,
            audit_key=audit_chain_key(settings.audit_key, settings.secret_key),
        )
    else:
        problem = asyncio.run(_schema_problem(settings.database_url))
        if problem:
            print(f"hearth: {problem}", file=sys.stderr)
            return 2
    if settings.demo:
        info = asyncio.run(seed_demo(settings, SystemClock()))
        print(describe(settings, info), flush=True)
    logging.getLogger(__name__).info("listening on %s:%s", settings.host, settings.port)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    web.run_app(app, sock=sock, print=None, access_log=None)
    return 0


async def _freeze_startup_objects(app: Any) -> None:
    """Everything built at start-up (modules, the app, its templates, catalogues and
    scenarios) lives as long as the process: moved out of the garbage collector's view, a
    full collection no longer walks all of it. Unfrozen, those collections paused the server
    for 60-130 ms now and then, in the middle of a reading's way to the clinician."""
    gc.collect()
    gc.freeze()


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket (address reuse as aiohttp sets it, never port sharing)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=128)


def _bind_problem(settings: Settings, exc: OSError) -> str:
    where = f"{settings.host}:{settings.port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {settings.port} is already in use on {settings.host}; stop what is using it "
            "or choose another port (hearth serve --port N, HEARTH_PORT=N, or make run PORT=N)"
        )
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on {where}; choose a port above 1023"
    return f"cannot listen on {where}: {exc.strerror or exc}"


async def _schema_problem(url: str) -> str | None:
    db = Database(url)
    try:
        current = await current_revision(db.engine)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is reported plainly
        return f"cannot reach the database ({type(exc).__name__}); check HEARTH_DATABASE_URL"
    finally:
        await db.dispose()
    head = head_revision(url)
    if current != head:
        return (
            f"the database schema is at {current or 'nothing'}, not {head}: run `hearth db upgrade`"
        )
    return None


async def verify_audit_log(
    settings: Settings, anchor: tuple[int, str] | None = None
) -> ChainReport:
    """What ``hearth audit verify`` checks: the whole log's chain, under the server's key."""
    if not settings.audit_key:
        settings = with_secret(settings)
    key = audit_chain_key(settings.audit_key, settings.secret_key)
    assert key is not None
    db = Database(settings.database_url)
    try:
        async with db.begin() as s:
            return await verify(s, key, anchor=anchor)
    finally:
        await db.dispose()


def _anchor(raw: str) -> tuple[int, str]:
    raw_id, _, row_hash = raw.partition(":")
    row_id = parse_id(raw_id)
    if row_id is None or len(row_hash) != 64:
        raise SettingsError(
            "--anchor must be a row id and its 64-character hash as verify printed them: ID:HASH"
        )
    return row_id, row_hash.lower()


def _audit_verify(settings: Settings, anchor: str | None) -> int:
    parsed = _anchor(anchor) if anchor else None
    problem = asyncio.run(_schema_problem(settings.database_url))
    if problem:
        print(f"hearth: {problem}", file=sys.stderr)
        return 2
    report = asyncio.run(verify_audit_log(settings, parsed))
    if report.broken is not None:
        print(f"audit log: chain broken at row {report.broken.row_id}: {report.broken.reason}")
        print(f"{report.rows} rows before it verify")
        return 1
    print(f"audit log: {report.rows} rows, chain intact")
    if report.last_id is not None:
        print(
            f"last row {report.last_id}:{report.last_hash} - keep it elsewhere: "
            f"`hearth audit verify --anchor {report.last_id}:{report.last_hash}` later "
            "shows whether rows were cut from the end"
        )
    return 0


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from server.api.schemas import UserCreate
    from server.services.accounts import create_user
    from server.services.errors import ApiError, describe_validation

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        body = UserCreate(
            email=args.email,
            name=args.name,
            role=args.role,
            password=password,
            time_zone=args.time_zone,
        )
    except ValidationError as exc:
        print(f"hearth: {describe_validation(exc)[0]}", file=sys.stderr)
        return 1

    async def add() -> Any:
        db = Database(settings.database_url)
        try:
            async with db.begin() as s:
                user = await create_user(
                    s,
                    email=body.email,
                    name=body.name,
                    role=body.role,
                    password=body.password,
                    now=SystemClock().now(),
                    time_zone=body.time_zone,
                )
                return user.id
        finally:
            await db.dispose()

    try:
        user_id = asyncio.run(add())
    except ApiError as exc:
        print(f"hearth: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps({"id": user_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
