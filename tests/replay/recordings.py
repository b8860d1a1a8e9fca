"""Load the recorded responses in ../shared/data/fixtures: vcrpy cassettes and betamax files."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import vcr
import yaml

from tests.replay.server import Reply


def _headers(raw: dict[str, Any]) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else str(v) for k, v in raw.items()}


def vcr_interactions(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]


def vcr_reply(interaction: dict[str, Any]) -> tuple[str, str, Reply]:
    """(method, path, reply) of one cassette interaction, body kept as recorded (gzip too)."""
    request, response = interaction["request"], interaction["response"]
    body = response["body"]["string"]
    body = body.encode() if isinstance(body, str) else body
    reply = Reply(response["status"]["code"], body, _headers(response["headers"]))
    return request["method"], urlsplit(request["uri"]).path, reply


def vcr_json(path: Path, index: int = 0) -> Any:
    """The decoded JSON body of one cassette interaction (gunzipped when recorded so)."""
    body = vcr_reply(vcr_interactions(path)[index])[2].body
    return json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)


def betamax_replies(path: Path) -> list[tuple[str, str, Reply]]:
    """(method, path, reply) of every interaction of a betamax (praw) recording."""
    out = []
    for item in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
        request, response = item["request"], item["response"]
        body = response["body"]
        raw = (
            base64.b64decode(body["base64_string"])
            if body.get("base64_string")
            else body.get("string", "").encode()
        )
        reply = Reply(response["status"]["code"], raw, _headers(response["headers"]))
        out.append((request["method"], urlsplit(request["uri"]).path, reply))
    return out


def merged_cassette(paths: list[Path], target: Path) -> Path:
    """One cassette holding the interactions of several, for a collector that calls them all."""
    interactions = [i for p in paths for i in vcr_interactions(p)]
    target.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))
    return target


def _gunzip(request: Any, response: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Bodies recorded gzipped come back still compressed under urllib3 2 (vcrpy issue #719);
    decompress them on load, as the real transport would have."""
    headers = response["headers"]
    encoding = next((k for k in headers if k.lower() == "content-encoding"), None)
    body = response["body"]["string"]
    if encoding and isinstance(body, bytes) and body[:2] == b"\x1f\x8b":
        response["body"]["string"] = gzip.decompress(body)
        for name in [k for k in headers if k.lower() in ("content-encoding", "content-length")]:
            del headers[name]
    return request, response


def replaying(cassette: Path) -> Any:
    """vcrpy in replay-only mode, matching on method and path (the recordings' queries differ)."""
    recorder = vcr.VCR(
        record_mode="none", match_on=["method", "path"], after_load_interaction=_gunzip
    )
    return recorder.use_cassette(str(cassette))
