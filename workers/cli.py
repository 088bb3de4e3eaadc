"""The `plantops` command: up, worker, api, migrate, demo, unlock."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from domain.settings import Settings, get_settings
from workers.bootstrap import refresh_project_bytecode
from workers.embedded import (
    EmbeddedPostgres,
    StartupError,
    TemporalDevServer,
    require_free_port,
    wait_for_port,
)
from workers.supervisor import ChildProcess, Supervisor

log = logging.getLogger("plantops")


def _embedded_pg(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.data_dir / "pg", settings.pg_port)


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured database, or the embedded one: reused when `up` already runs it,
    otherwise started for this command and stopped after it."""
    if settings.database_url:
        yield settings.database_url
        return
    pg = _embedded_pg(settings)
    if (pg.data_dir / "postmaster.pid").exists():
        yield pg.url()
        return
    url = pg.start()
    try:
        yield url
    finally:
        pg.stop()


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> None:
    from domain.migrate import upgrade

    with database_url(settings) as url:
        upgrade(url)
    print("database migrated to the latest revision")


def cmd_demo(settings: Settings, _: argparse.Namespace, migrated: bool = False) -> None:
    from domain.db import make_engine, make_sessionmaker
    from domain.migrate import upgrade
    from domain.services.demo import load_demo
    from domain.services.production_demo import load_production_demo

    with database_url(settings) as url:
        if not migrated:
            upgrade(url)
        engine = make_engine(url)
        try:
            summary = load_demo(make_sessionmaker(engine))
            production = load_production_demo(make_sessionmaker(engine))
        finally:
            engine.dispose()
    # One line for what a run added; a run that adds nothing says so once.
    print(summary if "already" in production else f"{summary}; {production}")


def cmd_unlock(settings: Settings, args: argparse.Namespace) -> None:
    from workers.unlock import unlock

    with database_url(settings) as url:
        print(unlock(url, args.username, args.reason))


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from temporalio.client import Client

    from domain.db import make_engine, make_sessionmaker
    from workers.worker import run_worker

    if not settings.database_url or not settings.temporal_address:
        raise StartupError(
            "`plantops worker` needs PLANTOPS_DATABASE_URL and "
            "PLANTOPS_TEMPORAL_ADDRESS (or run `plantops up`)"
        )

    async def main() -> None:
        client = await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace
        )
        # No pre-ping: every activity retries, and the first error on a connection a
        # database restart broke drops the whole pool, so a step costs one round trip less.
        engine = make_engine(
            settings.database_url, pool_size=20, max_overflow=20, pool_pre_ping=False
        )
        try:
            serves = getattr(args, "serves", "all")
            await run_worker(client, make_sessionmaker(engine), settings.task_queue, serves)
        finally:
            engine.dispose()

    asyncio.run(main())
    # The worker has shut down cleanly. Interpreter finalization with Temporal's core
    # thread still alive aborts the process now and then (temporalio/sdk-python#300), so
    # a clean stop leaves without it, once the logs are flushed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def https_options(settings: Settings) -> dict[str, str]:
    """uvicorn's TLS options: the self-signed certificate under the data folder."""
    from api.tls import ensure_certificate

    files = ensure_certificate(settings.data_dir)
    return {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key)}


def cmd_api(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    if not settings.database_url or not settings.temporal_address:
        raise StartupError(
            "`plantops api` needs PLANTOPS_DATABASE_URL and "
            "PLANTOPS_TEMPORAL_ADDRESS (or run `plantops up`)"
        )
    options = {
        "host": settings.api_host,
        "port": settings.api_port,
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "proxy_headers": False,  # the client address is read per PLANTOPS_TRUSTED_PROXIES only
    }
    if getattr(args, "https", False):
        options.update(https_options(settings))
    workers = api_workers(settings)
    if workers == 1:
        from api.app import create_app

        uvicorn.run(create_app(settings), **options)
        return
    # The app is built in each worker process only: this one, which hands them the port,
    # does not import it (seconds of start-up on a busy machine).
    # Each process builds its own app from the environment: they share one secret key,
    # resolved here once so that two of them never generate one at the same time.
    os.environ["PLANTOPS_SECRET_KEY"] = settings.resolved_secret_key()
    uvicorn.run("workers.cli:api_worker_app", factory=True, workers=workers, **options)


def api_worker_app():
    """The app of one API worker process. It dies with the process that started it, so a
    supervisor that kills and restarts `plantops api` leaves no worker holding the port."""
    _die_with_parent()
    from api.app import create_app

    return create_app()


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


MAX_DEFAULT_API_WORKERS = 8
# The niceness of the routine parts (lifecycle worker, API) under `plantops up`, once it is up.
ROUTINE_NICENESS = 10
PROJECT_ROOT = Path(__file__).resolve().parent.parent
API_START_TIMEOUT = 300.0  # seconds for the API to answer on its port under `plantops up`


def api_workers(settings: Settings) -> int:
    """PLANTOPS_API_WORKERS when set; else one process per core (a process runs Python on
    one core at a time), at most MAX_DEFAULT_API_WORKERS."""
    if "api_workers" in settings.model_fields_set:
        return settings.api_workers
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_API_WORKERS))


