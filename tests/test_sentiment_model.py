"""The sentiment model's contract: interfaces, CLI output, label mapping, languages, batching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.sentiment import LABELS, Prediction, load
from models.sentiment.labels import label_matrix
from models.sentiment.language import detect
from models.sentiment.train import macro_f1
from tests.support import shared_path

ROOT = Path(__file__).resolve().parents[1]
MIXED = [
    "@Parkeo j'ai payé mon abonnement et je reçois une amende, c'est scandaleux",
    "Bedankt @Parkeo, de app werkt perfect!",
    "Is the Parkeo office open on Saturday?",
    "Das ist der schlechteste Kundenservice, den ich je erlebt habe",
    "¡Me encanta este nuevo teléfono, es genial!",
]


@pytest.fixture(scope="module")
def model():
    return load()


def _cli(*args: str, stdin: str = "") -> list[str]:
    done = subprocess.run([sys.executable, "-m", "models.sentiment", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, check=True, timeout=300)
    return done.stdout.strip().splitlines()


def test_predict_returns_one_valid_prediction_per_text(model) -> None:
    predictions = model.predict(MIXED)
    assert len(predictions) == len(MIXED)
    for p in predictions:
        assert isinstance(p, Prediction)
        assert p.label in LABELS
        assert 1 / 3 <= p.score <= 1.0
        assert 0.0 <= p.complaint_score <= 1.0
        assert p.is_complaint == (p.complaint_score >= 0.5)
    assert model.predict([]) == []
    assert model.model_id.startswith("vigie-sentiment-") and model.model_id[-1].isdigit()


def test_complaints_need_no_handle_and_negativity_is_not_one(model) -> None:
    """The learned complaint head: a product review without any @handle is a complaint, in
    English as in French; everyday negativity is not, even though the old rule needed a handle
    to flag anything."""
    reviews = ["Terrible app, crashes every time I open it since the last update. Refund please.",
               "L'application plante à chaque ouverture depuis la mise à jour. Remboursez-moi."]
    moods = ["Ugh, Mondays again. Hate them."]
    predictions = model.predict(reviews + moods)
    assert [p.label for p in predictions] == ["negative"] * 3
    assert [p.is_complaint for p in predictions] == [True, True, False]
    assert model.model_id.endswith("+intent-lr-4")


@pytest.mark.xfail(strict=True, reason="known regression of 0.4 (MODEL_CARD.md): trained on "
                   "reviews, where negative means a complaint, it flags 'I hate Mondays'")
def test_a_bare_mood_is_no_complaint(model) -> None:
    assert not model.predict(["I hate Mondays"])[0].is_complaint


def test_probabilities_are_distributions(model) -> None:
    proba = model.predict_proba(MIXED)
    assert proba.shape == (len(MIXED), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_obvious_sentiment(model) -> None:
    labels = [p.label for p in model.predict(
        ["I love this, thank you so much, it is wonderful!",
         "This is terrible, the worst service ever, I am furious"])]
    assert labels == ["positive", "negative"]


def test_duplicates_retweets_and_batching_do_not_change_results(model) -> None:
    from models.sentiment.bundled import BundledModel

    stream = [*MIXED, MIXED[0], "RT @someone: " + MIXED[3], MIXED[1]]
    together = model.predict(stream)
    uncached = BundledModel(cache_size=0)
    alone = [uncached.predict([t])[0] for t in stream]
    for a, b in zip(together, alone, strict=True):
        assert a.label == b.label and a.language == b.language
        assert a.score == pytest.approx(b.score, abs=1e-5)
    assert together[len(MIXED)] == together[0]
    assert together[len(MIXED) + 1].score == pytest.approx(together[3].score, abs=1e-6)


def test_result_cache_is_bounded_and_transparent() -> None:
    from models.sentiment.bundled import BundledModel

    small = BundledModel(cache_size=3)
    first = small.predict(MIXED)
    assert len(small._cache) == 3
    again = small.predict(MIXED[::-1])[::-1]
    assert again[2:] == first[2:]  # the three cached texts come back as they were
    assert [p.label for p in again] == [p.label for p in first]
    assert [p.score for p in again] == pytest.approx([p.score for p in first], abs=1e-5)
    np.testing.assert_allclose(small.predict_proba(MIXED),
                               BundledModel(cache_size=0).predict_proba(MIXED), atol=1e-6)


def test_hostile_text_is_scored(model) -> None:
    hostile = ["\ud800 broken surrogate", "<script>alert(1)</script>", "", "x" * 100_000,
               "\u202etxet desrever"]
    assert [p.label in LABELS for p in model.predict(hostile)] == [True] * len(hostile)


@pytest.mark.parametrize(("text", "lang"), [
    ("Le train est encore en retard ce matin, c'est insupportable", "fr"),
    ("De trein is weer te laat vanochtend", "nl"),
    ("Der Zug hat schon wieder Verspätung heute Morgen", "de"),
    ("El tren llega tarde otra vez esta mañana", "es"),
    ("Il treno è di nuovo in ritardo stamattina", "it"),
    ("O comboio está atrasado outra vez esta manhã", "pt"),
    ("The train is late again this morning", "en"),
    ("😡😡😡", "und"),
])
def test_language_detection(text: str, lang: str) -> None:
    assert detect(text) == lang


def test_evaluate_cli_last_line_is_json(tmp_path: Path) -> None:
    data = tmp_path / "tiny.tsv"
    data.write_text("stars\tlabel\ttext\n5\tpositive\tI love it, great job\n"
                    "1\tnegative\tAwful, I hate it\n\tneutral\tThe shop opens at nine\n",
                    encoding="utf-8")
    metrics = json.loads(_cli("evaluate", str(data))[-1])
    assert metrics["n"] == 3
    assert 0 <= metrics["macro_f1"] <= 100 and 0 <= metrics["accuracy"] <= 100
    assert metrics["with_stars"]["n"] == 3


def test_predict_cli_one_json_per_line() -> None:
    lines = _cli("predict", stdin="I love it\nC'est nul\n")
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 2
    assert {"label", "score", "language", "is_complaint", "complaint_score", "intent",
            "question_score", "model_id"} <= set(rows[0])


@pytest.mark.parametrize(("id2label", "expected"), [
    ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, [0, 1, 2]),
    ({0: "Negative", 1: "Neutral", 2: "Positive"}, [0, 1, 2]),
    ({0: "positive", 1: "negative"}, [2, 0]),
    ({0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"}, [0, 0, 1, 2, 2]),
])
def test_label_mapping(id2label: dict[int, str], expected: list[int]) -> None:
    assert label_matrix(id2label).argmax(axis=1).tolist() == expected


def test_unknown_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot map"):
        label_matrix({0: "toxic", 1: "LABEL_1"})


def _tiny_transformers_model(path: Path, id2label: dict[int, str]) -> None:
    """A randomly initialised BERT with its own word-level vocabulary, saved like a download."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "love", "hate", "it", "the"]
    (path / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(path / "vocab.txt")).save_pretrained(path)
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, num_labels=len(id2label),
                        id2label=id2label, label2id={v: k for k, v in id2label.items()})
    BertForSequenceClassification(config).save_pretrained(path)


