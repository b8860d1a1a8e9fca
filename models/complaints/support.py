"""The support-tweets corpus (../shared/data/support-tweets) and the hand-written examples, as
the complaint training and evaluation read them."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.sentiment.corpora import DATA

SUPPORT_TWEETS = DATA / "support-tweets" / "twcs-first5000.csv"
EXAMPLES = (Path(__file__).resolve().parents[1] / "artifacts" / "sentiment"
            / "complaint_examples.tsv")
SEED = 0
HELD_OUT = 0.25  # share of support conversations held out
_HANDLE = re.compile(r"(?<![\w@])@\w+")


def support_rows(path: Path) -> list[dict[str, str]]:
    """The support corpus's well-formed rows (``inbound`` is True or False)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [r for r in csv.DictReader(handle) if r["inbound"] in ("True", "False")]


@dataclass(frozen=True)
class Support:
    texts: list[str]
    inbound: np.ndarray  # a customer's tweet (else a brand's reply)
    opener: np.ndarray  # opens a thread (replies to nothing)
    held: np.ndarray  # in a held-out conversation


def conversations(rows: list[dict[str, str]]) -> list[str]:
    """A conversation id per row: the connected component of its reply links (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in rows:
        links = [*(r["response_tweet_id"] or "").split(","), r["in_response_to_tweet_id"] or ""]
        for other in links:
            other = other.strip().removesuffix(".0")
            if other:
                parent[find(other)] = find(r["tweet_id"])
    return [find(r["tweet_id"]) for r in rows]


def support_split(path: Path = SUPPORT_TWEETS) -> Support:
    """The support corpus, with a seeded held-out share of its conversations."""
    rows = support_rows(path)
    convo = conversations(rows)
    ids = sorted(set(convo))
    held = set(np.asarray(ids)[np.random.default_rng(SEED).random(len(ids)) < HELD_OUT].tolist())
    return Support([r["text"] for r in rows], np.array([r["inbound"] == "True" for r in rows]),
                   np.array([not r["in_response_to_tweet_id"] for r in rows]),
                   np.array([c in held for c in convo]))


def strip_handles(text: str) -> str:
    """The text without its @handles: how the same message reads in an app review or a forum."""
    return " ".join(_HANDLE.sub(" ", text).split())


def read_examples(path: Path = EXAMPLES) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(texts, is_complaint, language) of the hand-written set."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    parts = [line.split("\t", 2) for line in lines if line.strip()]
    return ([p[2] for p in parts], np.array([p[0] == "complaint" for p in parts]),
            np.array([p[1] for p in parts]))