def wait_for_api(supervisor: Supervisor, port: int, timeout: float) -> None:
    """Until the API answers on its port, the supervisor keeping the parts running meanwhile
    (one that crashes while starting is started again)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor.check()
        with contextlib.suppress(StartupError):
            wait_for_port(port, 1.0, "the API", host="127.0.0.1")
            return
    raise StartupError(f"the API did not open port {port} within {timeout:.0f} s")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def https_addresses(settings: Settings, env: dict[str, str]) -> list[str]:
    """For `up --https`: the certificate made (or reused) and the API opened to the site
    network (phones reach it there) unless an address or public URL is configured; the
    https URLs to print, the one for the phones first."""
    from api.tls import ensure_certificate, lan_addresses

    ensure_certificate(settings.data_dir)
    hosts = [*lan_addresses(), "localhost"]
    if "PLANTOPS_API_HOST" not in os.environ:
        env["PLANTOPS_API_HOST"] = "0.0.0.0"
    elif settings.api_host not in ("0.0.0.0", "::"):
        hosts = [settings.api_host]
    urls = [f"https://{host}:{settings.api_port}" for host in hosts]
    env.setdefault("PLANTOPS_PUBLIC_URL", urls[0])  # links in messages, secure cookies
    return [settings.public_url] if settings.public_url else urls


def cmd_up(settings: Settings, args: argparse.Namespace) -> None:
    """Everything on this machine, each part restarted if it crashes; Ctrl-C stops all of it."""
    supervisor = Supervisor()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # even where a shell started us with it ignored
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    require_free_port(settings.api_port, "the API", "PLANTOPS_API_PORT")
    # The database, Temporal and the bytecode of changed files, side by side.
    starting = ThreadPoolExecutor(3)
    try:
        bytecode = starting.submit(refresh_project_bytecode, PROJECT_ROOT)
        env = dict(os.environ)
        pg = temporal = None
        if not settings.database_url:
            pg = EmbeddedPostgres(settings.data_dir / "pg", settings.pg_port, foreground=True)
        if not settings.temporal_address:
            temporal = TemporalDevServer(
                settings.data_dir / "temporal.db",
                settings.temporal_port,
                settings.temporal_ui_port,
                settings.data_dir / "temporal.log",
            )
        database = starting.submit(supervisor.start, pg) if pg else None
        frontend = starting.submit(supervisor.start, temporal) if temporal else None
        if database is not None:
            env["PLANTOPS_DATABASE_URL"] = str(database.result())
            print(f"PostgreSQL   embedded, data in {pg.data_dir}", flush=True)
        if frontend is not None:
            env["PLANTOPS_TEMPORAL_ADDRESS"] = str(frontend.result())
            print(f"Temporal     dev server, data in {temporal.db_file}", flush=True)
        resolved = Settings(
            database_url=env["PLANTOPS_DATABASE_URL"],
            temporal_address=env["PLANTOPS_TEMPORAL_ADDRESS"],
        )
        cmd_migrate(resolved, args)
        if not args.no_demo:
            cmd_demo(resolved, args, migrated=True)
        # Demo mode: the worker keeps the demo machines producing (the simulator's schedule).
        env["PLANTOPS_DEMO"] = "0" if args.no_demo else "1"
        env["PLANTOPS_SECRET_KEY"] = settings.resolved_secret_key()
        https = getattr(args, "https", False)
        urls = https_addresses(settings, env) if https else [settings.web_url]
        # Safety watches get a process (a core's share, a loop) of their own: a burst of
        # routine lifecycle work cannot hold back a voice call or an escalation.
        # The routine parts yield the CPU to them when the cores are short: the API once it
        # answers, the lifecycle worker from the start (nobody waits for it: the lifecycles
        # queue in Temporal meanwhile), so the API's processes import first.
        parts = {
            "api": (["api", "--https"] if https else ["api"], ROUTINE_NICENESS, False),
            "alerts": (["worker", "--serves", "alerts"], 0, False),
            "worker": (["worker", "--serves", "lifecycles"], ROUTINE_NICENESS, True),
        }
        bytecode.result()
        for part, (argv, niceness, at_start) in parts.items():
            command = [sys.executable, "-m", "workers.cli", *argv]
            supervisor.start(
                ChildProcess(part, command, env, niceness=niceness, yields_at_start=at_start)
            )
        # Generous: on a busy machine the API's first imports take a while; a part that
        # crashes meanwhile is restarted by the supervisor, not waited for in vain.
        wait_for_api(supervisor, settings.api_port, API_START_TIMEOUT)
        supervisor.settle()
        ui = (
            f"http://127.0.0.1:{settings.temporal_ui_port}"
            if not settings.temporal_address
            else "(external Temporal: its own UI)"
        )
        also = "".join(f"               {url}/\n" for url in urls[1:])
        certificate = (
            f"  certificate  {settings.data_dir / 'https-cert.pem'} (self-signed: install it "
            "on the phones to trust it)\n"
            if https
            else ""
        )
        print(
            "\nplantops is up\n"
            f"  web app      {urls[0]}/\n{also}{certificate}"
            f"  API docs     {urls[0]}/docs\n"
            f"  Temporal UI  {ui}\n"
            "A part that crashes is restarted. Press Ctrl-C to stop.",
            flush=True,
        )
        supervisor.run()
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave parts running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstopping plantops ...", flush=True)
        starting.shutdown(wait=True)  # a part still starting is stopped once it has started
        supervisor.stop_all()
        print("stopped", flush=True)


def _temporal_address(settings: Settings) -> str:
    return settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"


def cmd_replay(settings: Settings, args: argparse.Namespace) -> None:
    from pathlib import Path

    from temporalio.client import Client, WorkflowHistory

    from workers import replay

    async def main() -> None:
        if args.file:
            history = WorkflowHistory.from_json(args.reference, Path(args.file).read_text())
        else:
            try:
                client = await Client.connect(
                    _temporal_address(settings), namespace=settings.temporal_namespace
                )
            except RuntimeError as err:
                raise StartupError(f"cannot reach Temporal: {err}") from None
            try:
                history = await replay.fetch(client, args.reference.upper())
            except Exception as err:
                raise StartupError(f"no history for {args.reference}: {err}") from None
        print(f"{args.reference.upper()}: {len(history.events)} events")
        for decision in replay.decisions(history):
            print("  " + decision.line())
        try:
            await replay.replay(history)
        except Exception as err:
            raise StartupError(f"replay FAILED against the current code: {err}") from None
        print("replayed against the current code: every decision is the same")
        if args.save:
            Path(args.save).write_text(history.to_json())
            print(f"history saved to {args.save}")

    asyncio.run(main())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="plantops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run everything here: database, Temporal, worker, API")
    up.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    up.add_argument(
        "--https",
        action="store_true",
        help="serve over HTTPS with a self-signed certificate, open to the site network "
        "(phones need a secure page for the camera, location and offline reports)",
    )
    up.set_defaults(func=cmd_up)
    wk = sub.add_parser("worker", help="run the Temporal worker")
    wk.add_argument(
        "--serves",
        choices=["all", "lifecycles", "alerts"],
        default="all",
        help="the lifecycle task queue, the safety alert queue beside it, or both (default)",
    )
    wk.set_defaults(func=cmd_worker)
    api = sub.add_parser("api", help="run the HTTP API and web pages")
    api.add_argument("--https", action="store_true", help="with the self-signed certificate")
    api.set_defaults(func=cmd_api)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load the demo enterprise (idempotent)").set_defaults(func=cmd_demo)
    ul = sub.add_parser("unlock", help="clear a user's sign-in locks, from every address")
    ul.add_argument("username")
    ul.add_argument("--reason", default="cleared with plantops unlock", help="for the audit log")
    ul.set_defaults(func=cmd_unlock)
    rp = sub.add_parser("replay", help="replay a workflow's history and print its decisions")
    rp.add_argument("reference", help="workflow id, e.g. ANO-2026-000001")
    rp.add_argument("--file", help="replay a saved history (JSON) instead of fetching it")
    rp.add_argument("--save", help="also save the fetched history as JSON here")
    rp.set_defaults(func=cmd_replay)
    from workers import bench

    bench.add_parser(sub)
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "database migrated" says enough
    try:
        args.func(settings, args)
    except StartupError as err:
        print(f"plantops: {err}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
