"""The one rule for links (alerts, reports, dashboard) and the one duration wording."""

from __future__ import annotations

import pytest

from monitor.display import duration, safe_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.example/status/1", "https://x.example/status/1"),
        ("  http://example.org/a?b=c ", "http://example.org/a?b=c"),
        ("HTTPS://X.EXAMPLE/A", "HTTPS://X.EXAMPLE/A"),
        ("https://mastodon.example/@lea/1", "https://mastodon.example/@lea/1"),
        ("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("https://exämple.example/ü", "https://exämple.example/ü"),
        ("javascript:alert(1)", None),
        ("JAVASCRIPT:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox(1)", None),
        ("ftp://files.example/a", None),
        ("https://", None),
        ("//evil.example", None),
        ("http:///path", None),
        ("", None),
        (None, None),
        (float("nan"), None),
        (42, None),
    ],
)
def test_only_http_links_to_a_host_are_clickable(url: object, expected: str | None):
    assert safe_url(url) == expected


# The three former copies: alerts and reports (urlsplit) linked blanks, which the dashboard (a
# regex) refused; all three linked bidi controls, a backslash, credentials and a bad port; the
# alerts' and the reports' raised on a broken host, which the dashboard linked. One rule now: a link
# opens what it shows, and a bad URL costs only its link.
@pytest.mark.parametrize(
    "url",
    [
        "https://x.example/a b",
        "https://x.example/\nSubject: forged",
        "https://x.example/\u202egnp.exe",
        "https://x.example\\@evil.example/",
        "https://bank.example@evil.example/",
        "https://user:password@x.example/",
        "http://[x.example/",
        "http://x.example:99999/",
    ],
)
def test_urls_the_former_copies_disagreed_on_get_no_link(url: str):
    assert safe_url(url) is None


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (None, "–"),
        (float("nan"), "–"),
        (-3, "under 1 min"),  # a clock a little ahead: never a negative wait
        (0.4, "under 1 min"),
        (1, "1 min"),
        (44.6, "45 min"),
        (60, "1 h"),
        (185, "3 h 05"),
        (47 * 60 + 59.6, "2 d"),
        (3120, "2 d 4 h"),
    ],
)
def test_one_duration_wording_for_report_alerts_and_dashboard(minutes, expected: str):
    assert duration(minutes) == expected