def test_any_local_transformers_model_plugs_in(tmp_path: Path) -> None:
    import torch

    torch.manual_seed(0)
    _tiny_transformers_model(tmp_path, {0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars",
                                        4: "5 stars"})
    hf = load(str(tmp_path))
    texts = ["i love it", "i hate the", "i love it"]
    predictions = hf.predict(texts)
    proba = hf.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert [p.label for p in predictions] == [LABELS[int(r.argmax())] for r in proba]
    assert predictions[0] == predictions[2]
    assert hf.model_id.startswith(f"hf:{tmp_path}")
    lines = _cli("predict", "--model", str(tmp_path), stdin="i love it\n")
    assert json.loads(lines[0])["label"] in LABELS


def test_macro_f1_matches_sklearn() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    gold, pred = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    assert macro_f1(gold, pred) == pytest.approx(f1_score(gold, pred, average="macro"))


def _val_sample(n: int = 200) -> list[str]:
    """Real tweets of every training language (seeded), normalised as the model sees them."""
    import random

    from models.sentiment.data import xlmt_split
    from models.sentiment.text import normalize

    shared_path("sentiment", "xlmt")  # skips cleanly where ../shared/data is absent
    texts = [t for _, split in sorted(xlmt_split("val").items()) for t in split[1]]
    return [normalize(t) for t in random.Random(0).sample(texts, n)]


