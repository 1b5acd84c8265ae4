"""The weekly and monthly digests' trend chart: a small PNG line chart drawn with matplotlib's Agg backend.

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

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 4.0, 100
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
    def render(self, title: str, points: Sequence[str], lines: Sequence[tuple[str, Sequence[int]]]) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        families = _font_families()
        figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
        # Fixed margins rather than tight_layout, which draws the whole figure once more to measure it.
        figure.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.16)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        positions = list(range(len(points)))
        for name, values in lines:
            axes.plot(positions, list(values), marker="o", linewidth=2, label=name)
        axes.set_xticks(positions, list(points), rotation=45, fontsize=8, family=families)
        axes.set_ylim(bottom=0)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.25 of a customer
        axes.grid(axis="y", alpha=0.3)
        axes.set_title(title, family=families)
        axes.legend(prop={"family": families})
        out = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing glyphs (no CJK font): boxes, said once at INFO above
            figure.savefig(out, format="png")
        return out.getvalue()
