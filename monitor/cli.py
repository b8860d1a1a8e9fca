"""``python -m monitor`` / ``vigie``: the commands a user runs."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from monitor.alerts.cli import register as register_alerts
from monitor.backtest.cli import register as register_backtest
from monitor.clock import AcceleratedClock, Clock, DatabaseClock, ManualClock, SystemClock
from monitor.collectors import build_collectors
from monitor.collectors.base import Collector
from monitor.collectors.catalog import check_sources, source_states, states_table
from monitor.collectors.credentials import Credentials
from monitor.collectors.health import health, report, usage
from monitor.collectors.quota import month_of
from monitor.collectors.runner import Run
from monitor.config import ROOT, ConfigError, Settings, VigieConfig, load_config
from monitor.docs import refresh
from monitor.logs import setup_logging
from monitor.passwords import hash_password
from monitor.reports.cli import register as register_reports
from monitor.scheduler import Pipeline, run_forever, run_simulated
from monitor.storage.db import DatabaseError, make_engine, redacted, unreachable, upgrade
from monitor.storage.ingest import load_cursor

log = logging.getLogger("monitor")
DASHBOARD_APP = ROOT / "dashboard" / "app.py"


def _open_db(settings: Settings) -> Engine:
    engine = make_engine(settings.db_url)
    upgrade(engine)
    return engine


def _run(args: argparse.Namespace) -> None:
    """The command, with the database's failures said in one line (exit 2, no traceback)."""
    try:
        args.func(args)
    except DBAPIError as exc:
        raise unreachable(exc, Settings().db_url) from None


def _pipeline(args: argparse.Namespace, clock: Clock, only: str | None = None) -> Pipeline:
    settings = Settings()
    config = load_config(args.config)
    collectors = build_collectors(config, only)  # a config error stops before the database
    engine = _open_db(settings)
    log.info("database: %s", redacted(settings.db_url))
    return Pipeline(engine, config, settings, clock, collectors)


def _dashboard_url(config_path: Path | None) -> str | None:
    try:
        return load_config(config_path).dashboard_url
    except ConfigError:
        return None  # the dashboard shows the problem itself


def start_dashboard(
    settings: Settings, address: str, port: int, config_path: Path | None = None, **popen: Any
) -> subprocess.Popen[bytes]:
    """Serve the Streamlit app in a child process, pointed at the same database and config
    (``popen``: where its output goes, for tests)."""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(DASHBOARD_APP),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    env = {**os.environ, "DATABASE_URL": settings.db_url}
    if config_path is not None:
        env["VIGIE_CONFIG"] = str(config_path.resolve())
    for host in sorted(settings.public_hosts(_dashboard_url(config_path))):
        cmd += ["--server.allowedHosts", host]  # a foreign Host gets no websocket (DNS rebinding)
    log.info("dashboard on http://%s:%d", address, port)
    return subprocess.Popen(cmd, env=env, **popen)


def dashboard_config(config: VigieConfig, args: argparse.Namespace) -> VigieConfig:
    """Alert links point at the dashboard this process serves, unless ``dashboard_url`` is set
    in the config (a proxy, another host): the default would name a port nobody listens on."""
    if getattr(args, "no_dashboard", True) or "dashboard_url" in config.model_fields_set:
        return config
    host = "localhost" if args.address in ("0.0.0.0", "::", "") else args.address
    return config.model_copy(update={"dashboard_url": f"http://{host}:{args.port}"})


