"""Score a labelled TSV file: the numbers the model card and acceptance are based on.

The file starts with a header, `label<TAB>text` or `stars<TAB>label<TAB>text`; anything else is
refused (a headerless file would silently lose its first row). Labels are negative / neutral /
positive, or complaint / not_complaint. A file whose gold labels are only two sentiment classes
(negative and positive) is scored over those two: the model's choice between them, not its
three-way argmax. With stars, the file is scored twice: from the text alone and with the stars.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from models.sentiment.prediction import LABELS

EVAL_BATCH = 512
HEADERS = {("label", "text"): False, ("stars", "label", "text"): True}
COMPLAINT_LABELS = ("not_complaint", "complaint")


class EvalFileError(ValueError):
    """The file cannot be scored; the message says why."""


def read_labelled(path: Path) -> tuple[list[str], list[str], list[int | None] | None]:
    """(labels, texts, stars or None) of a labelled file; raises EvalFileError."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"cannot read {path}: {exc}") from exc
    header = tuple(h.strip().lower() for h in (lines[0].split("\t") if lines else []))
    if header not in HEADERS:
        raise EvalFileError(f"{path}: the first line must be 'label<TAB>text' or "
                            f"'stars<TAB>label<TAB>text', got {lines[0][:60] if lines else ''!r}")
    with_stars = HEADERS[header]
    labels, texts, stars = [], [], []
    for number, row in enumerate(csv.reader(lines[1:], delimiter="\t",
                                            quoting=csv.QUOTE_NONE), start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < len(header):
            raise EvalFileError(f"{path}:{number}: expected {len(header)} tab-separated fields")
        if with_stars:
            value = row.pop(0).strip()
            if value and not (value.isdigit() and 1 <= int(value) <= 5):
                raise EvalFileError(f"{path}:{number}: stars must be 1-5 or empty: {value!r}")
            stars.append(int(value) if value else None)
        labels.append(row[0].strip().lower())
        texts.append("\t".join(row[1:]))
    unknown = sorted(set(labels) - set(LABELS) - set(COMPLAINT_LABELS))
    if unknown:
        raise EvalFileError(f"{path}: unknown labels {unknown}; expected {list(LABELS)} or "
                            f"{list(COMPLAINT_LABELS)}")
    return labels, texts, stars if with_stars else None


def _batched(model, texts: list[str], ratings: list[int | None] | None) -> list:
    out: list = []
    for start in range(0, len(texts), EVAL_BATCH):
        part = None if ratings is None else ratings[start:start + EVAL_BATCH]
        out += model.predict(texts[start:start + EVAL_BATCH], part)
    return out


def macro_f1(gold: list[str], predicted: list[str], classes: list[str]) -> float:
    """Macro-F1 (percent) over the given classes."""
    scores = []
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(gold, predicted, strict=True))
        denom = sum(g == c for g in gold) + sum(p == c for p in predicted)
        scores.append(2 * tp / denom if denom else 0.0)
    return round(100 * float(np.mean(scores)), 2) if scores else 0.0


def score(model, labels: list[str], texts: list[str],
          stars: list[int | None] | None = None) -> dict:
    """Metrics of the model on labelled texts (with the stars where given)."""
    preds = _batched(model, texts, stars)
    if set(labels) <= set(COMPLAINT_LABELS):
        predicted = [COMPLAINT_LABELS[int(p.is_complaint)] for p in preds]
        classes = list(COMPLAINT_LABELS)
    else:
        classes = [c for c in LABELS if c in labels] if set(labels) <= {"negative", "positive"} \
            else list(LABELS)
        predicted = [p.label for p in preds]
        if len(classes) == 2:  # the model's choice between the two classes the file has
            proba = _proba(model, texts, stars)
            predicted = [classes[int(row[LABELS.index(classes[1])] > row[LABELS.index(classes[0])])]
                         for row in proba]
    gold, hit = np.array(labels), np.array(predicted) == np.array(labels)
    out = {"n": len(gold), "classes": classes, "macro_f1": macro_f1(labels, predicted, classes),
           "accuracy": round(100 * float(hit.mean()), 2) if len(gold) else 0.0}
    if classes == list(COMPLAINT_LABELS):
        flagged, actual = np.array(predicted) == "complaint", gold == "complaint"
        tp = int((flagged & actual).sum())
        out["precision"] = round(tp / max(int(flagged.sum()), 1), 4)
        out["recall"] = round(tp / max(int(actual.sum()), 1), 4)
    return out


def _proba(model, texts: list[str], stars: list[int | None] | None) -> np.ndarray:
    parts = [model.predict_proba(texts[i:i + EVAL_BATCH],
                                 None if stars is None else stars[i:i + EVAL_BATCH])
             for i in range(0, len(texts), EVAL_BATCH)]
    return np.vstack(parts) if parts else np.zeros((0, len(LABELS)))


def evaluate_file(model, path: Path) -> tuple[dict, str]:
    """(metrics, human-readable report) of model on one labelled file."""
    labels, texts, stars = read_labelled(path)
    metrics = {"file": str(path), "model_id": model.model_id, **score(model, labels, texts)}
    lines = [f"text alone: macro-F1 {metrics['macro_f1']} over {metrics['classes']}, "
             f"accuracy {metrics['accuracy']}, n {metrics['n']}"]
    if stars is not None:
        metrics["with_stars"] = score(model, labels, texts, stars)
        lines.append(f"with stars: macro-F1 {metrics['with_stars']['macro_f1']}, "
                     f"accuracy {metrics['with_stars']['accuracy']}")
    return metrics, "\n".join(lines)
