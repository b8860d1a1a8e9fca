"""Evaluation that cannot mislead: file formats, binary sets, held-out splits, the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.sentiment.corpora import capped, corpora, held_out
from models.sentiment.evaluate import EvalFileError, macro_f1, read_labelled, score
from models.sentiment.prediction import Prediction
from tests.support import shared_path

ROOT = Path(__file__).resolve().parents[1]


class Fixed:
    """A model that reads 'good' as positive, 'bad' as negative, else neutral, and flags
    complaints on 'broken' (a fixed rule, so the metrics are known)."""

    model_id = "fixed"

    def predict_proba(self, texts, ratings=None):
        rows = {"good": [0.1, 0.5, 0.4], "bad": [0.45, 0.5, 0.05]}
        return np.array([rows.get(t.split()[0], [0.2, 0.6, 0.2]) for t in texts])

    def predict(self, texts, ratings=None):
        proba = self.predict_proba(texts)
        labels = ("negative", "neutral", "positive")
        return [Prediction(labels[int(p.argmax())], float(p.max()), "en", "broken" in t,
                           float("broken" in t)) for p, t in zip(proba, texts, strict=True)]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_without_the_header_is_refused(tmp_path: Path) -> None:
    headless = _write(tmp_path / "a.tsv", "positive\tgood stuff\nnegative\tbad stuff\n")
    with pytest.raises(EvalFileError, match="first line"):
        read_labelled(headless)
    done = subprocess.run([sys.executable, "-m", "models.sentiment", "evaluate", str(headless)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 2 and "first line" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_rows_and_labels_are_named(tmp_path: Path) -> None:
    with pytest.raises(EvalFileError, match="unknown labels"):
        read_labelled(_write(tmp_path / "b.tsv", "label\ttext\nhappy\tgood\n"))
    with pytest.raises(EvalFileError, match=":2: stars"):
        read_labelled(_write(tmp_path / "c.tsv", "stars\tlabel\ttext\n9\tpositive\tgood\n"))
    with pytest.raises(EvalFileError, match="cannot read"):
        read_labelled(tmp_path / "absent.tsv")


def test_stars_file_keeps_every_row_and_its_rating(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.tsv", "stars\tlabel\ttext\n1\tnegative\tbad\tstill bad\n"
                                      "\tneutral\tso so\n5\tpositive\tgood\n")
    labels, texts, stars = read_labelled(path)
    assert labels == ["negative", "neutral", "positive"]
    assert texts == ["bad\tstill bad", "so so", "good"]
    assert stars == [1, None, 5]


def test_a_binary_set_is_scored_over_its_two_classes() -> None:
    # argmax says neutral for both, yet the model prefers the right side of each pair.
    metrics = score(Fixed(), ["positive", "negative"], ["good one", "bad one"])
    assert metrics["classes"] == ["negative", "positive"]
    assert metrics["macro_f1"] == 100.0
    three = score(Fixed(), ["positive", "negative", "neutral"], ["good", "bad", "meh"])
    assert three["classes"] == ["negative", "neutral", "positive"]
    assert three["macro_f1"] == pytest.approx(100 * (0 + 0 + 0.5) / 3, abs=0.01)


def test_complaint_files_report_precision_and_recall() -> None:
    metrics = score(Fixed(), ["complaint", "complaint", "not_complaint"],
                    ["it is broken", "never came", "broken heart song"])
    assert metrics["precision"] == 0.5 and metrics["recall"] == 0.5


def test_macro_f1_counts_only_the_given_classes() -> None:
    assert macro_f1(["a", "b"], ["a", "b"], ["a", "b"]) == 100.0
    assert macro_f1(["a", "b"], ["a", "a"], ["a", "b"]) == pytest.approx(100 * (2 / 3) / 2,
                                                                         abs=0.01)


def test_held_out_split_is_stable_and_keeps_copies_together() -> None:
    texts = [f"review number {i}" for i in range(2000)]
    held = held_out(texts)
    assert 0.15 < held.mean() < 0.25
    np.testing.assert_array_equal(held, held_out(list(texts)))
    twins = held_out(["Great app!", "great   app!", "@someone Great app!"])
    assert len(set(twins[:2].tolist())) == 1


def test_every_shared_set_is_found_and_no_held_out_text_is_trained_on() -> None:
    shared_path("reviews")
    sets = list(corpora())
    names = {c.name for c in sets}
    assert {"xlmt", "googleplay", "insurance", "trustpilot-shops", "germeval2017-db",
            "political-tweets", "semeval16-restaurants", "allocine", "cesamard"} <= names
    for name in names - {"xlmt", "allocine"}:
        train = {t.lower() for c in sets if c.name == name and c.split == "train" for t in c.texts}
        val = {t.lower() for c in sets if c.name == name and c.split == "val" for t in c.texts}
        assert val and not (train & val), name
    big = next(c for c in sets if c.key == "insurance/fr/train")
    small = capped(big, 500)
    assert len(small.texts) == 500 and set(small.stars.tolist()) == {1, 2, 3, 4, 5}


def test_benchmark_prints_one_table_per_domain() -> None:
    shared_path("reviews")
    done = subprocess.run([sys.executable, "-m", "models.sentiment", "benchmark", "--cap", "20"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, check=True)
    out = done.stdout
    for domain in ("== tweets", "== reviews", "== complaints"):
        assert domain in out
    rows = json.loads(out.strip().splitlines()[-1])
    assert {r["domain"] for r in rows} == {"tweets", "reviews", "complaints"}
    review = next(r for r in rows if r["set"] == "googleplay" and r["language"] == "nl")
    assert "with_stars" in review and "complaints_stars" in review
    allocine = next(r for r in rows if r["set"] == "allocine")
    assert allocine["classes"] == ["negative", "positive"]