def _serve(pipeline: Pipeline, args: argparse.Namespace, process_every: float) -> None:
    """Run the scheduler until Ctrl-C or SIGTERM, with the dashboard beside it if asked."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    child = None
    if not getattr(args, "no_dashboard", True):
        child = start_dashboard(pipeline.settings, args.address, args.port, args.config)
        pipeline.config = dashboard_config(pipeline.config, args)
    try:
        if getattr(args, "worker", False):
            from monitor.workers import WorkerOptions, run_worker

            options = WorkerOptions(
                process_every,
                args.reports_every,
                args.heartbeat_seconds,
                args.stalled_seconds,
                args.worker_id or "",
            )
            run_worker(pipeline, options, stop)
        else:
            run_forever(pipeline, process_every, stop)
    except KeyboardInterrupt:
        log.info("interrupted")
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=10)


def demo_start(engine: Engine, collectors: list[Collector], history: timedelta,
               fresh: datetime | None = None) -> datetime:
    """Where simulated time starts: at the saved cursor's minute (the last poll stored, so the
    next step polls the minute after it, as an uninterrupted run would: starting one minute
    later lost one engagement poll per restart), else at ``fresh``, or ``history`` before now."""
    with engine.connect() as conn:
        cursors = [load_cursor(conn, c.key) for c in collectors]
    resumed = [
        datetime.fromisoformat(c["epoch"]) + timedelta(minutes=c["minute"]) for c in cursors if c
    ]
    return min(resumed) if resumed else fresh or datetime.now(UTC) - history


def utc_moment(text: str) -> datetime:
    """An ISO 8601 moment from the command line; one without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cmd_demo(args: argparse.Namespace) -> None:
    pipeline = _pipeline(args, SystemClock(), only="demo")
    if not pipeline.collectors:
        raise ConfigError("sources.demo: the demo source is not enabled in this config")
    start = demo_start(pipeline.engine, pipeline.collectors, timedelta(hours=args.history_hours),
                       args.start)
    if args.minutes:
        pipeline.clock = ManualClock(start)
        new = run_simulated(pipeline, args.minutes, args.step)
        log.info("simulated %d minutes: %d new mentions", args.minutes, new)
        return
    pipeline.clock = AcceleratedClock(start, args.speed)
    log.info("demo: replaying from %s at %gx until it reaches the present", start, args.speed)
    _serve(pipeline, args, process_every=args.process_every)


def _queue_engine() -> Engine:
    """The PostgreSQL database of worker mode (one line and exit 2 on SQLite), with the job
    queue's schema applied."""
    from monitor.storage.queue import ensure_schema, require_postgresql

    engine = make_engine(Settings().db_url)
    require_postgresql(engine)
    ensure_schema(engine)
    return engine


def cmd_run(args: argparse.Namespace) -> None:
    if args.worker:
        if args.stalled_seconds < 3 * args.heartbeat_seconds:
            raise ConfigError("--stalled-seconds must be at least 3 × --heartbeat-seconds")
        _queue_engine().dispose()  # before _pipeline creates a SQLite file
    pipeline = _pipeline(args, SystemClock())
    if args.worker:
        pipeline.clock = DatabaseClock(pipeline.engine)  # one clock for every worker
    if not pipeline.collectors:
        log.warning("no source enabled: add one under 'sources' in your config")
    if args.backfill:
        from monitor.history import forget

        forget(pipeline.engine)  # the next processing step analyses all of it as history
    if args.once:
        runs = pipeline.cycle_runs()
        log.info("collected %d new mention(s)", sum(r.new for r in runs))
        _say(runs, exit_on_failure=True)
        return
    _serve(pipeline, args, process_every=args.process_every)


def _say(runs: list[Run], exit_on_failure: bool) -> None:
    """Each collection's count and, when it did not simply work, why; exit 1 if one did not."""
    for result in runs:
        (log.info if result.ok else log.error)("%s", result.summary())
    if exit_on_failure and not all(r.ok for r in runs):
        sys.exit(1)


def cmd_collect(args: argparse.Namespace) -> None:
    pipeline = _pipeline(args, SystemClock(), only=args.source)
    if not pipeline.collectors:
        raise ConfigError(f"sources.{args.source}: no brand is watched there (see its options)")
    _say([pipeline.collect(c) for c in pipeline.collectors], exit_on_failure=args.once)
    if not args.once:
        _serve(pipeline, args, process_every=args.process_every)


def cmd_dashboard(args: argparse.Namespace) -> None:
    """Serve until the child ends; SIGTERM stops the child too, so no server is left behind."""
    settings = Settings()
    _open_db(settings)
    child = start_dashboard(settings, args.address, args.port, args.config)
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()
        child.terminate()

    signal.signal(signal.SIGTERM, stop)
    code = child.wait()
    sys.exit(0 if stopping.is_set() else code)


