"""The built-in demo source: a believable multilingual stream for a fictitious parking operator.

Everything is a pure function of (seed, brand, simulated minute), so polling the same window twice
yields the same mentions (storage deduplicates them) and a restart resumes exactly at the cursor.
The scenario: ordinary chatter, praise and isolated complaints in French, Dutch and English, then,
``incident_after_minutes`` into the stream, many different people complaining that they were fined
although they had paid their yearly subscription; some of those posts are reshared fast.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from monitor.mentions import Batch, Engagement, MentionIn
from monitor.plugins import SourcePlugin

if TYPE_CHECKING:
    from monitor.collectors.credentials import Credentials
    from monitor.config import Brand

SOURCE = "demo"
TRACK_MINUTES = 6 * 60
BATCH_MINUTES = 60

STREETS = [
    "rue de la Loi",
    "avenue Louise",
    "chaussée d'Ixelles",
    "place Flagey",
    "boulevard Anspach",
    "rue Neuve",
    "Dansaertstraat",
    "Vlaamsesteenweg",
    "place du Luxembourg",
    "Bergensesteenweg",
]
FIRST = [
    "Sarah",
    "Tom",
    "Inès",
    "Jonas",
    "Lotte",
    "Mehdi",
    "Julie",
    "Pieter",
    "Amélie",
    "Noah",
    "Fatima",
    "Lucas",
    "Emma",
    "Wout",
    "Chloé",
    "Bram",
    "Yasmine",
    "Hugo",
    "Elif",
    "Maxime",
]
LAST = [
    "dubois",
    "peeters",
    "janssens",
    "martin",
    "maes",
    "lambert",
    "el_amrani",
    "claes",
    "dupont",
    "willems",
    "leroy",
    "goossens",
    "renard",
    "wouters",
    "simon",
    "mertens",
]

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "chatter": {
        "en": [
            "Does anyone know if {handle} zones are free on Sundays near {street}?",
            "Parked near {street} with the {brand} app, first time using it.",
            "Is the {brand} office at {street} open on Saturday mornings?",
            "Which {brand} zone is {street} in? The signs are confusing.",
        ],
        "fr": [
            "Quelqu'un sait si le stationnement {brand} est gratuit le dimanche {street} ?",
            "Première fois que j'utilise l'appli {brand} pour me garer {street}.",
            "Les bureaux de {brand} {street} sont ouverts le samedi ?",
            "C'est quelle zone {brand} {street} ? Les panneaux ne sont pas clairs.",
        ],
        "nl": [
            "Weet iemand of parkeren bij {brand} op zondag gratis is in de {street}?",
            "Voor het eerst de {brand} app gebruikt om te parkeren in de {street}.",
            "Is het kantoor van {brand} in de {street} op zaterdag open?",
            "In welke {brand} zone ligt de {street}? De borden zijn onduidelijk.",
        ],
    },
    "praise": {
        "en": [
            "Thanks {handle}, the app made parking at {street} painless today!",
            "Lost my ticket and {brand} support sorted it in 5 minutes. Great service.",
            "Have to say the new {brand} app is really smooth. Well done {handle}",
        ],
        "fr": [
            "Merci {handle}, l'appli m'a simplifié la vie {street} aujourd'hui !",
            "Service client {brand} au top, problème réglé en 5 minutes. Bravo !",
            "La nouvelle appli {brand} est vraiment bien faite, merci {handle}",
        ],
        "nl": [
            "Bedankt {handle}, parkeren in de {street} ging vandaag super vlot!",
            "Klantendienst van {brand} heeft mijn probleem in 5 minuten opgelost. Top!",
            "De nieuwe {brand} app werkt echt goed, proficiat {handle}",
        ],
    },
    "complaint": {
        "en": [
            "{handle} your parking meter at {street} ate my card again. Fix it please.",
            "The {brand} app crashed three times while I tried to pay at {street}. Useless.",
            "Waited 40 minutes on the {brand} hotline and nobody picked up.",
        ],
        "fr": [
            "{handle} l'horodateur {street} est encore en panne, impossible de payer.",
            "L'appli {brand} plante à chaque paiement {street}. Inutilisable.",
            "40 minutes d'attente au téléphone chez {brand} et personne ne répond.",
        ],
        "nl": [
            "{handle} de parkeermeter in de {street} is weer kapot, betalen lukt niet.",
            "De {brand} app crasht elke keer als ik wil betalen in de {street}.",
            "40 minuten in de wacht bij {brand} en niemand neemt op.",
        ],
    },
    "incident": {
        "en": [
            "{handle} I paid my yearly resident subscription and still got a €{amount} fine "
            "at {street}. What is going on?",
            "Got a €{amount} parking fine from {brand} although my annual subscription is "
            "paid. Phone line saturated. {handle} answer us!",
            "Am I the only one fined by {brand} despite a valid yearly subscription? "
            "€{amount} for parking in front of my own house on {street}.",
            "{handle} wrongful fine of €{amount}, my subscription runs until December. "
            "This is a scandal.",
        ],
        "fr": [
            "{handle} j'ai payé mon abonnement annuel et je reçois quand même une amende de "
            "{amount}€ {street}. C'est quoi ce délire ?",
            "Amende de {amount}€ de {brand} alors que mon abonnement riverain est payé ! "
            "Et impossible de joindre le service client. {handle}",
            "Je ne suis pas le seul apparemment : redevance de {amount}€ chez {brand} malgré "
            "un abonnement valable. Scandaleux.",
            "{handle} amende injustifiée de {amount}€ devant chez moi {street}, mon "
            "abonnement court jusqu'en décembre.",
        ],
        "nl": [
            "{handle} ik heb mijn jaarabonnement betaald en toch een boete van €{amount} "
            "gekregen in de {street}. Wat is dit?",
            "Boete van €{amount} van {brand} terwijl mijn bewonersabonnement betaald is. "
            "Telefoonlijn overbelast. {handle}",
            "Ben ik de enige met een onterechte boete van {brand}? €{amount} ondanks een "
            "geldig jaarabonnement.",
            "{handle} onterechte boete van €{amount}, mijn abonnement loopt tot december. "
            "Schandalig.",
        ],
    },
}
LANG_WEIGHTS = {"fr": 0.5, "nl": 0.3, "en": 0.2}
KIND_WEIGHTS = {"chatter": 0.55, "praise": 0.2, "complaint": 0.25}
RIVAL_KIND_WEIGHTS = {"chatter": 0.6, "praise": 0.2, "complaint": 0.2}


FADE = 0.46
"""Tail exponent of the demo's reshare law (see ``DemoPost``)."""
WEEK_MINUTES = 7 * 24 * 60


