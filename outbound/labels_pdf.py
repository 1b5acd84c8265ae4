"""Address labels and envelopes as PDF (reportlab), for English and Chinese (Traditional and Simplified).

Label sheets (exact manufacturer geometry, points = 1/72"):

* ``avery5160`` -- US Letter, 3 x 10 labels of 2.625" x 1"; side margin 3/16", top margin 1/2",
  horizontal pitch 2.75" (1/8" gutter), vertical pitch 1" (no gutter).
* ``l7160`` -- A4, 3 x 7 labels of 63.5 x 38.1 mm; side margin 7.21 mm, top margin 15.15 mm,
  horizontal pitch 66.04 mm (2.54 mm gutter), vertical pitch 38.1 mm.

Envelopes (one per page, page = envelope, landscape): ``DL`` 220 x 110 mm, ``C5`` 229 x 162 mm,
``10`` (US #10) 9.5" x 4.125". The sender block sits top left. The recipient block starts at 40 %
of the width and 42 % of the height from the top, keeps 15 mm from the right edge and 5/8" (the
USPS barcode clear zone; also clear of the 15 mm strip Royal Mail and Deutsche Post code into) from
the bottom, and stays below the stamp corner -- so on a #10 it lies inside the USPS OCR read area.

Text: each block starts at the largest size and shrinks (in 0.5 pt steps) until it fits its box;
long lines wrap (between words for Latin script, between characters for CJK, never starting a
line with closing punctuation). Every block is also clipped to its label, so nothing can print on
the neighbouring label; an address that does not fit even at the smallest size is cut with "…"
and logged.

Fonts: Latin-only lines use Helvetica (bold for the addressee). Other lines use an embedded
TrueType CJK font when one is found -- ``cjk_font_path``, else the env var ``CRM_CJK_FONT``, else
``outbound/fonts/``, else common system fonts (Debian ``fonts-wqy-microhei`` first). Without one,
reportlab's built-in CID fonts are used (``MSung-Light`` for Traditional, ``STSong-Light`` for
Simplified, chosen per line); those are NOT embedded in the PDF, so a print shop or fax gateway
without them may print blanks -- a warning is logged the first time that happens.

reportlab is imported when a PDF is made, not when this module is imported.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crm.messaging.ports.documents import EnvelopeSize, LabelAddress, LabelSheet, address_block_lines

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

__all__ = [
    "ENVELOPES",
    "SHEETS",
    "SYSTEM_CJK_FONTS",
    "Box",
    "CjkFont",
    "EnvelopeSpec",
    "FittedBlock",
    "FittedLine",
    "ReportlabLabelRenderer",
    "SheetSpec",
    "register_cid_font",
]

log = logging.getLogger(__name__)

INCH = 72.0
MM = 72.0 / 25.4

CJK_FONT_ENV = "CRM_CJK_FONT"
PROJECT_FONTS_DIR = Path(__file__).parent / "fonts"
SYSTEM_CJK_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian/Ubuntu fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",  # Fedora wqy-microhei-fonts
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",  # Arch wqy-microhei
    "/Library/Fonts/Arial Unicode.ttf",  # macOS
    "C:/Windows/Fonts/msjh.ttc",  # Windows, Microsoft JhengHei
    "C:/Windows/Fonts/msyh.ttc",  # Windows, Microsoft YaHei
)
# Noto CJK (fonts-noto-cjk) has PostScript (CFF) outlines, which reportlab cannot embed: not listed.

LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
CID_TRADITIONAL = "MSung-Light"
CID_SIMPLIFIED = "STSong-Light"

# Vertical metrics as a fraction of the font size, generous enough for Helvetica and CJK faces.
ASCENT = 0.88
DESCENT = 0.12
LEADING = 1.2


# -- geometry --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A rectangle in PDF points, origin bottom left."""

    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.y + self.height

    @property
    def right(self) -> float:
        return self.x + self.width

    def inset(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.width - 2 * dx, self.height - 2 * dy)

    def contains(self, other: Box, tolerance: float = 0.01) -> bool:
        return (
            other.x >= self.x - tolerance
            and other.y >= self.y - tolerance
            and other.right <= self.right + tolerance
            and other.top <= self.top + tolerance
        )