def test_torch_encoder_agrees_with_numpy_use() -> None:
    from models.sentiment.encoders import universal_sentence_encoder, use_embed

    texts = [*_val_sample(), "x", "🙂🙂🙂", "@user http"]
    torch_emb = use_embed(texts)
    numpy_emb = universal_sentence_encoder().encode(texts)
    assert torch_emb.shape == numpy_emb.shape == (len(texts), 512)
    assert float((torch_emb * numpy_emb).sum(axis=1).min()) > 0.999
    # Batching is an implementation detail: one text at a time gives the same vectors.
    alone = np.vstack([use_embed([t]) for t in texts[:20]])
    np.testing.assert_allclose(alone, torch_emb[:20], atol=1e-5)


def test_token_batches_cover_every_index_once_within_budget() -> None:
    from models.sentiment.batching import token_batches

    lengths = [5, 300, 40, 40, 2, 90, 7]
    batches = token_batches(lengths, 100)
    assert sorted(int(i) for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or sum(lengths[i] for i in b) <= 100
    assert token_batches([], 100) == []


def test_shipped_transformers_model_matches_the_use_head(model) -> None:
    from transformers import AutoConfig, AutoModelForSequenceClassification, pipeline

    from models.sentiment.encoders import use_embed
    from models.sentiment.text import normalize
    from models.sentiment.vigie_use import EXPORT_DIR, VigieUseForSequenceClassification

    # less the "+intent-…" heads' suffix and the "-fast" of a model running without e5
    ensemble_id = model.model_id.split("+")[0].removesuffix("-fast")
    assert AutoConfig.from_pretrained(EXPORT_DIR).ensemble_id == ensemble_id, \
        "stale export: run python -m models.sentiment.vigie_use"
    auto = AutoModelForSequenceClassification.from_pretrained(EXPORT_DIR, local_files_only=True)
    assert isinstance(auto, VigieUseForSequenceClassification)
    assert sum(f.stat().st_size for f in EXPORT_DIR.iterdir()) < 100_000  # head only
    classify = pipeline("text-classification", model=str(EXPORT_DIR), device="cpu")
    texts = [*MIXED, "RT @fan: I love it http://x.co", "<s> </s>", "", "ok " * 400]
    head = model.ensemble.use_head
    expected = head.proba(use_embed([normalize(t) for t in texts]))
    for text, proba in zip(texts, expected, strict=True):
        out = classify(text)[0]
        assert out["label"] == LABELS[int(proba.argmax())]
        assert out["score"] == pytest.approx(float(proba.max()), abs=1e-4)
    # The generic transformers wrapper loads the same directory.
    labels = [p.label for p in load(str(EXPORT_DIR)).predict(texts)]
    assert labels == [LABELS[int(p.argmax())] for p in expected]


def test_transformers_tokenizer_matches_encoder_ids() -> None:
    from transformers import AutoTokenizer

    from models.sentiment.encoders import tokenize
    from models.sentiment.text import normalize
    from models.sentiment.vigie_use import EXPORT_DIR

    tokenizer = AutoTokenizer.from_pretrained(EXPORT_DIR, local_files_only=True)
    texts = [*_val_sample(50), "<s> spelled out", "@Brand look http://x.y " + "long " * 300]
    assert [tokenizer(t)["input_ids"] for t in texts] == tokenize([normalize(t) for t in texts])


def test_tweets_and_reviews_each_get_their_expert(model) -> None:
    """The domain head tells a tweet from a review; a rated mention is a review and keeps the
    review expert's reading exactly (its rating layer was fitted on those logits)."""
    from dataclasses import replace

    from models.sentiment.encoders import use_embed
    from models.sentiment.text import normalize

    texts = [normalize(t) for t in (
        "@user watching the match tonight with the lads, let's go!! #football",
        "The app crashes every time I open it. Uninstalled, very disappointing.")]
    use = use_embed(texts)
    experts = model.ensemble.tweets
    assert experts is not None
    tweet, review = experts.p_review(use, None)
    assert tweet < 0.1 and review > 0.9
    assert experts.p_review(use, [4, None])[0] == 1.0
    single = replace(model.ensemble, tweets=None)
    np.testing.assert_allclose(model.ensemble.logits(texts, use, ratings=[3, 1]),
                               single.logits(texts, use, ratings=[3, 1]), rtol=1e-5)
    assert not np.allclose(model.ensemble.logits(texts[:1], use[:1]),
                           single.logits(texts[:1], use[:1]))