def _reshared_share(minutes: float, onset: float) -> float:
    """Share of a week's reshares made ``minutes`` after the post."""
    def spent(t: float) -> float:
        return 1.0 - (1.0 + t / onset) ** -FADE

    return spent(min(minutes, WEEK_MINUTES)) / spent(WEEK_MINUTES)


@dataclass(frozen=True, slots=True)
class DemoPost:
    """A post and its engagement law: reshares(t) ∝ 1 − (1 + t / onset) ** −FADE.

    The rate fades like a power law, as real retweet cascades do (FADE and onsets of 20–50 min
    put about a third of a week's reshares in the first hour and two thirds by six hours, the
    medians of the TiDeH cascades), so the forecaster sees in the demo what it would see live.
    ``final_reshares`` is the count a week after the post.
    """

    mention: MentionIn
    final_reshares: int
    onset_minutes: float

    def engagement(self, now: datetime) -> Engagement:
        age = max((now - self.mention.created_at).total_seconds() / 60, 0.0)
        reshares = int(self.final_reshares * _reshared_share(age, self.onset_minutes))
        return Engagement(
            observed_at=now,
            reshares=reshares,
            likes=int(reshares * 2.5) + int(age > 5),
            replies=reshares // 4,
            views=reshares * 40 + 50,
        )