@dataclass(frozen=True)
class SheetSpec:
    page_width: float
    page_height: float
    columns: int
    rows: int
    label_width: float
    label_height: float
    left_margin: float
    top_margin: float
    horizontal_pitch: float
    vertical_pitch: float
    padding_x: float
    padding_y: float
    max_font_size: float
    min_font_size: float = 5.0

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def label_box(self, index: int) -> Box:
        """The ``index``-th label on a page (0 = top left, row by row)."""
        row, col = divmod(index, self.columns)
        x = self.left_margin + col * self.horizontal_pitch
        top = self.page_height - self.top_margin - row * self.vertical_pitch
        return Box(x, top - self.label_height, self.label_width, self.label_height)


SHEETS: Mapping[LabelSheet, SheetSpec] = {
    "avery5160": SheetSpec(
        page_width=8.5 * INCH,
        page_height=11 * INCH,
        columns=3,
        rows=10,
        label_width=2.625 * INCH,
        label_height=1 * INCH,
        left_margin=0.1875 * INCH,
        top_margin=0.5 * INCH,
        horizontal_pitch=2.75 * INCH,
        vertical_pitch=1 * INCH,
        padding_x=0.125 * INCH,
        padding_y=0.06 * INCH,
        max_font_size=10,
    ),
    "l7160": SheetSpec(
        page_width=210 * MM,
        page_height=297 * MM,
        columns=3,
        rows=7,
        label_width=63.5 * MM,
        label_height=38.1 * MM,
        left_margin=7.21 * MM,
        top_margin=15.15 * MM,
        horizontal_pitch=66.04 * MM,
        vertical_pitch=38.1 * MM,
        padding_x=4 * MM,
        padding_y=3 * MM,
        max_font_size=11,
    ),
}


@dataclass(frozen=True)
class EnvelopeSpec:
    width: float
    height: float
    margin: float = 10 * MM
    right_margin: float = 15 * MM
    bottom_clear: float = 0.625 * INCH

    def sender_box(self) -> Box:
        width = 0.38 * self.width - self.margin
        height = 0.30 * self.height
        return Box(self.margin, self.height - self.margin - height, width, height)

    def recipient_box(self) -> Box:
        x = 0.40 * self.width
        top = self.height * (1 - 0.42)
        return Box(x, self.bottom_clear, self.width - self.right_margin - x, top - self.bottom_clear)


ENVELOPES: Mapping[EnvelopeSize, EnvelopeSpec] = {
    "DL": EnvelopeSpec(220 * MM, 110 * MM),
    "C5": EnvelopeSpec(229 * MM, 162 * MM),
    "10": EnvelopeSpec(9.5 * INCH, 4.125 * INCH),
}


# -- fonts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CjkFont:
    """The CJK font a renderer uses: an embedded TrueType file, or reportlab's non-embedded CID fonts."""

    embedded: bool
    path: Path | None = None
    font_name: str | None = None  # the reportlab name of the embedded font


_registered_ttf: dict[Path, tuple[str, frozenset[int]]] = {}


def _register_ttf(path: Path) -> tuple[str, frozenset[int]]:
    """Register a TrueType font (``.ttf`` or first face of a ``.ttc``) with reportlab, once per process."""
    resolved = path.resolve()
    if resolved in _registered_ttf:
        return _registered_ttf[resolved]
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
    from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]

    name = "CrmCJK-" + hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    font = TTFont(name, str(resolved), subfontIndex=0)
    coverage = frozenset(font.face.charToGlyph)
    if not {ord("中"), ord("國"), ord("国")} <= coverage:
        raise ValueError(f"{resolved} has no Chinese glyphs")
    pdfmetrics.registerFont(font)
    _registered_ttf[resolved] = (name, coverage)
    return name, coverage


def _candidate_fonts(env: Mapping[str, str]) -> Iterable[Path]:
    configured = env.get(CJK_FONT_ENV, "").strip()
    if configured:
        yield Path(configured)
    if PROJECT_FONTS_DIR.is_dir():
        yield from sorted(p for p in PROJECT_FONTS_DIR.iterdir() if p.suffix.lower() in (".ttf", ".ttc"))
    for candidate in SYSTEM_CJK_FONTS:
        yield Path(candidate)


