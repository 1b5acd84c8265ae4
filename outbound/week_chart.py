"""The week of /schedule as a picture: a column per day, a bar per event or follow-up, the hours down the side.

Drawn with matplotlib's Agg backend without pyplot (its global state is not safe in the worker threads this runs
in), with the same fonts as the digest charts so Chinese titles show where a CJK font is installed.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

from outbound.digest_chart import _font_families

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10.0, 6.0, 100
COLOURS = {"meeting": "#4C72B0", "visit": "#55A868", "call": "#8172B2", "leave": "#C44E52", "other": "#937860",
           "followup": "#DD8452"}
LABEL_CHARS = 14


class MatplotlibWeekChart:
    def render(self, title: str, days: Sequence[str], bars: Sequence[tuple[int, float, float, str, str]]) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        families = _font_families()
        figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
        figure.subplots_adjust(left=0.06, right=0.99, top=0.92, bottom=0.08)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        # The working day, widened to whatever falls outside it.
        first = min([8.0, *(start for _, start, _, _, _ in bars)])
        last = max([19.0, *(start + length for _, start, length, _, _ in bars)])
        for day, start, length, text, kind in bars:
            axes.bar(day, length, bottom=start, width=0.9, color=COLOURS.get(kind, "#937860"), alpha=0.85)
            label = text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"
            axes.text(day, start + 0.05, label, ha="center", va="top", fontsize=7, color="white",
                      family=families, clip_on=True)
        axes.set_xlim(-0.5, len(days) - 0.5)
        axes.set_ylim(min(24.0, last + 0.25), max(0.0, first - 0.25))  # the morning on top
        axes.set_xticks(list(range(len(days))), list(days), fontsize=8, family=families)
        axes.set_yticks([h for h in range(25) if first - 0.25 <= h <= last + 0.25])
        axes.grid(axis="y", alpha=0.3)
        axes.set_title(title, family=families)
        out = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing glyphs without a CJK font: boxes, said once by the digest chart
            figure.savefig(out, format="png")
        return out.getvalue()
