"""``python -m monitor report weekly``: write a brand's weekly report and optionally e-mail it."""

from __future__ import annotations

import argparse
import smtplib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from monitor.config import Settings, load_config
from monitor.reports.period import Week, last_complete
from monitor.storage.db import make_engine, upgrade
from monitor.storage.tables import Mention


def cmd_weekly(args: argparse.Namespace) -> None:
    # Imported here: matplotlib, scikit-learn and fpdf2 cost seconds, paid only by this command.
    from monitor.alerts.smtp import Refused
    from monitor.reports.weekly import default_dir, deliver, describe, generate

    settings = Settings()
    config = load_config(args.config)
    brand = config.brand(args.brand)
    zone = config.zone(brand.name)
    now = datetime.now(UTC)
    try:
        week = Week.parse(args.week, zone) if args.week else last_complete(now, zone)
    except ValueError as exc:
        raise SystemExit(f"vigie: --week: {exc}") from None
    engine = make_engine(settings.db_url)
    upgrade(engine)
    if not args.week:
        week = week_with_data(engine, brand.name, week, now)
    out = args.out or default_dir(settings, brand.name, week)
    report = generate(engine, config, brand.name, week, out, now)
    for path in report.files.values():
        print(path)
    if not args.send:
        return
    try:
        delivery = deliver(engine, report, config, settings, now)
    except (OSError, smtplib.SMTPException, Refused) as exc:
        raise SystemExit(f"vigie: the report was written but not sent: {describe(exc)}") from None
    if delivery.eml is None:
        print(f"sent to {', '.join(delivery.recipients)}")
    else:
        print(f"no SMTP server or recipient configured; e-mail written to {delivery.eml}")


def week_with_data(engine: Engine, brand: str, week: Week, now: datetime) -> Week:
    """The last complete week, or, when it holds no mention of the brand (right after the
    demo), the last week that does, said on stderr: an all-zero report without a word misleads."""
    mine = Mention.brand == brand
    with engine.connect() as conn:
        inside = conn.execute(
            select(func.count()).where(
                mine, Mention.created_at >= week.start, Mention.created_at < week.end
            )
        ).scalar_one()
        newest = conn.execute(select(func.max(Mention.created_at)).where(mine)).scalar()
    if inside:
        return week
    if newest is None:
        print(
            f"vigie: no mention of {brand} is stored yet; the report of {week.label} is empty",
            file=sys.stderr,
        )
        return week
    chosen = Week.containing(min(newest, now), week.zone)
    progress = " (the week in progress)" if chosen.end > now else ""
    print(
        f"vigie: {week.label} has no mention of {brand}; reporting {chosen.label}{progress}, "
        "the last week with data (choose one with --week)",
        file=sys.stderr,
    )
    return chosen


def register(sub: Any) -> None:
    """Add ``report`` and its subcommands to the main parser's subparsers."""
    p = sub.add_parser("report", help="reports for marketing")
    reports = p.add_subparsers(dest="report_command", required=True)
    weekly = reports.add_parser(
        "weekly",
        help="a brand's weekly trends report: report.html, report.pdf and data.csv",
        description="Write the weekly trends report of one brand (and e-mail it with --send).",
    )
    weekly.add_argument("--brand", required=True, help="a brand name from the config")
    weekly.add_argument(
        "--week", help="ISO week such as 2026-W47 (default: the last complete week)"
    )
    weekly.add_argument(
        "--out", type=Path, help="output folder (default: $VIGIE_DATA_DIR/reports/BRAND/WEEK)"
    )
    weekly.add_argument(
        "--send",
        action="store_true",
        help="e-mail it to reports.recipients (an .eml beside it without SMTP_HOST)",
    )
    weekly.set_defaults(func=cmd_weekly)
