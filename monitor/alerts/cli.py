"""``python -m monitor alerts …``: run the sender, see where alerts stand, resend, test."""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from monitor.alerts.deliver import deliver_pending
from monitor.alerts.outbox import delivery_state, raise_alert, retry_deliveries
from monitor.alerts.sender import AlertSender
from monitor.clock import SystemClock
from monitor.config import Settings, VigieConfig, load_config
from monitor.storage.db import make_engine, upgrade
from monitor.storage.tables import Alert


def _open(args: argparse.Namespace) -> tuple[Engine, VigieConfig, Settings]:
    settings = Settings()
    config = load_config(args.config)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    return engine, config, settings


def cmd_send(args: argparse.Namespace) -> None:
    engine, config, settings = _open(args)
    sender = AlertSender(engine, config, settings, SystemClock(), args.poll)
    if args.once:
        print(f"delivered {sender.run_once()} message(s)")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sender.run(stop)
    except KeyboardInterrupt:
        stop.set()


def _print_states(engine: Engine, ids: list[int], titles: dict[int, str]) -> None:
    for alert_id, state in sorted(delivery_state(engine, ids).items(), reverse=True):
        held = f" until {state.held_until:%Y-%m-%d %H:%M}" if state.held_until else ""
        print(f"#{alert_id} r{state.revision} {state.status}{held}  {titles[alert_id][:90]}")
        for d in state.deliveries:
            if d.revision == state.revision:
                error = f"  ({d.last_error[:80]})" if d.last_error else ""
                print(f"    {d.channel}:{d.target} {d.status} ×{d.attempts}{error}")


def cmd_list(args: argparse.Namespace) -> None:
    engine, _, _ = _open(args)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Alert.id, Alert.title).order_by(Alert.id.desc()).limit(args.limit)
        ).all()
    _print_states(engine, [r.id for r in rows], {r.id: r.title for r in rows})


def cmd_retry(args: argparse.Namespace) -> None:
    engine, _, _ = _open(args)
    count = retry_deliveries(engine, datetime.now(UTC), args.alert_ids or None)
    print(f"{count} delivery(ies) queued again")


def cmd_test(args: argparse.Namespace) -> None:
    """Send a test alert to the brand's recipients now, and show what happened."""
    engine, config, settings = _open(args)
    brand = config.brand(args.brand) if args.brand else config.brands[0]
    now = datetime.now(UTC)
    key = f"test:{brand.name}:{now:%Y%m%dT%H%M%S%f}"
    details: dict[str, Any] = {"text": "This is a test alert from Vigie: delivery works."}
    with engine.begin() as conn:
        raise_alert(
            conn,
            kind="manual",
            dedup_key=key,
            brand=brand.name,
            title=f"Test alert for {brand.name}",
            details=details,
            now=now,
            severity=args.severity,
        )
        alert_id = conn.execute(select(Alert.id).where(Alert.dedup_key == key)).scalar_one()
    deliver_pending(engine, config, settings, now)
    _print_states(engine, [alert_id], {alert_id: f"Test alert for {brand.name}"})


def register(sub: Any) -> None:
    """Add the ``alerts`` command group to the main parser."""
    p = sub.add_parser("alerts", help="alert delivery: sender, state, resend, test")
    group = p.add_subparsers(dest="alerts_command", required=True)

    send = group.add_parser("send", help="run the alert sender (beside or instead of `run`)")
    send.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    send.add_argument("--poll", type=float, default=1.0, help="seconds between checks")
    send.set_defaults(func=cmd_send)

    status = group.add_parser("list", help="recent alerts and their deliveries")
    status.add_argument("--limit", type=int, default=20)
    status.set_defaults(func=cmd_list)

    retry = group.add_parser("retry", help="resend deliveries that ended unknown or failed")
    retry.add_argument("alert_ids", nargs="*", type=int, help="only these alerts (default: all)")
    retry.set_defaults(func=cmd_retry)

    test = group.add_parser("test", help="send a test alert to a brand's recipients now")
    test.add_argument("--brand", help="brand name (default: the first one)")
    test.add_argument("--severity", default="warning", choices=["info", "warning", "high"])
    test.set_defaults(func=cmd_test)
