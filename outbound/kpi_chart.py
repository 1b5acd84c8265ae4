"""A manager's team ranked by KPI attainment: a horizontal bar chart (PNG) drawn with matplotlib's Agg backend in
the worker, off the event loop. Imported lazily and drawn without pyplot, as the digest's chart is
(outbound/digest_chart.py, whose CJK font lookup it shares: staff names are often Chinese)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

from outbound.digest_chart import _font_families

MAX_PEOPLE = 30  # bars drawn; the list in the message names everyone


class MatplotlibTeamChart:
    def render(self, title: str, people: Sequence[tuple[str, float]]) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        families = _font_families()
        shown = list(people[:MAX_PEOPLE])
        figure = Figure(figsize=(8.0, max(2.5, 0.4 * len(shown) + 1.2)), dpi=100)
        figure.subplots_adjust(left=0.25, right=0.95, top=0.88, bottom=0.12)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        positions = list(range(len(shown)))[::-1]  # the best on top
        values = [value for _, value in shown]
        colours = ["#2e7d32" if v >= 100 else "#f9a825" if v >= 80 else "#c62828" for v in values]
        axes.barh(positions, values, color=colours)
        axes.set_yticks(positions, [name for name, _ in shown], family=families, fontsize=9)
        axes.axvline(100, color="#555555", linestyle="--", linewidth=1)
        axes.set_xlim(left=0, right=max([120.0, *values]) * 1.05)
        axes.set_xlabel("%")
        axes.grid(axis="x", alpha=0.3)
        axes.set_title(title, family=families)
        out = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing glyphs without a CJK font: boxes
            figure.savefig(out, format="png")
        return out.getvalue()
