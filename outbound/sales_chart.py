"""The sales analysis's trend chart: revenue per day, week or month of the period and of the previous one, drawn
like the digests' chart (outbound/digest_chart.py: Agg backend, no pyplot, the same fonts)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from decimal import Decimal

from outbound.digest_chart import DPI, HEIGHT_INCHES, WIDTH_INCHES, _font_families


class MatplotlibSalesChart:
    def render(self, title: str, points: Sequence[str], lines: Sequence[tuple[str, Sequence[Decimal]]]) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        families = _font_families()
        figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
        figure.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.18)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        positions = list(range(len(points)))
        for (name, values), style in zip(lines, ("-", "--"), strict=False):
            # Floats for drawing only: the figures themselves stay Decimal.
            axes.plot(positions[:len(values)], [float(v) for v in values], style, marker="o", markersize=3,
                      linewidth=2, label=name)
        step = max(1, len(points) // 16)
        axes.set_xticks(positions[::step], list(points)[::step], rotation=45, fontsize=8, family=families)
        axes.set_ylim(bottom=0)
        axes.grid(axis="y", alpha=0.3)
        axes.set_title(title, family=families)
        axes.legend(prop={"family": families})
        out = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing CJK glyphs: boxes (said once by digest_chart)
            figure.savefig(out, format="png")
        return out.getvalue()
