"""Every client's requests are bounded per run, whatever its library does between our calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.collectors.runner import run
from monitor.storage.ingest import load_cursor
from tests.alerts_fixtures import free_port
from tests.replay.server import Reply, serving
from tests.test_collectors_mastodon import collector as mastodon
from tests.test_collectors_mastodon import recorded_statuses
from tests.test_collectors_stores import NOW, appstore, feed, feed_path, review

SEARCH = "/api/v2/search"


@pytest.mark.parametrize("status", [503, 404])
def test_mastodon_search_works_while_the_instance_endpoint_is_down(engine, status):
    statuses = recorded_statuses()
    with serving() as server:
        for path in ("/api/v1/instance", "/api/v2/instance", "/api/v1/instance/"):
            server.add("GET", path, Reply(status))
        server.add("GET", SEARCH, Reply.json({"accounts": [], "hashtags": [], "statuses": []}))
        server.add("GET", "/api/v1/timelines/tag/parkeo", Reply.json(statuses[::-1]))
        made = mastodon(server.url, search=True)
        result = run(engine, made, datetime.now(UTC))
        paths = [s.path for s in server.seen]
    assert result.ok, result.reason
    assert result.new == len(statuses)
    assert len(paths) <= 4 and sum("instance" in p for p in paths) <= 1  # was ~968


def test_mastodon_on_a_refusing_host_is_a_network_error_retried_later(engine):
    made = mastodon(f"http://127.0.0.1:{free_port()}", search=True, retries=1)
    result = run(engine, made, datetime.now(UTC))
    assert result.status == "error" and result.reason.startswith("MastodonNetworkError")


def test_a_run_stops_at_its_request_budget_and_the_next_continues(engine):
    page = [review(i, hours_ago=i) for i in range(50)]
    with serving() as server:
        for number in range(1, 11):
            server.add("GET", feed_path(number), feed(page))
        made = appstore(server, max_requests_per_run=3, lookback_hours=0, backfill_hours=72)
        first = run(engine, made, NOW)
        assert len(server.seen) == 3
        with engine.connect() as conn:
            assert load_cursor(conn, made.key)["be"]["token"] == "4"
        second = run(engine, made, NOW + timedelta(minutes=5), force=True)
        assert [s.path for s in server.seen[3:]] == [feed_path(n) for n in (4, 5, 6)]
    assert first.status == "error" and first.new == 50
    assert first.reason.startswith("BudgetSpent: reviews page 4 (be): 3 requests sent this run")
    assert second.status == "error" and "max_requests_per_run" in second.reason
