"""Score a labeled TSV file: the numbers the model card and acceptance are based on."""

from pathlib import Path

from sklearn.metrics import accuracy_score, classification_report, f1_score

from models.sentiment.data import read_tsv
from models.sentiment.prediction import LABELS

EVAL_BATCH = 512


def evaluate_file(model, path: Path) -> tuple[dict, str]:
    """(metrics, human-readable report) of model on one `label<TAB>text` file."""
    gold, texts = read_tsv(path)
    predicted: list[str] = []
    for start in range(0, len(texts), EVAL_BATCH):
        predicted += [p.label for p in model.predict(texts[start:start + EVAL_BATCH])]
    metrics = {
        "file": str(path),
        "model_id": model.model_id,
        "n": len(gold),
        "macro_f1": round(100 * f1_score(gold, predicted, labels=list(LABELS), average="macro",
                                         zero_division=0), 2),
        "accuracy": round(100 * accuracy_score(gold, predicted), 2) if gold else 0.0,
    }
    report = classification_report(gold, predicted, labels=list(LABELS), digits=3,
                                   zero_division=0) if gold else "empty file"
    return metrics, report