_CJK_CHAR = r"\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_TOKENS = re.compile(rf"[{_CJK_CHAR}]|[^\s{_CJK_CHAR}]+\s*|\s+")
_NO_LINE_START = set("，。、；：！？）」』》〉】〕,.;:!?)]}%")
_NO_LINE_END = set("（「『《〈【〔([{")


def _is_latin(text: str) -> bool:
    try:
        text.encode("cp1252")  # Helvetica's WinAnsi encoding in the PDF
    except UnicodeEncodeError:
        return False
    return True


def _cid_font_for(text: str) -> str:
    """Traditional (MSung) or Simplified (STSong): whichever character set covers more of ``text``."""
    big5 = gb2312 = 0
    for ch in text:
        if ch.isascii():
            continue
        big5 += _encodable(ch, "big5")
        gb2312 += _encodable(ch, "gb2312")
    return CID_SIMPLIFIED if gb2312 > big5 else CID_TRADITIONAL


# The Unicode CMap each built-in CID font needs. reportlab 4/5 declares MSung-Light (an Adobe-CNS1 font)
# with UniGB-UCS2-H, a CMap for Adobe-GB1: text still extracts, but poppler (and other viewers that
# honour the CMap) draw nothing. The right CMap for it is UniCNS-UCS2-H.
_CID_CMAPS = {CID_TRADITIONAL: "UniCNS-UCS2-H", CID_SIMPLIFIED: "UniGB-UCS2-H"}


