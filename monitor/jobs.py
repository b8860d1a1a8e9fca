"""``jobs``: what the workers are doing, read from the job queue's tables (worker mode)."""

from __future__ import annotations

import asyncio
import shlex

from sqlalchemy import Engine, text

from monitor.storage.queue import conninfo

WORKERS = text(
    "SELECT id, extract(epoch FROM clock_timestamp() - last_heartbeat)::float8 AS age "
    "FROM procrastinate_workers ORDER BY id"
)
JOBS = text(
    """
    SELECT coalesce(j.queueing_lock, j.task_name) AS job,
           count(*) FILTER (WHERE j.status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE j.status = 'todo') AS waiting,
           count(*) FILTER (WHERE j.status = 'doing') AS running,
           count(*) FILTER (WHERE j.status IN ('failed', 'aborted')) AS failed,
           sum(j.attempts - 1) FILTER (WHERE j.status = 'succeeded') AS retried,
           max(e.at) AS last
      FROM procrastinate_jobs j
      LEFT JOIN LATERAL (SELECT max(at) AS at FROM procrastinate_events WHERE job_id = j.id) e
        ON true
     GROUP BY 1
     ORDER BY 1
    """
)


def summary(engine: Engine, stalled_seconds: float) -> str:
    """Workers with their heartbeat's age, then each job's runs by state and its last event."""
    with engine.connect() as conn:
        workers = conn.execute(WORKERS).all()
        jobs = conn.execute(JOBS).all()
    lines = [f"{len(workers)} worker(s) registered"]
    for worker in workers:
        state = "stalled: its jobs are queued again" if worker.age > stalled_seconds else "alive"
        lines.append(f"  #{worker.id}: heartbeat {worker.age:.1f} s ago ({state})")
    header = ("job", "succeeded", "retried", "waiting", "running", "failed", "last event (UTC)")
    rows = [
        (j.job, j.succeeded, j.retried or 0, j.waiting, j.running, j.failed,
         f"{j.last:%Y-%m-%d %H:%M:%S}" if j.last else "-")
        for j in jobs
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines.append("")
    for row in [header, *rows]:
        cells = (str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
    if not rows:
        lines.append("(no job yet: start a worker with python -m monitor run --worker)")
    return "\n".join(lines)


def shell(engine: Engine, command: list[str]) -> None:
    """procrastinate's own shell (list, cancel, retry jobs) on this database: ``command`` runs
    one of its commands (``list_jobs status=failed``), none opens it."""
    from procrastinate import App, PsycopgConnector
    from procrastinate.shell import ProcrastinateShell
    from procrastinate.utils import sync_to_async

    app = App(connector=PsycopgConnector(conninfo=conninfo(engine)))

    async def main() -> None:
        async with app.open_async():
            prompt = ProcrastinateShell(app.job_manager)
            if command:
                await sync_to_async(prompt.onecmd, line=shlex.join(command))
            else:
                await sync_to_async(prompt.cmdloop)

    asyncio.run(main())
