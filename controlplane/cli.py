"""``cloudsense serve | scheduler | db ... | token ...``: ``main(argv)`` with ``argv[0]`` the command."""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.exc import SQLAlchemyError

from controlplane.db import migrate
from controlplane.db.session import Database, safe_url
from controlplane.domain.auth import services
from controlplane.domain.auth.tokens import Role
from controlplane.log import configure_logging
from controlplane.provision import SchemaNotAtHead, create_api_token, create_enrollment_token, ensure_schema
from controlplane.settings import ServerSettings, Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

log = structlog.get_logger()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudsense", description="CloudSense control plane")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the REST API (with the embedded scheduler)")
    serve.add_argument("--host", help="interface to bind (default: server.host)")
    serve.add_argument("--port", type=int, help="TCP port (default: server.port)")
    serve.add_argument("--workers", type=int, help="uvicorn worker processes (default: server.workers)")
    serve.add_argument("--no-scheduler", action="store_true", help="do not run the embedded scheduler")

    sub.add_parser("scheduler", help="run the scheduler alone (leader-elected)")

    db = sub.add_parser("db", help="database migrations").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="upgrade the schema").add_argument("revision", nargs="?", default="head")
    db.add_parser("downgrade", help="downgrade the schema").add_argument("revision", nargs="?", default="-1")
    db.add_parser("current", help="print the schema revision")

    token = sub.add_parser("token", help="API credentials").add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="issue an API token (printed once)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--host", dest="host_id", help="the host an agent token may write (role agent)")
    create.add_argument("--name", help="label")
    create.add_argument("--ttl-seconds", type=int, help="lifetime (default: no expiry)")
    enroll = token.add_parser("enroll", help="issue an enrollment token (printed once)")
    enroll.add_argument("--uses", type=int, default=1, help="enrollments allowed (default 1)")
    enroll.add_argument("--ttl-seconds", type=int, help="lifetime (default: auth.enrollment_ttl_seconds)")
    enroll.add_argument("--name", help="label")
    token.add_parser("list", help="list API and enrollment tokens")
    token.add_parser("revoke", help="revoke a token by id").add_argument("token_id", type=uuid.UUID)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one control-plane command.

    Args:
        argv: ``[command, options...]``; default ``sys.argv[1:]``.

    Returns:
        The process exit status.
    """
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    settings = get_settings()
    configure_logging(settings.log)
    try:
        if args.command == "serve":
            return _serve(args, settings)
        if args.command == "scheduler":
            ensure_schema(settings)
            asyncio.run(_run_scheduler(settings))
            return 0
        if args.command == "db":
            return _db(args, settings)
        ensure_schema(settings)
        return asyncio.run(_token(args, settings))
    except SchemaNotAtHead as exc:
        print(f"cloudsense {args.command}: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(
            f"cloudsense {args.command}: database error on {safe_url(settings.db.url)}: {exc}",
            file=sys.stderr,
        )
        return 1


def _serve(args: argparse.Namespace, settings: Settings) -> int:

    server = settings.server.model_copy(
        update={k: v for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers)) if v}
    )
    if args.no_scheduler:
        settings = settings.model_copy(
            update={"scheduler": settings.scheduler.model_copy(update={"enabled": False})}
        )
    settings = settings.model_copy(update={"server": server})
    ensure_schema(settings)
    log.info("serve_starting", host=server.host, port=server.port, database=safe_url(settings.db.url))
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: make that a clean exit.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        _run_uvicorn(settings, server)
    except KeyboardInterrupt:
        pass
    log.info("serve_stopped")
    return 0


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _run_uvicorn(settings: Settings, server: ServerSettings) -> None:
    import uvicorn

    from controlplane.app import create_app

    run = functools.partial(
        uvicorn.run,
        host=server.host,
        port=server.port,
        log_config=None,
        timeout_keep_alive=server.keep_alive_seconds,
    )
    if server.workers > 1:  # each worker builds its app from the environment: hand it the CLI's overrides
        if not settings.scheduler.enabled:
            os.environ["CLOUDSENSE_SCHEDULER__ENABLED"] = "false"
        run("controlplane.app:create_app", factory=True, workers=server.workers)
    else:
        run(create_app(settings))


async def _run_scheduler(settings: Settings) -> None:
    from controlplane.scheduler.runner import SchedulerRunner

    database = Database(settings.db)
    runner = SchedulerRunner(database, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runner.start()
    try:
        await stop.wait()
    finally:
        await runner.stop()
        await database.dispose()


def _db(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "upgrade":
        migrate.upgrade(settings.db.url, args.revision)
    elif args.action == "downgrade":
        migrate.downgrade(settings.db.url, args.revision)
    else:
        revisions = asyncio.run(_current(settings))
        heads = migrate.head_revisions()
        state = "head" if revisions == heads else f"not at head ({', '.join(sorted(heads))})"
        print(f"{', '.join(sorted(revisions)) or '(empty)'}  {state}")
    return 0


async def _current(settings: Settings) -> frozenset[str]:
    database = Database(settings.db)
    try:
        async with database.engine.connect() as connection:
            return await migrate.current_revisions(connection)
    finally:
        await database.dispose()


async def _token(args: argparse.Namespace, settings: Settings) -> int:
    database = Database(settings.db)
    try:
        if args.action == "create":
            if (args.role == Role.AGENT.value) != (args.host_id is not None):
                print(
                    "cloudsense token create: --host is required for (and only for) --role agent",
                    file=sys.stderr,
                )
                return 2
            issued = await create_api_token(
                database, args.role, host_id=args.host_id, name=args.name, ttl_seconds=args.ttl_seconds
            )
            print(issued.token)
            print(f"token {issued.token_id} ({issued.role.value}): shown once, store it now", file=sys.stderr)
        elif args.action == "enroll":
            enrollment = await create_enrollment_token(
                database,
                uses=args.uses,
                ttl_seconds=args.ttl_seconds or settings.auth.enrollment_ttl_seconds,
                name=args.name,
            )
            print(enrollment.token)
            print(
                f"enrollment token {enrollment.token_id}: {enrollment.uses} use(s) until "
                f"{enrollment.expires_at.isoformat()}; shown once",
                file=sys.stderr,
            )
        elif args.action == "list":
            await _list(database)
        else:
            async with database.session_scope() as session:
                kind = await services.revoke_token(session, args.token_id)
            if kind is None:
                print(f"cloudsense token revoke: no token {args.token_id}", file=sys.stderr)
                return 1
            print(f"revoked {kind} token {args.token_id}")
        return 0
    finally:
        await database.dispose()


async def _list(database: Database) -> None:
    async with database.session_scope() as session:
        api = await services.list_api_tokens(session)
        enrollment = await services.list_enrollment_tokens(session)
    print(f"{'ID':<32}  {'KIND':<10}  {'ROLE/USES':<9}  {'HOST':<24}  {'EXPIRES':<25}  STATE")
    now = datetime.now(UTC)
    for a in api:
        expired = a.expires_at is not None and a.expires_at <= now
        state = "revoked" if a.revoked_at else ("expired" if expired else "active")
        expires = a.expires_at.isoformat(timespec="seconds") if a.expires_at else "-"
        print(f"{a.id.hex:<32}  {'api':<10}  {a.role:<9}  {a.host_id or '-':<24}  {expires:<25}  {state}")
    for e in enrollment:
        state = "revoked" if e.revoked_at else "expired" if e.expires_at <= now else "active"
        state = "used up" if state == "active" and e.uses_remaining == 0 else state
        uses = f"{e.uses_remaining}/{e.uses_total}"
        expires = e.expires_at.isoformat(timespec="seconds")
        print(f"{e.id.hex:<32}  {'enrollment':<10}  {uses:<9}  {'-':<24}  {expires:<25}  {state}")