def register_cid_font(face: str) -> str:
    """Register reportlab's built-in CID font ``face`` with the right Unicode CMap; return its font name.

    Registered under a name of our own (``Crm-MSung-Light``), so that a copy someone else registered
    under the plain face name, with reportlab's wrong CMap, is never picked up. The PDF still names
    the font ``MSung-Light`` / ``STSong-Light``. Usable by any reportlab document with CJK text.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import CIDEncoding, UnicodeCIDFont  # type: ignore[import-untyped]

    name = f"Crm-{face}"
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    font = UnicodeCIDFont(face)
    cmap = _CID_CMAPS.get(face)
    if cmap is not None and font.encodingName != cmap:
        font.encodingName = cmap
        font.encoding = CIDEncoding(cmap)
    font.name = font.fontName = name
    pdfmetrics.registerFont(font)
    return name


def _encodable(ch: str, codec: str) -> int:
    try:
        ch.encode(codec)
    except UnicodeEncodeError:
        return 0
    return 1


# -- layout ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FittedLine:
    text: str
    font: str
    width: float


@dataclass(frozen=True)
class FittedBlock:
    lines: tuple[FittedLine, ...]
    font_size: float
    truncated: bool

    @property
    def leading(self) -> float:
        return self.font_size * LEADING

    @property
    def height(self) -> float:
        return (len(self.lines) - 1) * self.leading + self.font_size if self.lines else 0.0


class ReportlabLabelRenderer:
    """Implements :class:`crm.messaging.ports.documents.LabelRenderer` with reportlab.

    ``cjk_font_path``: a TrueType font to embed (must load, else ``ValueError``). Without it the
    font is searched (see the module docstring) unless ``search_fonts`` is false, which forces the
    non-embedded CID fonts. ``outlines`` draws the label/box outlines (for test prints).
    """

    def __init__(
        self,
        cjk_font_path: str | os.PathLike[str] | None = None,
        *,
        search_fonts: bool = True,
        env: Mapping[str, str] | None = None,
        outlines: bool = False,
    ) -> None:
        self._explicit = Path(cjk_font_path) if cjk_font_path is not None else None
        self._search = search_fonts
        self._env = env if env is not None else os.environ
        self.outlines = outlines
        self._cjk: CjkFont | None = None
        self._coverage: frozenset[int] = frozenset()
        self._warned_cid = False

    # -- fonts --

    @property
    def cjk_font(self) -> CjkFont:
        """The CJK font in use (resolved on first use)."""
        if self._cjk is None:
            self._cjk = self._resolve_cjk_font()
        return self._cjk

    def _resolve_cjk_font(self) -> CjkFont:
        if self._explicit is not None:
            try:
                name, self._coverage = _register_ttf(self._explicit)
            except Exception as exc:  # explicit configuration: say so loudly
                raise ValueError(f"cannot embed CJK font {self._explicit}: {exc}") from exc
            return CjkFont(embedded=True, path=self._explicit, font_name=name)
        if self._search:
            for path in _candidate_fonts(self._env):
                if not path.is_file():
                    if str(path) == self._env.get(CJK_FONT_ENV, "").strip():
                        log.warning("%s=%s: no such file; looking for another CJK font", CJK_FONT_ENV, path)
                    continue
                try:
                    name, self._coverage = _register_ttf(path)
                except Exception as exc:  # fonts fail in many ways (CFF outlines, corrupt files, ...)
                    log.info("CJK font %s cannot be embedded: %s", path, exc)
                    continue
                log.debug("embedding CJK font %s", path)
                return CjkFont(embedded=True, path=path, font_name=name)
        return CjkFont(embedded=False)

    def font_for(self, text: str, *, bold: bool = False) -> str:
        """The reportlab font name that will draw ``text``."""
        if _is_latin(text):
            return LATIN_BOLD if bold else LATIN
        cjk = self.cjk_font
        if cjk.embedded and all(ord(ch) in self._coverage for ch in text if not ch.isspace()):
            assert cjk.font_name is not None
            return cjk.font_name
        name = register_cid_font(_cid_font_for(text))
        if not self._warned_cid:
            self._warned_cid = True
            log.warning(
                "No embeddable CJK font found (install fonts-wqy-microhei or set %s): using reportlab's "
                "CID font %s, which is NOT embedded; printers or fax gateways without it may print blanks",
                CJK_FONT_ENV,
                name,
            )
        return name

    # -- layout --

    def fit(
        self,
        lines: Sequence[str],
        width: float,
        height: float,
        *,
        max_size: float,
        min_size: float,
        bold_line: int | None = None,
    ) -> FittedBlock:
        """Lay ``lines`` into ``width`` x ``height`` points (line ``bold_line`` in bold if Latin).

        Shrinks from ``max_size`` to ``min_size`` in 0.5 pt steps and wraps long lines; at ``min_size``
        drops what does not fit and ends the last line with "…" (``truncated``).
        """
        fonts = [self.font_for(line, bold=i == bold_line) for i, line in enumerate(lines)]
        size = max_size
        while True:
            wrapped = [
                FittedLine(piece, font, _width(piece, font, size))
                for line, font in zip(lines, fonts, strict=True)
                for piece in _wrap(line, font, size, width)
            ]
            block = FittedBlock(tuple(wrapped), size, truncated=False)
            if block.height <= height + 1e-6:
                return block
            if size - 0.5 < min_size - 1e-9:
                return _truncate(wrapped, size, width, height)
            size -= 0.5

    # -- the port --

    def labels_pdf(self, addresses: Sequence[LabelAddress], sheet: LabelSheet = "avery5160", *, skip: int = 0) -> bytes:
        if sheet not in SHEETS:
            raise ValueError(f"unknown label sheet {sheet!r}; known: {sorted(SHEETS)}")
        if not addresses:
            raise ValueError("no addresses to print")
        if skip < 0:
            raise ValueError("skip must be >= 0")
        spec = SHEETS[sheet]
        skip %= spec.per_page  # skipping whole sheets makes no sense
        canvas, buffer = self._canvas((spec.page_width, spec.page_height), title="Address labels")
        for n, address in enumerate(addresses, start=skip):
            slot = n % spec.per_page
            if slot == 0 and n > skip:
                canvas.showPage()
            cell = spec.label_box(slot)
            inner = cell.inset(spec.padding_x, spec.padding_y)
            lines = address_block_lines(address)
            block = self.fit(
                lines,
                inner.width,
                inner.height,
                max_size=spec.max_font_size,
                min_size=spec.min_font_size,
                bold_line=_name_line(lines, address),
            )
            self._draw_block(canvas, block, inner, clip=cell, what=f"label {n - skip + 1} ({address.name})")
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    def envelopes_pdf(
        self, addresses: Sequence[LabelAddress], sender: LabelAddress, size: EnvelopeSize = "DL"
    ) -> bytes:
        if size not in ENVELOPES:
            raise ValueError(f"unknown envelope size {size!r}; known: {sorted(ENVELOPES)}")
        if not addresses:
            raise ValueError("no addresses to print")
        spec = ENVELOPES[size]
        sender_box, recipient_box = spec.sender_box(), spec.recipient_box()
        sender_block = self.fit(
            address_block_lines(sender), sender_box.width, sender_box.height, max_size=9, min_size=5
        )
        canvas, buffer = self._canvas((spec.width, spec.height), title="Envelopes")
        for address in addresses:
            self._draw_block(canvas, sender_block, sender_box, clip=sender_box, what="sender", center=False)
            lines = address_block_lines(address)
            block = self.fit(
                lines,
                recipient_box.width,
                recipient_box.height,
                max_size=12,
                min_size=6,
                bold_line=_name_line(lines, address),
            )
            self._draw_block(canvas, block, recipient_box, clip=recipient_box, what=f"envelope ({address.name})")
            canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    # -- drawing --

    def _canvas(self, pagesize: tuple[float, float], *, title: str) -> tuple[Canvas, io.BytesIO]:
        from reportlab.pdfgen.canvas import Canvas

        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=pagesize, invariant=True, pageCompression=1)
        canvas.setTitle(title)
        canvas.setCreator("crmbot")
        return canvas, buffer

    def _draw_block(
        self, canvas: Canvas, block: FittedBlock, box: Box, *, clip: Box, what: str, center: bool = True
    ) -> None:
        if block.truncated:
            log.warning("%s: address does not fit even at %.1f pt; cut short", what, block.font_size)
        canvas.saveState()
        if self.outlines:
            canvas.setLineWidth(0.25)
            canvas.setStrokeGray(0.6)
            canvas.rect(clip.x, clip.y, clip.width, clip.height, stroke=1, fill=0)
        path = canvas.beginPath()
        path.rect(clip.x, clip.y, clip.width, clip.height)
        canvas.clipPath(path, stroke=0, fill=0)
        top = box.top - (box.height - block.height) / 2 if center else box.top
        for i, line in enumerate(block.lines):
            canvas.setFont(line.font, block.font_size)
            canvas.drawString(box.x, top - ASCENT * block.font_size - i * block.leading, line.text)
        canvas.restoreState()


def _name_line(lines: list[str], address: LabelAddress) -> int | None:
    name = address.name.strip()
    return lines.index(name) if name and name in lines else None


def _width(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

    return float(stringWidth(text, font, size))


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line breaking: between words for Latin script, between characters for CJK."""
    if _width(text, font, size) <= width:
        return [text]
    lines: list[str] = []
    current = ""
    for token in _TOKENS.findall(text):
        candidate = current + token
        if _width(candidate.rstrip(), font, size) <= width:
            current = candidate
            continue
        carry = ""
        if current.strip():
            line = current.rstrip()
            if len(line) > 1 and line[-1] in _NO_LINE_END:  # an opening bracket goes with what it opens
                line, carry = line[:-1], line[-1]
            lines.append(line)
        current = carry + token.lstrip()
        while _width(current.rstrip(), font, size) > width:  # a word longer than the line: break it
            cut = max(1, _fits(current, font, size, width))
            lines.append(current[:cut])
            current = current[cut:]
        if (
            current
            and current[0] in _NO_LINE_START
            and lines
            and len(lines[-1]) > 1
            and _width(lines[-1][-1] + current.rstrip(), font, size) <= width
        ):
            # Keep closing punctuation off the start of a line: carry the previous character along.
            current, lines[-1] = lines[-1][-1] + current, lines[-1][:-1]
    if current.strip():
        lines.append(current.rstrip())
    return lines or [""]


def _fits(text: str, font: str, size: float, width: float) -> int:
    """How many leading characters of ``text`` fit in ``width``."""
    count = 0
    for i in range(1, len(text) + 1):
        if _width(text[:i], font, size) > width:
            break
        count = i
    return count


def _truncate(wrapped: list[FittedLine], size: float, width: float, height: float) -> FittedBlock:
    leading = size * LEADING
    keep = max(1, int((height - size) // leading) + 1) if height >= size else 0
    kept = wrapped[:keep]
    if kept:
        last = kept[-1]
        text = last.text
        while text and _width(text + "…", last.font, size) > width:
            text = text[:-1]
        kept[-1] = FittedLine(text + "…", last.font, _width(text + "…", last.font, size))
    return FittedBlock(tuple(kept), size, truncated=True)
