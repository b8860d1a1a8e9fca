"""The report as a PDF, written in pure Python (fpdf2) with the charts already drawn as PNG.

Four A4 pages, one per question marketing asks: how much and how do people feel (overview), where
and against whom (audience), what goes wrong and how fast we answer (complaints), and which posts
mattered most (mentions). Fonts are matplotlib's bundled DejaVu, so accents and most scripts print
without any system font.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import matplotlib
from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode

from monitor.display import duration, safe_url
from monitor.reports import format as fmt
from monitor.reports.figures import Change, ResponseStats, TopMention, WeeklyFigures

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
# fpdf2 subsets fonts through fontTools, which logs every step at INFO.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)
HEAD = (15, 23, 42)
INK = (17, 24, 39)
MUTED = (107, 114, 128)
LINE = (229, 231, 235)
GOOD = (21, 128, 61)
BAD = (185, 28, 28)
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Mention text without control or bidi-override characters (and no lone surrogates)."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _UNPRINTABLE.sub(" ", text)


class ReportPDF(FPDF):
    """A4 pages with the report's running header and numbered footer."""

    def __init__(self, figures: WeeklyFigures) -> None:
        super().__init__(format="A4")
        self.figures = figures
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(15, 18, 15)
        self.set_auto_page_break(True, margin=15)
        self.set_title(f"{figures.brand} weekly trends {figures.week.label}")
        self.set_author("Vigie")
        self.set_creator("Vigie")
        self.alias_nb_pages()

    def header(self) -> None:
        f = self.figures
        self.set_font("DejaVu", "B", 8)
        self.set_text_color(*MUTED)
        self.set_y(8)
        self.cell(0, 5, f"VIGIE · WEEKLY TRENDS · {printable(f.brand)} · {f.week.label}")
        self.ln(8)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font("DejaVu", "", 7)
        self.set_text_color(*MUTED)
        stamp = fmt.local(self.figures.as_of, self.figures.week.zone, "%d %b %Y %H:%M")
        self.cell(0, 5, f"Figures as of {stamp} ({self.figures.week.zone.key})")
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    def title_block(self, title: str, subtitle: str) -> None:
        self.set_font("DejaVu", "B", 18)
        self.set_text_color(*HEAD)
        self.cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 10)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 5, subtitle, new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("DejaVu", "B", 11)
        self.set_text_color(*HEAD)
        self.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")

    def note(self, text: str) -> None:
        self.set_font("DejaVu", "", 8)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 4, text, new_x="LMARGIN", new_y="NEXT")

    def png(self, data: bytes, width: float) -> None:
        self.image(io.BytesIO(data), w=width)
        self.ln(2)

    def grid(self, rows: list[list[str]], widths: tuple[int, ...], numeric_from: int = 1) -> None:
        """A table whose first row is the heading; columns from ``numeric_from`` align right."""
        self.set_font("DejaVu", "", 8)
        self.set_text_color(*INK)
        self.set_draw_color(*LINE)
        heading = FontFace(emphasis="BOLD", color=MUTED, fill_color=(249, 250, 251))
        with self.table(
            col_widths=widths,
            headings_style=heading,
            borders_layout="HORIZONTAL_LINES",
            line_height=5,
            padding=(1, 1.5),
            cell_fill_mode=TableCellFillMode.NONE,
            text_align=tuple("LEFT" if i < numeric_from else "RIGHT" for i in range(len(widths))),
        ) as table:
            for row in rows:
                table.row([printable(cell) for cell in row])
        self.ln(2)


TONES = {"good": GOOD, "bad": BAD, "neutral": MUTED}


def _kpis(pdf: ReportPDF, f: WeeklyFigures) -> None:
    width, gap, top = 42, 4, pdf.get_y()
    for index, kpi in enumerate(fmt.kpis(f)):
        x = pdf.l_margin + index * (width + gap)
        pdf.set_draw_color(*LINE)
        pdf.rect(x, top, width, 22, round_corners=True, corner_radius=2)
        pdf.set_xy(x + 3, top + 2.5)
        pdf.set_font("DejaVu", "B", 7)
        pdf.set_text_color(*MUTED)
        pdf.cell(width - 6, 4, kpi.label.upper())
        pdf.set_xy(x + 3, top + 7)
        pdf.set_font("DejaVu", "B", 15)
        pdf.set_text_color(*INK)
        pdf.cell(width - 6, 7, kpi.value)
        pdf.set_xy(x + 3, top + 15)
        pdf.set_font("DejaVu", "", 7.5)
        pdf.set_text_color(*TONES[kpi.tone])
        pdf.cell(width - 6, 4, kpi.delta)
    pdf.set_xy(pdf.l_margin, top + 27)


def _overview(pdf: ReportPDF, f: WeeklyFigures, charts: dict[str, bytes]) -> None:
    pdf.title_block(
        f"{printable(f.brand)} · week {f.week.number}, {f.week.year}",
        f"{f.week.span()} · compared with week {f.week.shift(-1).number}",
    )
    _kpis(pdf, f)
    pdf.heading("Mentions this week and last week")
    pdf.png(charts["daily"], pdf.epw)
    pdf.heading("Last 12 weeks by sentiment, with net sentiment")
    pdf.png(charts["history"], pdf.epw)
    pdf.note(
        "Net sentiment = (positive − negative) / (positive + negative), from −1 to +1. "
        "Share of voice = the brand's mentions among its own and its competitors'."
    )


