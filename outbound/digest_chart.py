"""The weekly and monthly digests' trend chart: a small PNG, one line chart per trend line, drawn with
matplotlib's Agg backend.

matplotlib is imported on the first chart, not at start-up (it costs ~30 MiB and a second of import); the figure
is built without pyplot, whose global state is not safe in the worker threads digests run in. Chinese titles and
legends need a CJK font: the same ones the label PDFs look for (``CRM_CJK_FONT``, ``outbound/fonts/``, common
system fonts); without one the chart is still drawn, and its Chinese words show as boxes.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

from outbound.labels_pdf import CJK_FONT_ENV, PROJECT_FONTS_DIR, SYSTEM_CJK_FONTS

log = logging.getLogger(__name__)

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 4.0, 100  # HEIGHT_INCHES: a one-panel chart (the /sales trend)
PANEL_INCHES, FRAME_INCHES = 1.7, 1.1  # the digest's: each line's panel, and the title and dates around them
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
_lock = threading.Lock()
_families: list[str] | None = None


def _font_families() -> list[str]:
    """DejaVu Sans for Latin text, then the first CJK font found (registered with matplotlib once)."""
    global _families
    with _lock:
        if _families is None:
            from matplotlib import font_manager

            families = ["DejaVu Sans"]
            configured = os.environ.get(CJK_FONT_ENV, "").strip()
            candidates = [Path(configured)] if configured else []
            if PROJECT_FONTS_DIR.is_dir():
                candidates += sorted(p for p in PROJECT_FONTS_DIR.iterdir() if p.suffix.lower() in (".ttf", ".ttc"))
            candidates += [Path(p) for p in SYSTEM_CJK_FONTS]
            for path in candidates:
                if path.is_file():
                    try:
                        font_manager.fontManager.addfont(str(path))
                        families.append(font_manager.FontProperties(fname=str(path)).get_name())
                        break
                    except (OSError, RuntimeError, ValueError):
                        log.warning("CJK font %s could not be loaded for charts", path)
            else:
                log.info("no CJK font found: Chinese words on digest charts show as boxes (set %s)", CJK_FONT_ENV)
            _families = families
        return _families


class MatplotlibTrendChart:
    """One small panel per line, one above the other on a shared day axis, each with its own y axis: 800 new
    customers beside 8,000 interactions would otherwise lie flat along the bottom of one shared scale.

    Drawn cheaply (it runs in the worker beside other digests): the title and each line's name as plain figure
    and axes text — an axes title makes matplotlib measure every tick label to place it, and a legend measures its
    entries —, a few y ticks, date labels on the bottom panel only, fixed margins instead of tight_layout (which
    draws the whole figure once more to measure it), and fast PNG compression."""

    def render(self, title: str, points: Sequence[str], lines: Sequence[tuple[str, Sequence[int]]]) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        families = _font_families()
        panels = max(len(lines), 1)
        figure = Figure(figsize=(WIDTH_INCHES, PANEL_INCHES * panels + FRAME_INCHES), dpi=DPI)
        FigureCanvasAgg(figure)
        height = PANEL_INCHES * panels + FRAME_INCHES
        figure.subplots_adjust(left=0.08, right=0.98, top=1 - 0.45 / height, bottom=0.55 / height, hspace=0.15)
        figure.text(0.5, 1 - 0.12 / height, title, ha="center", va="top", fontsize=12, family=families)
        positions = list(range(len(points)))
        axes_list = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
        for number, (axes, (name, values)) in enumerate(zip(axes_list, lines, strict=False)):
            colour = COLOURS[number % len(COLOURS)]
            axes.plot(positions, list(values), marker="o", markersize=4, linewidth=2, color=colour)
            axes.set_ylim(bottom=0, top=max(max(values, default=0) * 1.25, 1))
            axes.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))  # counts: no 0.25 of a customer
            axes.tick_params(axis="y", labelsize=8)
            axes.grid(axis="y", alpha=0.3)
            if number < panels - 1:
                axes.xaxis.set_visible(False)  # the bottom panel's dates serve all; hidden ticks are not drawn
            axes.text(0.01, 0.95, name, transform=axes.transAxes, ha="left", va="top", fontsize=9, color=colour,
                      family=families)
        axes_list[-1].set_xticks(positions, list(points), rotation=45, fontsize=8, family=families)
        out = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing glyphs (no CJK font): boxes, said once at INFO above
            figure.savefig(out, format="png", pil_kwargs={"compress_level": 1})
        return out.getvalue()
