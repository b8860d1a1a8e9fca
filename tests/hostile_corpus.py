"""Nasty mention texts and author names (no tests here), each naming the brand "Parkeo" so that
every stage treats them as real mentions. Written for this project; nothing here comes from
../shared/data."""

from __future__ import annotations

BRAND = "Parkeo"
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BIG = 100 * 1024

# (name, text, author)
CORPUS: list[tuple[str, str, str]] = [
    ("script", "<script>alert(document.cookie)</script> Parkeo fined me twice",
     "<img src=x onerror=alert(1)>"),
    ("html", 'Parkeo <iframe src="https://evil.test"></iframe><b>bold</b><a href="x">a</a>',
     "<svg onload=alert(2)>"),
    ("markdown", "Parkeo [click](javascript:alert(1)) **bold** `code` # head ![i](http://e.test/x)",
     "**admin** [me](https://e.test)"),
    ("streamlit-markup", "Parkeo $\\frac{1}{0}$ :red[alert] :material/warning: <br>",
     ":rainbow[mod]"),
    ("zero-width", "Par\u200bkeo\u200d fine\ufeff \u2060joined\u200c", "zw\u200bj\u200d"),
    ("bidi", "Parkeo \u202egnp.exe\u202c refund \u2066isolated\u2069 \u202bRTL\u202c",
     "\u202eadmin\u202c"),
    ("big", "Parkeo " + "scandale! " * (BIG // 10), "x" * 1000),
    ("nul", "Parkeo\x00 fine\x00 twice", "nul\x00name"),
    ("lone-surrogates", "Parkeo \ud83d amende \udc00 injuste", "\udfffbob"),
    ("emoji-zwj", "Parkeo 👩🏽‍🚒🏳️‍🌈 family 👨‍👩‍👧‍👦 fine 🇧🇪", "🧑‍💻 dev"),
    ("sql", "Parkeo'); DROP TABLE mentions;-- ' OR 1=1; --", "Robert'); DROP TABLE users;--"),
    ("templates", "Parkeo {brand} {0} %s %(x)s ${7*7} {{7*7}} <%= 7 %>", "{author}"),
    ("csv-formula", '=HYPERLINK("http://evil.test","Parkeo")', "@SUM(A1:A9)"),
    ("decomposed", "Parke\u0301o amende\u0301", "e\u0301lise"),
    ("controls", "Parkeo\x1b[31m red\x1b[0m \x07bell\r\nnext line\x08", "\x1b]0;title\x07"),
]
