"""Command line: `python -m models.sentiment evaluate FILE.tsv`, `benchmark`, `predict < texts`,
`train`."""

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from models.sentiment import load
from models.sentiment.featcache import DEFAULT_DIR

STDIN_BATCH = 256


def _evaluate(args: argparse.Namespace) -> int:
    from models.sentiment.evaluate import EvalFileError, evaluate_file, read_labelled

    try:
        read_labelled(Path(args.file))  # a bad file fails before the model loads
        metrics, report = evaluate_file(load(args.model), Path(args.file))
    except EvalFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report)
    print(json.dumps(metrics))
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from models.sentiment.benchmark import benchmark, tables
    from models.sentiment.corpora import DATA

    rows = benchmark(load(args.model), args.cap)
    if not rows:
        print(f"no labelled set found under {DATA}", file=sys.stderr)
        return 2
    print(tables(rows))
    print(json.dumps(rows))
    return 0


def _predict(args: argparse.Namespace) -> int:
    """Stream stdin in batches so a long pipe gets output before it ends."""
    model = load(args.model)
    batch: list[str] = []
    for line in sys.stdin:
        batch.append(line.rstrip("\r\n"))
        if len(batch) == STDIN_BATCH:
            _emit(model, batch)
            batch = []
    _emit(model, batch)
    return 0


def _emit(model, texts: list[str]) -> None:
    for prediction in model.predict(texts) if texts else []:
        print(json.dumps({**asdict(prediction), "model_id": model.model_id}, ensure_ascii=False))
    sys.stdout.flush()


def _train(args: argparse.Namespace) -> int:
    from models.sentiment.train import train

    train(cache=Path(args.cache), fast_only=args.fast_only)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.sentiment", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    evaluate = sub.add_parser("evaluate", help="score a [stars<TAB>]label<TAB>text file with its "
                              "header; last line is JSON")
    evaluate.add_argument("file")
    evaluate.add_argument("--model", default=None, help="HF model id or local path")
    evaluate.set_defaults(run=_evaluate)
    bench = sub.add_parser("benchmark", help="every held-out set in ../shared, one table per "
                           "domain; last line is JSON")
    bench.add_argument("--model", default=None, help="HF model id or local path")
    bench.add_argument("--cap", type=int, default=1200, help="rows per set at most")
    bench.set_defaults(run=_benchmark)
    predict = sub.add_parser("predict", help="one text per stdin line -> one JSON per line")
    predict.add_argument("--model", default=None, help="HF model id or local path")
    predict.set_defaults(run=_predict)
    trainer = sub.add_parser("train", help="train the bundled model on ../shared/data")
    trainer.add_argument("--cache", default=str(DEFAULT_DIR), help="folder for embeddings")
    trainer.add_argument("--fast-only", action="store_true", help="without the e5 tier")
    trainer.set_defaults(run=_train)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