class DemoCollector:
    """Replays the demo scenario for ``brand`` up to the simulated ``now`` it is given."""

    source = SOURCE

    def __init__(
        self,
        brand: str,
        handle: str | None = None,
        seed: int = 7,
        incident_after_minutes: int = 180,
        rate_per_minute: float = 1.2,
        competitors: Sequence[str] = (),
        competitor_rate_per_minute: float = 0.25,
    ) -> None:
        self.brand = brand
        self.handle = handle or f"@{brand}"
        self.seed = seed
        self.incident_after = incident_after_minutes
        self.rate = rate_per_minute
        self.competitors = list(competitors)
        self.competitor_rate = competitor_rate_per_minute
        self.key = f"{SOURCE}:{brand}"

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        """Yield the posts of each elapsed simulated minute, an hour per batch."""
        epoch = datetime.fromisoformat(cursor["epoch"]) if cursor else now
        done = cursor["minute"] if cursor else -1
        last = int((now - epoch).total_seconds() // 60)
        start = done + 1
        while start <= last:
            end = min(start + BATCH_MINUTES - 1, last)
            posts = [p for m in range(start, end + 1) for p in self._all_posts_at(epoch, m)]
            mentions = [self._with_engagement(p, now) for p in posts]
            if end == last:
                mentions += self._tracked(epoch, start, last, now)
            yield Batch(mentions, {"epoch": epoch.isoformat(), "minute": end})
            start = end + 1

    def _tracked(self, epoch: datetime, first_new: int, last: int, now: datetime) -> list:
        """Fresh engagement for recent posts that are still being reshared."""
        out = []
        for m in range(max(0, last - TRACK_MINUTES), first_new):
            for post in self._all_posts_at(epoch, m):
                if post.final_reshares >= 5:
                    out.append(self._with_engagement(post, now))
        return out

    @staticmethod
    def _with_engagement(post: DemoPost, now: datetime) -> MentionIn:
        return replace(post.mention, engagement=post.engagement(now))

    def _all_posts_at(self, epoch: datetime, minute: int) -> list[DemoPost]:
        return self.posts_at(epoch, minute) + self.rival_posts_at(epoch, minute)

    def rival_posts_at(self, epoch: datetime, minute: int) -> list[DemoPost]:
        """Competitors' chatter, stored under their names, so share of voice has something to
        compare; its own random stream leaves the brand's posts unchanged for a given seed."""
        posts = []
        for rival in self.competitors:
            rng = random.Random(f"{self.seed}:rival:{rival}:{minute}")
            for i in range(_poisson(rng, self.competitor_rate)):
                kind = _pick(rng, RIVAL_KIND_WEIGHTS)
                posts.append(self._post(rng, epoch, minute, i, kind, rival))
        return posts

    def posts_at(self, epoch: datetime, minute: int) -> list[DemoPost]:
        """The posts published during one simulated minute (deterministic)."""
        rng = random.Random(f"{self.seed}:{self.brand}:{minute}")
        daily = 0.6 + 0.4 * math.sin((minute % 1440) / 1440 * 2 * math.pi)
        posts = [
            self._post(rng, epoch, minute, i, _pick(rng, KIND_WEIGHTS))
            for i in range(_poisson(rng, self.rate * daily))
        ]
        if minute >= self.incident_after:
            ramp = min((minute - self.incident_after) / 60, 3.0)
            for i in range(_poisson(rng, 0.4 + 1.2 * ramp)):
                posts.append(self._post(rng, epoch, minute, 100 + i, "incident"))
        return posts

    def _post(
        self,
        rng: random.Random,
        epoch: datetime,
        minute: int,
        index: int,
        kind: str,
        rival: str | None = None,
    ) -> DemoPost:
        brand = rival or self.brand
        lang = _pick(rng, LANG_WEIGHTS)
        text = rng.choice(TEMPLATES[kind][lang]).format(
            brand=brand,
            handle=f"@{rival}" if rival else self.handle,
            street=rng.choice(STREETS),
            amount=rng.choice([25, 35, 50, 75]),
        )
        author = f"{rng.choice(FIRST).lower()}_{rng.choice(LAST)}{rng.randint(1, 99)}"
        platform = rng.choice(["x", "reddit", "mastodon", "appstore"])
        stream = f"{brand.lower()}-rival" if rival else brand.lower()
        external_id = f"{stream}-{minute}-{index}"
        created = epoch + timedelta(minutes=minute, seconds=rng.randint(0, 59))
        spreads = kind == "incident" and rng.random() < 0.15
        mention = MentionIn(
            source=SOURCE,
            external_id=external_id,
            brand=brand,
            text=text,
            created_at=created,
            url=f"https://demo.vigie.invalid/{platform}/{external_id}",
            author=author,
            author_followers=int(rng.lognormvariate(5.5, 1.5)),
            language=lang,
            rating=_rating(rng, kind) if platform == "appstore" else None,
        )
        final = int(rng.uniform(300, 3000)) if spreads else int(rng.expovariate(0.5))
        return DemoPost(mention, final, rng.uniform(20, 50) if spreads else 30.0)


def _rating(rng: random.Random, kind: str) -> int:
    """An app-store review's stars: 1-2 for problems, 3-4 for questions and chatter, 5 for
    praise (which draws nothing, so the demo's stream stays the same as before ratings
    varied)."""
    if kind == "praise":
        return 5
    return rng.randint(1, 2) + (2 if kind == "chatter" else 0)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: small rates only, which is all the demo needs."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class DemoOptions(BaseModel):
    """The demo stream's knobs: the same seed replays the same story."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 7
    incident_after_minutes: int = Field(180, ge=0)
    rate_per_minute: float = Field(1.2, gt=0)
    competitors: list[str] = Field(default_factory=list)
    competitor_rate_per_minute: float = Field(0.25, ge=0)


def _build(brand: Brand, options: DemoOptions, _: Credentials) -> DemoCollector:
    handle = brand.handles[0] if brand.handles else None
    return DemoCollector(brand.name, handle=handle, **options.model_dump())


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="a simulated multilingual stream for the fictitious Parkeo, with an incident",
    options=DemoOptions,
    build=_build,
    example="""
enabled: true
interval_seconds: 2
seed: 7
incident_after_minutes: 180
""",
)
