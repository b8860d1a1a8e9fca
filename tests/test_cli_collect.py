"""``collect``, ``run --once`` and ``check`` tell the truth: counts, reasons, exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.replay.server import Reply, serving
from tests.test_cli_errors import vigie
from tests.test_collectors_stores import APP, feed, feed_path, review

BRAND = "brands:\n  - name: Parkeo\n    keywords: [parkeo]\n"


def config(tmp_path: Path, sources: str) -> Path:
    path = tmp_path / "vigie.yaml"
    path.write_text(BRAND + "sources:\n" + sources, encoding="utf-8")
    path.chmod(0o600)
    return path


def appstore_config(tmp_path: Path, url: str) -> Path:
    """The reviews are dated from the stores tests' fixed NOW, the CLI runs on the real clock:
    a year of backfill reaches them."""
    feed_url = url + "/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"
    return config(
        tmp_path,
        f"  appstore:\n    app_id: '{APP}'\n    countries: [be]\n    retries: 0\n"
        f"    backfill_hours: 8760\n    feed_url: '{feed_url}'\n    interval_seconds: 60\n",
    )


def env(tmp_path: Path) -> dict[str, str]:
    return {"VIGIE_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "TWITTER_BEARER_TOKEN": ""}


def test_an_enabled_source_without_credentials_fails_loudly(tmp_path):
    path = config(tmp_path, "  twitter:\n    enabled: true\n")
    done = vigie("--config", str(path), "collect", "twitter", "--once", env=env(tmp_path))
    assert done.returncode == 1
    assert "twitter:Parkeo: 0 new mention(s); disabled: no TWITTER_BEARER_TOKEN" in done.stderr
    checked = vigie("--config", str(path), "check", env=env(tmp_path))
    assert checked.returncode == 1
    assert "sources.twitter: enabled but TWITTER_BEARER_TOKEN not set" in checked.stdout
    assert "ok:" not in checked.stdout


def test_an_unknown_or_unconfigured_source_names_the_known_ones(tmp_path):
    path = config(tmp_path, "  demo:\n    enabled: true\n")
    unknown = vigie("--config", str(path), "collect", "nosuchsource", "--once", env=env(tmp_path))
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no source named 'nosuchsource'" in unknown.stderr
    assert "appstore" in unknown.stderr and "twitter" in unknown.stderr and "demo" in unknown.stderr
    absent = vigie("--config", str(path), "collect", "twitter", "--once", env=env(tmp_path))
    assert absent.returncode == 2
    assert "sources.twitter: not in the config (configured: demo)" in absent.stderr


def test_a_failed_then_held_source_exits_non_zero_and_says_why(tmp_path):
    with serving() as server:
        server.add("GET", feed_path(1), feed([review(i, hours_ago=i) for i in range(50)]))
        server.add("GET", feed_path(2), Reply(500))
        path = appstore_config(tmp_path, server.url)
        runs = [
            vigie("--config", str(path), "collect", "appstore", "--once", env=env(tmp_path))
            for _ in range(3)
        ]
        contacted = len(server.requests_to(feed_path(2)))
    first, second, third = runs
    assert first.returncode == 1
    assert "appstore:Parkeo: 50 new mention(s); error: HttpError: HTTP 500" in first.stderr
    assert second.returncode == 1  # the second failure in a row starts the backoff
    assert third.returncode == 1 and contacted == 2
    assert "0 new mention(s); waiting: not contacted: held after earlier failures" in third.stderr


def test_run_once_exits_non_zero_when_a_source_failed(tmp_path):
    with serving() as server:
        server.add("GET", feed_path(1), Reply(500))
        path = appstore_config(tmp_path, server.url)
        done = vigie("--config", str(path), "run", "--once", env=env(tmp_path))
    assert done.returncode == 1
    assert "appstore:Parkeo: 0 new mention(s); error: HttpError: HTTP 500" in done.stderr
