"""CLI: ``python -m models.spread fit DIR`` and ``... evaluate DIR --observe SECONDS``.

``evaluate`` prints one line per figure and, last, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.spread.cascades import read_cascades
from models.spread.params import DEFAULT_PATH, SpreadParams
from models.spread.training import POLL_S, evaluate, fit, leave_one_out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models.spread")
    commands = parser.add_subparsers(dest="command", required=True)
    fitting = commands.add_parser("fit", help="fit the calibration on a folder of cascades")
    fitting.add_argument("directory", type=Path)
    fitting.add_argument("--out", type=Path, default=DEFAULT_PATH)
    fitting.add_argument("--poll", type=float, default=POLL_S, help="poll period, seconds")
    scoring = commands.add_parser("evaluate", help="median relative error on a folder of cascades")
    scoring.add_argument("directory", type=Path)
    scoring.add_argument("--observe", type=float, required=True, help="observation time, seconds")
    scoring.add_argument("--params", type=Path, default=DEFAULT_PATH)
    scoring.add_argument("--variant", choices=("events", "snapshots"), default="events")
    scoring.add_argument("--poll", type=float, default=POLL_S, help="poll period (snapshots)")
    scoring.add_argument("--loo", action="store_true",
                         help="refit leaving each cascade out instead of using --params")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cascades = read_cascades(args.directory)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "fit":
        fit(cascades, poll_s=args.poll).save(args.out)
        print(f"fitted on {len(cascades)} cascades -> {args.out}")
        return 0
    if args.loo:
        result = leave_one_out(cascades, args.observe, args.variant, args.poll)
        mode = "leave-one-out"
    else:
        result = evaluate(cascades, args.observe, SpreadParams.load(args.params), args.variant,
                          args.poll)
        mode = f"parameters {args.params}"
    result = {"observe_s": args.observe, "variant": args.variant, "mode": mode} | result
    print(f"{result['n']} cascades, {mode}, observed {args.observe:.0f} s ({args.variant})")
    print(f"median APE {result['median_ape']:.3f}  baseline {result['baseline_median_ape']:.3f}  "
          f"80% interval coverage {result['interval_coverage']:.2f}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
