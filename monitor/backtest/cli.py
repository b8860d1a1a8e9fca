"""``python -m monitor backtest FILE…`` and ``python -m monitor export``.

The backtest prints one JSON line per alert revision that would have been sent, then a summary
line; unreadable items are reported on stderr, one line each, and the rest is replayed. Exit
status: 0, or 1 when some items were left out (the output is still complete), 2 when nothing
could be replayed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.backtest.export import Selection, write_jsonl
from monitor.backtest.inputs import read_history
from monitor.backtest.replay import backtest
from monitor.collectors.http import parse_time
from monitor.config import BrandAlerts, ConfigError, Settings, VigieConfig, load_config
from monitor.storage.db import make_engine, upgrade

MAX_ERRORS_SHOWN = 100


def _time(value: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None


def _assign(tree: dict[str, Any], path: str, value: str) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        child = tree.get(part)
        if not isinstance(child, dict):
            raise ConfigError(f"--set {path}: {part!r} is not a group of alert settings")
        tree = child
    if leaf not in tree:
        raise ConfigError(f"--set {path}: no such alert setting")
    tree[leaf] = value


def with_overrides(config: VigieConfig, overrides: list[str]) -> VigieConfig:
    """Every brand's alert rules with ``KEY=VALUE`` changes (``incidents.sensitivity=more``):
    the knob a user turns between two backtests."""
    if not overrides:
        return config
    brands = []
    for brand in config.brands:
        rules = brand.alerts.model_dump()
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep:
                raise ConfigError(f"--set {item}: expected KEY=VALUE")
            _assign(rules, key.strip(), value.strip())
        try:
            alerts = BrandAlerts.model_validate(rules)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"--set: {where}: {first['msg']}") from None
        brands.append(brand.model_copy(update={"alerts": alerts}))
    return config.model_copy(update={"brands": brands})


def cmd_backtest(args: argparse.Namespace) -> None:
    config = with_overrides(load_config(args.config), args.set or [])
    history = read_history(args.files, config)
    for line in history.errors[:MAX_ERRORS_SHOWN]:
        print(f"vigie: left out {line}", file=sys.stderr)
    if len(history.errors) > MAX_ERRORS_SHOWN:
        print(f"vigie: … and {len(history.errors) - MAX_ERRORS_SHOWN} more", file=sys.stderr)
    if not history.mentions:
        print("vigie: nothing to replay: no readable mention in the input", file=sys.stderr)
        sys.exit(2)
    outcome = backtest(config, history.mentions, args.start, args.end,
                       timedelta(minutes=args.process_every))
    for record in outcome.alerts:
        print(json.dumps(record, ensure_ascii=False))
    summary = {
        "kind": "summary",
        "read": len({(m.source, m.external_id) for m in history.mentions}),
        "snapshots": len(history.mentions),
        "left_out": len(history.errors),
        "stored": outcome.stored,
        "alerts": len(outcome.alerts),
        "by_kind": dict(Counter(a["kind"] for a in outcome.alerts)),
        "held_at_end": outcome.held_at_end,
        "from": (args.start or history.mentions[0].created_at).isoformat(),
        "to": (args.end or history.mentions[-1].created_at).isoformat(),
        "polls": outcome.polls,
        "cycles": outcome.cycles,
        "seconds": round(outcome.seconds, 1),
    }
    print(json.dumps(summary))
    if history.errors:
        sys.exit(1)


def cmd_export(args: argparse.Namespace) -> None:
    engine = make_engine(Settings().db_url)
    upgrade(engine)
    selection = Selection(tuple(args.brand or ()), tuple(args.source or ()), args.since,
                          args.until)
    if args.out is None:
        count = write_jsonl(engine, selection, sys.stdout)
    else:
        with args.out.open("w", encoding="utf-8") as out:
            count = write_jsonl(engine, selection, out)
    print(f"exported {count} mention(s)", file=sys.stderr)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="replay a recorded history through detection and alerts")
    p.add_argument("files", nargs="+", type=Path,
                   help="mentions exports (JSONL or CSV) or App Store review feed pages (JSON)")
    p.add_argument("--start", type=_time, help="replay from here (earlier mentions: history)")
    p.add_argument("--end", type=_time, help="replay until here (later mentions: left out)")
    p.add_argument("--process-every", type=float, default=5.0,
                   help="simulated minutes between processing cycles (default 5)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="change an alert setting of every brand, e.g. incidents.sensitivity=more")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("export", help="write stored mentions as JSON lines (what backtest reads)")
    p.add_argument("--brand", action="append", help="only this brand (repeatable)")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
    p.add_argument("--since", type=_time, help="published at or after this time")
    p.add_argument("--until", type=_time, help="published before this time")
    p.add_argument("--out", type=Path, help="file to write (default: standard output)")
    p.set_defaults(func=cmd_export)