def cmd_hash_password(args: argparse.Namespace) -> None:
    """Print the hash for VIGIE_DASHBOARD_PASSWORD_HASH; the password itself is never shown."""
    if sys.stdin.isatty():
        password = getpass.getpass("Dashboard password: ")
        if getpass.getpass("Again: ") != password:
            raise SystemExit("vigie: the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        print(hash_password(password))
    except ValueError as exc:
        raise SystemExit(f"vigie: {exc}") from None


def cmd_db(args: argparse.Namespace) -> None:
    settings = Settings()
    engine = make_engine(settings.db_url)
    upgrade(engine, args.revision)
    if engine.dialect.name == "postgresql" and args.revision == "heads":
        from monitor.storage.queue import ensure_schema

        ensure_schema(engine)  # the job queue of worker mode
    print(f"database {redacted(settings.db_url)} is at revision {args.revision}")


def cmd_jobs(args: argparse.Namespace) -> None:
    """Worker mode's job queue: a summary, or procrastinate's shell."""
    from monitor import jobs

    engine = _queue_engine()
    if args.shell is None:
        print(jobs.summary(engine, args.stalled_seconds))
    else:
        jobs.shell(engine, args.shell)


def cmd_rollup(args: argparse.Namespace) -> None:
    from monitor.storage import rollups

    engine = _open_db(Settings())
    (rollups.rebuild if args.rebuild else rollups.refresh)(engine)
    print("hourly rollup " + ("rebuilt" if args.rebuild else "brought up to date"))


def cmd_rescore(args: argparse.Namespace) -> None:
    from monitor.scoring import load_model, score_pending

    settings = Settings()
    config = load_config(args.config)
    model = load_model(args.model or config.scoring.model)
    done = score_pending(_open_db(settings), model, config.scoring.batch_size)
    print(f"scored {done} mention(s) with {model.model_id}")


def cmd_check(args: argparse.Namespace) -> None:
    """The config file, every source's options against its model, and missing credentials:
    "ok" only when every enabled source can run (exit 1 otherwise)."""
    config = load_config(args.config)
    warnings = check_sources(config)
    for warning in warnings:
        print(f"warning: {warning}")
    summary = f"{len(config.brands)} brand(s), sources: {', '.join(config.sources) or 'none'}"
    if warnings:
        print(f"valid, with {len(warnings)} warning(s) above: {summary}")
        sys.exit(1)
    print(f"ok: {summary}")


def cmd_sources(args: argparse.Namespace) -> None:
    """Every source the registry knows with its state, then collector health and API usage."""
    print(states_table(source_states(load_config(args.config), Credentials())))
    print()
    engine = _open_db(Settings())
    print(report(health(engine), usage(engine, month_of(datetime.now(UTC)))))


def cmd_quarantine(args: argparse.Namespace) -> None:
    """Items sources sent that could not be read, set aside with why (newest first)."""
    from monitor.storage import quarantine

    print(quarantine.report(quarantine.recent(_open_db(Settings()), args.limit)))


def cmd_docs(args: argparse.Namespace) -> None:
    """The README source table and the example config's source block, from the registry."""
    stale = refresh(write=args.write)
    for path in stale:
        print(f"{'rewrote' if args.write else 'out of date'}: {path}")
    if stale and not args.write:
        sys.exit(1)
    if not stale:
        print("README.md and vigie.example.yaml match the registry")


def _dashboard_args(p: argparse.ArgumentParser, with_toggle: bool = True) -> None:
    p.add_argument("--address", default="localhost", help="bind address (default: localhost)")
    p.add_argument("--port", type=int, default=8501)
    if with_toggle:
        p.add_argument("--no-dashboard", action="store_true", help="run without the dashboard")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigie", description=__doc__)
    parser.add_argument(
        "--config",
        type=Path,
        help="config file (default: $VIGIE_CONFIG, ./vigie.yaml, else the shipped example)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="the demo source, scheduler and dashboard; no keys needed")
    p.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second")
    p.add_argument(
        "--history-hours", type=float, default=4.0, help="how far back the simulated stream starts"
    )
    p.add_argument(
        "--start",
        type=utc_moment,
        help="when a new simulated stream starts (ISO 8601, UTC unless zoned; default: "
        "--history-hours before now): the same seed and start replay the same timestamps",
    )
    p.add_argument(
        "--minutes",
        type=int,
        default=0,
        help="simulate this many minutes as fast as possible, then exit",
    )
    p.add_argument("--step", type=int, default=1, help="simulated minutes per cycle (--minutes)")
    p.add_argument("--process-every", type=float, default=2.0, help="seconds between cycles")
    _dashboard_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="the scheduler with the configured sources")
    p.add_argument("--once", action="store_true", help="one cycle of every source, then exit")
    p.add_argument("--backfill", action="store_true",
                   help="analyse every stored mention again as history (no email for it)")
    p.add_argument("--process-every", type=float, default=30.0)
    p.add_argument("--worker", action="store_true",
                   help="share jobs with other workers on the same PostgreSQL database")
    p.add_argument("--worker-id", help="this worker's name in the logs (default: host:pid)")
    p.add_argument("--reports-every", type=float, default=300.0,
                   help="--worker: seconds between checks for due weekly reports")
    p.add_argument("--heartbeat-seconds", type=float, default=10.0,
                   help="--worker: how often a worker says it is alive")
    p.add_argument("--stalled-seconds", type=float, default=30.0,
                   help="--worker: heartbeat age after which a worker's jobs run elsewhere")
    _dashboard_args(p)
    p.set_defaults(func=cmd_run, no_dashboard=True)

    p = sub.add_parser("collect", help="collect one source")
    p.add_argument("source")
    p.add_argument("--once", action="store_true", help="one collection, then exit")
    p.add_argument("--process-every", type=float, default=30.0)
    p.set_defaults(func=cmd_collect, no_dashboard=True)

    p = sub.add_parser("dashboard", help="serve the dashboard only")
    _dashboard_args(p, with_toggle=False)
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser(
        "hash-password", help="hash a dashboard password for VIGIE_DASHBOARD_PASSWORD_HASH"
    )
    p.set_defaults(func=cmd_hash_password)

    p = sub.add_parser("db", help="database schema")
    db_sub = p.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="migrate the schema (run after every update)")
    up.add_argument("revision", nargs="?", default="heads")
    up.set_defaults(func=cmd_db)
    roll = db_sub.add_parser("rollup", help="update the dashboard's hourly counts")
    roll.add_argument("--rebuild", action="store_true", help="recompute them all")
    roll.set_defaults(func=cmd_rollup)

    p = sub.add_parser("jobs", help="worker mode: workers, each job's runs, procrastinate's shell")
    p.add_argument("--stalled-seconds", type=float, default=30.0,
                   help="heartbeat age shown as stalled (the workers' --stalled-seconds)")
    p.add_argument("--shell", nargs="*", metavar="COMMAND",
                   help="procrastinate's shell; with a command (list_jobs status=failed), just it")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("rescore", help="score mentions not yet read by the current model")
    p.add_argument("--model", help="Hugging Face model id or local path")
    p.set_defaults(func=cmd_rescore)

    p = sub.add_parser(
        "check", help="validate the config file and each source's options; missing credentials"
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "sources", help="every source with its state, collector health, this month's API usage"
    )
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("quarantine", help="items sources sent that could not be read, and why")
    p.add_argument("--limit", type=int, default=50, help="how many, most recently seen first")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser("docs", help="check the README source table and example config")
    p.add_argument("--write", action="store_true", help="rewrite them from the registry")
    p.set_defaults(func=cmd_docs)

    register_reports(sub)

    register_alerts(sub)

    register_backtest(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        _run(args)
    except ConfigError as exc:
        print(f"vigie: configuration error\n{exc}", file=sys.stderr)
        sys.exit(2)
    except DatabaseError as exc:
        print(f"vigie: {exc}", file=sys.stderr)
        sys.exit(2)