def _change_rows(title: str, items: list[Change]) -> list[list[str]]:
    total = sum(c.current for c in items) or 1
    rows = [[title, "This week", "Share", "Last week", "Change"]]
    rows += [
        [
            c.name,
            fmt.count(c.current),
            fmt.percent(c.current / total),
            fmt.count(c.previous),
            fmt.change(c.current, c.previous),
        ]
        for c in items
    ]
    return rows


def _audience(pdf: ReportPDF, f: WeeklyFigures, charts: dict[str, bytes]) -> None:
    pdf.title_block("Audience", "Where the brand was mentioned, in which language, against whom.")
    widths = (60, 30, 25, 30, 25)
    pdf.heading("Mentions by source")
    pdf.grid(_change_rows("Source", f.sources[:10]), widths)
    pdf.heading("Mentions by language")
    pdf.grid(_change_rows("Language", f.languages[:10]), widths)
    if "share" in charts:
        pdf.heading("Share of voice (bars this week, ticks last week)")
        pdf.png(charts["share"], pdf.epw)
        pdf.grid(_change_rows("Brand", f.share_of_voice), widths)


def _response_row(label: str, r: ResponseStats) -> list[str]:
    return [
        label,
        fmt.count(r.complaints),
        fmt.count(r.answered),
        duration(r.median_minutes),
        duration(r.p90_minutes),
        fmt.percent(r.sla_share),
        fmt.count(r.unanswered),
    ]


def _complaints(pdf: ReportPDF, f: WeeklyFigures) -> None:
    pdf.title_block("Complaints", "What people complained about, the incidents, and our answers.")
    pdf.heading("Topics")
    rows = [["Topic (top terms)", "This week", "Last week", "Trend"]]
    rows += [
        [t.name, fmt.count(t.count), fmt.count(t.previous), fmt.change(t.count, t.previous)]
        for t in f.topics
    ]
    if f.other_complaints and f.topics:
        rows.append(["Other complaints", fmt.count(f.other_complaints), "", ""])
    if len(rows) > 1:
        pdf.grid(rows, (100, 25, 25, 30))
    else:
        pdf.note("No complaints this week.")
    pdf.heading("Incidents")
    zone = f.week.zone
    rows = [["Incident", "Mentions", "Peak / hour", "First answer"]]
    rows += [
        [
            fmt.clip(i.title, 90),
            fmt.count(i.size),
            f"{i.peak_count} ({fmt.local(i.peak_at, zone, '%a %H:%M')})",
            duration(i.answer_minutes) if i.answer_minutes is not None else "not answered",
        ]
        for i in f.incidents
    ]
    if len(rows) > 1:
        pdf.grid(rows, (90, 25, 35, 30))
    else:
        pdf.note("No incident this week.")
    pdf.heading("Response performance")
    pdf.grid(
        [
            ["", "Complaints", "Answered", "Median", "90th pct.", "Within SLA", "Unanswered"],
            _response_row("This week", f.responses),
            _response_row("Last week", f.responses_previous),
        ],
        (28, 24, 24, 24, 24, 28, 28),
    )
    pdf.note(
        f"Time to first response, from the complaint to the first answer; SLA "
        f"{duration(f.sla_minutes)}. Complaints marked as needing no answer are left out "
        "of the SLA share."
    )


def _mention_block(pdf: ReportPDF, f: WeeklyFigures, m: TopMention, color: tuple) -> None:
    top = pdf.get_y()
    pdf.set_x(pdf.l_margin + 3)
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(*INK)
    pdf.multi_cell(
        pdf.epw - 3, 4.5, printable(fmt.clip(m.text, 280)), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_x(pdf.l_margin + 3)
    pdf.set_font("DejaVu", "", 7.5)
    pdf.set_text_color(*MUTED)
    meta = " · ".join(
        part
        for part in (
            printable(m.author or "unknown author"),
            m.source,
            m.language or "",
            fmt.local(m.created_at, f.week.zone),
            f"{fmt.count(m.engagement)} engagements",
        )
        if part
    )
    pdf.multi_cell(pdf.epw - 3, 4, meta, new_x="LMARGIN", new_y="NEXT", link=safe_url(m.url) or "")
    pdf.set_fill_color(*color)
    pdf.rect(pdf.l_margin, top, 1, pdf.get_y() - top, style="F")
    pdf.ln(3)


def _mentions(pdf: ReportPDF, f: WeeklyFigures) -> None:
    pdf.title_block(
        "Most engaged mentions",
        "The week's posts with the most likes, reshares and replies (linked to the original).",
    )
    for title, items, color in (
        ("Positive", f.top_positive, GOOD),
        ("Negative", f.top_negative, BAD),
    ):
        pdf.heading(title)
        if not items:
            pdf.note("None this week.")
        for m in items:
            _mention_block(pdf, f, m, color)


def render(figures: WeeklyFigures, charts: dict[str, bytes]) -> bytes:
    """The PDF bytes: overview, audience, complaints and mentions, a page each."""
    pdf = ReportPDF(figures)
    for draw in (
        lambda: _overview(pdf, figures, charts),
        lambda: _audience(pdf, figures, charts),
        lambda: _complaints(pdf, figures),
        lambda: _mentions(pdf, figures),
    ):
        pdf.add_page()
        draw()
    return bytes(pdf.output())
