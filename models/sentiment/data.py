"""Readers for the labeled TSV files (`label<TAB>text`, no quoting)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SENTIMENT_DATA = REPO_ROOT.parent / "shared" / "data" / "sentiment"
XLMT_LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es", "it", "pt")


def read_tsv(path: Path) -> tuple[list[str], list[str]]:
    """Return (labels, texts); splits on the first tab because texts are not quoted."""
    labels: list[str] = []
    texts: list[str] = []
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    for line in lines[1:]:
        label, sep, text = line.partition("\t")
        if sep:
            labels.append(label.strip().lower())
            texts.append(text)
    return labels, texts


def xlmt_split(split: str, root: Path = SENTIMENT_DATA) -> dict[str, tuple[list[str], list[str]]]:
    """Load one split ("train" or "val") of XLM-T for every language, keyed by ISO code."""
    return {lang: read_tsv(root / "xlmt" / f"{lang}-{split}.tsv") for lang in XLMT_LANGUAGES}
