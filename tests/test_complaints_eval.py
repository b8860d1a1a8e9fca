"""Complaint flags and brand targets, and their evaluation on support-tweet threads."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from models import complaints
from models.complaints import intent
from models.complaints.eval import evaluate, read_support

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


def test_intent_heads_ship_and_the_rule_is_their_fallback(monkeypatch, tmp_path: Path) -> None:
    model = intent.load_intent()
    assert model is not None and "fast" in model.heads
    texts = ["@user hi", "hi", "is it open on sunday?"]
    use = np.zeros((3, 512), np.float32)
    complaint, question = model.scores(texts, use, np.array([0.0, 1.0, 0.0], np.float32))
    assert complaint.shape == question.shape == (3,)
    assert np.all((complaint >= 0) & (complaint <= 1)) and np.all((question >= 0) & (question <= 1))
    assert complaint[1] == 0  # certain praise is never a complaint
    assert question[2] > question[1]  # asking is a cue the heads read
    model.save(tmp_path)
    again = intent.IntentModel.load(tmp_path)
    np.testing.assert_array_equal(again.heads["fast"].weight, model.heads["fast"].weight)
    monkeypatch.setattr(intent, "ARTIFACTS", tmp_path / "absent")
    intent.load_intent.cache_clear()
    try:
        assert intent.load_intent() is None and intent.model_suffix() == ""
        rule, none = intent.intent_scores(["@acme broken again"], np.array([[0.9, 0.05, 0.05]]))
        assert rule[0] > complaints.COMPLAINT_THRESHOLD and none[0] == 0
    finally:
        monkeypatch.undo()
        intent.load_intent.cache_clear()


def test_intent_cues_and_priority() -> None:
    cues = intent.cues(["Is it open on Saturday? http", "Why?! It is broken again", "Fine.",
                        "¿Abre el sábado", "@user ok"])
    assert cues[:, 1].tolist() == [1, 1, 0, 1, 0]  # asks
    assert cues[:, 2].tolist() == [1, 0, 0, 0, 0]  # ends asking (links after it count)
    assert cues[:, 0].tolist() == [0, 0, 0, 0, 1]  # addresses a handle
    assert complaints.intent_of(0.7, 0.9) == "complaint"  # a complaint phrased as a question
    assert complaints.intent_of(0.2, 0.6) == "question"
    assert complaints.intent_of(0.2, 0.2) == "other"
