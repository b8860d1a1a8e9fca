"""Complaint flags and brand targets, and their evaluation on support-tweet threads."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from models import complaints
from models.complaints_eval import evaluate, read_support

HEADER = ["", "tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id",
          "in_response_to_tweet_id"]


def _thread(path: Path) -> None:
    rows = [
        [0, 1, "cust1", "True", "t", "@AcmeCare my order never arrived, this is awful", "2", ""],
        [1, 2, "AcmeCare", "False", "t", "@cust1 Sorry to hear that, please DM us", "", "1"],
        [2, 3, "cust2", "True", "t", "@BoltHelp the app crashes every time, terrible", "4", ""],
        [3, 4, "BoltHelp", "False", "t", "@cust2 Thanks, we are glad to help!", "", "3"],
        [4, 5, "cust3", "", "t", "malformed row without a direction", "", ""],
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])


def test_read_support_pairs_inbound_tweets_with_the_answering_brand(tmp_path: Path) -> None:
    _thread(tmp_path / "twcs.csv")
    texts, inbound, brands = read_support(tmp_path / "twcs.csv")
    assert len(texts) == 4
    assert inbound == [True, False, True, False]
    assert brands == ["AcmeCare", None, "BoltHelp", None]


def test_evaluate_reports_precision_recall_and_targets(tmp_path: Path) -> None:
    _thread(tmp_path / "twcs.csv")
    result = evaluate(tmp_path / "twcs.csv")
    assert result["n"] == 4 and result["inbound"] == 2
    assert 0.0 <= result["precision"] <= 1.0 and 0.0 <= result["recall"] <= 1.0
    assert result["target_n"] == 2 and result["target_accuracy"] == 1.0


def test_addressed_negativity_scores_higher_than_unaddressed() -> None:
    scores = complaints.complaint_scores(["@acme broken again", "Mondays, broken again"],
                                         np.array([0.9, 0.9]))
    assert scores[0] > complaints.COMPLAINT_THRESHOLD > scores[1]


def test_detect_target_first_brand_mentioned() -> None:
    assert complaints.detect_target("Thanks @bolt, unlike Acme", ["Acme", "@Bolt"]) == "@Bolt"
    assert complaints.detect_target("Acmeville is nice", ["Acme"]) is None


def test_complaint_head_ships_and_the_rule_is_its_fallback(monkeypatch, tmp_path: Path) -> None:
    head = complaints.load_head()
    assert head is not None and head.weight.shape == (complaints.N_FEATURES,)
    scores = head.predict(["@user hi", "hi"], np.zeros((2, complaints.EMBED_DIM), np.float32),
                          np.array([0.0, 1.0], np.float32))
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert scores[1] == 0  # certain praise is never a complaint
    head.save(tmp_path / "head.npz")
    again = complaints.ComplaintHead.load(tmp_path / "head.npz")
    np.testing.assert_array_equal(again.weight, head.weight)
    monkeypatch.setattr(complaints, "HEAD_PATH", tmp_path / "absent.npz")
    complaints.load_head.cache_clear()
    try:
        assert complaints.load_head() is None
    finally:
        monkeypatch.undo()
        complaints.load_head.cache_clear()
