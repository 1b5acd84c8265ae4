"""Address labels and envelopes: geometry, fitting, and Chinese + English text that survives into the PDF.

Runs with and without an embeddable CJK font installed (Debian: fonts-wqy-microhei); each test says
which font path it expects, and the embedded-font tests skip with a reason where no font exists.
"""

from __future__ import annotations

import io
import itertools
import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

from crm.messaging.ports.documents import LabelAddress, address_block_lines
from outbound.labels_pdf import (
    ASCENT,
    CJK_FONT_ENV,
    DESCENT,
    ENVELOPES,
    INCH,
    LATIN,
    LATIN_BOLD,
    MM,
    SHEETS,
    SYSTEM_CJK_FONTS,
    Box,
    ReportlabLabelRenderer,
)

TAIPEI = LabelAddress("王小明 先生 收", ["台北市信義區市府路1號"], postal_code="110")
SHANGHAI = LabelAddress("李雷 收", ["上海市浦东新区世纪大道100号"], postal_code="200120")
GOOGLE = LabelAddress("Google LLC", ["1600 Amphitheatre Pkwy", "Mountain View, CA 94043"], country="United States")
LONG_LATIN = LabelAddress(
    "Dr. Maximilian Alexander von Hohenzollern-Sigmaringen",
    ["Hinterhaus, 3. Obergeschoss links, Sehr Lange Strasse der Republik 123456", "D-10115 Berlin-Mitte"],
    country="Germany",
)
LONG_CJK = LabelAddress(
    "陳大文 先生 收",
    [
        "新北市板橋區中山路一段161號（市政大樓）十五樓之三，請交給一樓警衛室代收，謝謝您的幫忙與合作。",
        "聯絡電話：02-2960-3456 分機 1234（週一至週五）",
    ],
    postal_code="220",
)
EXPECTED_TEXT = ("台北市信義區市府路1號", "上海市浦东新区世纪大道100号", "1600 Amphitheatre Pkwy")


def installed_cjk_font() -> Path | None:
    return next((Path(p) for p in SYSTEM_CJK_FONTS if Path(p).is_file()), None)


def no_env_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CJK_FONT_ENV, raising=False)


@pytest.fixture(params=["embedded", "cid"])
def renderer(request: pytest.FixtureRequest) -> ReportlabLabelRenderer:
    """Both font paths: an embedded TrueType CJK font, and reportlab's built-in (not embedded) CID fonts."""
    if request.param == "cid":
        return ReportlabLabelRenderer(search_fonts=False)
    font = installed_cjk_font()
    if font is None:
        pytest.skip("no embeddable CJK font installed (Debian: apt-get install fonts-wqy-microhei)")
    return ReportlabLabelRenderer(font)


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def page_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in read(pdf).pages]


@dataclass(frozen=True)
class Font:
    base_font: str
    encoding: str | None
    embedded: bool


def fonts_used(pdf: bytes) -> set[Font]:
    found: set[Font] = set()
    for page in read(pdf).pages:
        resources: Any = page["/Resources"]
        for ref in resources["/Font"].values():
            font: Any = ref.get_object()
            descriptors = [font.get("/FontDescriptor")] + [
                d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts", [])
            ]
            embedded = any(
                d is not None and any(k in d.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                for d in descriptors
            )
            encoding = font.get("/Encoding")
            found.add(Font(str(font["/BaseFont"]), str(encoding) if isinstance(encoding, str) else None, embedded))
    return found


@dataclass(frozen=True)
class DrawnText:
    text: str
    x: float
    y: float
    size: float


def drawn_text(pdf: bytes, page: int = 0) -> list[DrawnText]:
    out: list[DrawnText] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            out.append(DrawnText(text.strip(), tm[4] + cm[4], tm[5] + cm[5], size))

    read(pdf).pages[page].extract_text(visitor_text=visit)
    return out


NAMES = " | ".join(a.name for a in (TAIPEI, SHANGHAI, GOOGLE, LONG_LATIN, LONG_CJK))


def ink_box(renderer: ReportlabLabelRenderer, drawn: DrawnText, names: str = NAMES) -> Box:
    """The box a drawn line can ink: baseline position, font size, width (addressee lines are bold)."""
    bold = drawn.text in names
    width = stringWidth(drawn.text, renderer.font_for(drawn.text, bold=bold), drawn.size)
    return Box(drawn.x, drawn.y - DESCENT * drawn.size, width, (ASCENT + DESCENT) * drawn.size)


def customers(n: int) -> list[LabelAddress]:
    return [LabelAddress(f"Customer {i:03d}", [f"{i} Main St", "Springfield, IL 62701"]) for i in range(1, n + 1)]


# -- text comes back out ---------------------------------------------------------------------------


@pytest.mark.parametrize("sheet", ["avery5160", "l7160"])
def test_chinese_and_english_text_extracts_back(renderer: ReportlabLabelRenderer, sheet: Any) -> None:
    pdf = renderer.labels_pdf([TAIPEI, SHANGHAI, GOOGLE], sheet)

    (text,) = page_text(pdf)
    for expected in (*EXPECTED_TEXT, "王小明 先生 收", "李雷 收", "Google LLC", "UNITED STATES", "110", "200120"):
        assert expected in text


@pytest.mark.parametrize("size", ["DL", "C5", "10"])
def test_envelope_text_extracts_back(renderer: ReportlabLabelRenderer, size: Any) -> None:
    sender = LabelAddress("業務部 ACME 股份有限公司", ["台北市中正區重慶南路一段122號"], postal_code="100")

    pdf = renderer.envelopes_pdf([TAIPEI, SHANGHAI, GOOGLE], sender, size)

    pages = page_text(pdf)
    assert len(pages) == 3
    for page, expected in zip(pages, EXPECTED_TEXT, strict=True):
        assert expected in page
        assert "台北市中正區重慶南路一段122號" in page and "業務部 ACME 股份有限公司" in page


# -- which font path -------------------------------------------------------------------------------


def test_cid_fallback_is_not_embedded_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    renderer = ReportlabLabelRenderer(search_fonts=False)
    caplog.set_level(logging.WARNING, logger="outbound.labels_pdf")

    pdf = renderer.labels_pdf([TAIPEI, SHANGHAI, GOOGLE])

    assert renderer.cjk_font.embedded is False
    assert "NOT embedded" in caplog.text
    cjk = {f for f in fonts_used(pdf) if not f.base_font.startswith("/Helvetica")}
    # Traditional text in MSung-Light, Simplified in STSong-Light, each with the CMap of its own collection.
    assert cjk == {
        Font("/MSung-Light", "/UniCNS-UCS2-H", embedded=False),
        Font("/STSong-Light", "/UniGB-UCS2-H", embedded=False),
    }


def test_embedded_font_is_embedded_and_quiet(caplog: pytest.LogCaptureFixture) -> None:
    font = installed_cjk_font()
    if font is None:
        pytest.skip("no embeddable CJK font installed (Debian: apt-get install fonts-wqy-microhei)")
    renderer = ReportlabLabelRenderer(font)
    caplog.set_level(logging.WARNING, logger="outbound.labels_pdf")

    pdf = renderer.labels_pdf([TAIPEI, SHANGHAI, GOOGLE])

    assert renderer.cjk_font.embedded and renderer.cjk_font.path == font
    assert "NOT embedded" not in caplog.text
    used = fonts_used(pdf)
    assert not any("Song" in f.base_font for f in used), "no CID fallback when the font covers the text"
    assert any(f.embedded for f in used)


def test_default_renderer_embeds_when_a_font_is_installed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    no_env_font(monkeypatch)
    renderer = ReportlabLabelRenderer()
    caplog.set_level(logging.WARNING, logger="outbound.labels_pdf")

    pdf = renderer.labels_pdf([TAIPEI, SHANGHAI])

    installed = installed_cjk_font()
    project_fonts = Path("outbound/fonts")
    if installed is None and not (project_fonts.is_dir() and any(project_fonts.iterdir())):
        assert renderer.cjk_font.embedded is False, "nothing to embed here: CID fallback expected"
        assert "NOT embedded" in caplog.text
        assert not any(f.embedded for f in fonts_used(pdf))
    else:
        assert renderer.cjk_font.embedded is True, "a CJK font is installed: it must be embedded"
        assert any(f.embedded for f in fonts_used(pdf))


def test_env_var_names_the_font(monkeypatch: pytest.MonkeyPatch) -> None:
    font = installed_cjk_font()
    if font is None:
        pytest.skip("no embeddable CJK font installed (Debian: apt-get install fonts-wqy-microhei)")
    monkeypatch.setenv(CJK_FONT_ENV, str(font))

    assert ReportlabLabelRenderer().cjk_font.path == font


def test_env_var_pointing_nowhere_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    renderer = ReportlabLabelRenderer(env={CJK_FONT_ENV: "/nonexistent/font.ttf"})
    caplog.set_level(logging.WARNING, logger="outbound.labels_pdf")

    renderer.labels_pdf([TAIPEI])

    assert "/nonexistent/font.ttf" in caplog.text
    assert renderer.cjk_font.embedded == (installed_cjk_font() is not None)


def test_explicit_font_that_cannot_load_is_an_error(tmp_path: Path) -> None:
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_bytes(b"not a font")

    with pytest.raises(ValueError, match="cannot embed"):
        ReportlabLabelRenderer(not_a_font).labels_pdf([TAIPEI])


def test_cid_font_choice_follows_the_script() -> None:
    renderer = ReportlabLabelRenderer(search_fonts=False)

    assert renderer.font_for("台北市信義區市府路1號") == "Crm-MSung-Light"
    assert renderer.font_for("上海市浦东新区世纪大道100号") == "Crm-STSong-Light"
    assert renderer.font_for("1600 Amphitheatre Pkwy") == LATIN
    assert renderer.font_for("Müller & Söhne", bold=True) == LATIN_BOLD


# -- sheets and pages ------------------------------------------------------------------------------


def test_avery_5160_geometry() -> None:
    spec = SHEETS["avery5160"]
    assert (spec.page_width, spec.page_height, spec.per_page) == (8.5 * INCH, 11 * INCH, 30)
    assert spec.label_box(0) == Box(0.1875 * INCH, 9.5 * INCH, 2.625 * INCH, 1 * INCH)
    assert spec.label_box(1).x == pytest.approx((0.1875 + 2.75) * INCH)
    last = spec.label_box(29)
    assert last.right == pytest.approx(spec.page_width - 0.1875 * INCH)
    assert last.y == pytest.approx(0.5 * INCH)


def test_l7160_geometry() -> None:
    spec = SHEETS["l7160"]
    assert (spec.page_width, spec.page_height, spec.per_page) == (210 * MM, 297 * MM, 21)
    first, last = spec.label_box(0), spec.label_box(20)
    assert (first.width, first.height) == pytest.approx((63.5 * MM, 38.1 * MM))
    assert first.x == pytest.approx(7.21 * MM)
    assert spec.page_height - first.top == pytest.approx(15.15 * MM)
    assert spec.page_width - last.right == pytest.approx(7.21 * MM, abs=0.01 * MM)
    assert last.y == pytest.approx(15.15 * MM)


@pytest.mark.parametrize("sheet", ["avery5160", "l7160"])
def test_labels_stay_on_the_page_and_apart(sheet: Any) -> None:
    spec = SHEETS[sheet]
    page = Box(0, 0, spec.page_width, spec.page_height)
    boxes = [spec.label_box(i) for i in range(spec.per_page)]
    assert all(page.contains(b) for b in boxes)
    for a, b in itertools.combinations(boxes, 2):
        overlap_x = min(a.right, b.right) - max(a.x, b.x)
        overlap_y = min(a.top, b.top) - max(a.y, b.y)
        assert overlap_x <= 1e-6 or overlap_y <= 1e-6


@pytest.mark.parametrize(
    ("sheet", "count", "pages"),
    [("avery5160", 30, 1), ("avery5160", 31, 2), ("avery5160", 61, 3), ("l7160", 21, 1), ("l7160", 22, 2)],
)
def test_pages_and_labels_per_page(sheet: Any, count: int, pages: int) -> None:
    renderer = ReportlabLabelRenderer(search_fonts=False)
    addresses = customers(count)

    texts = page_text(renderer.labels_pdf(addresses, sheet))

    assert len(texts) == pages
    per_page = SHEETS[sheet].per_page
    for n, address in enumerate(addresses):
        assert address.name in texts[n // per_page]
    assert [t.count("Customer ") for t in texts] == [min(per_page, count - p * per_page) for p in range(pages)]


def test_skip_reuses_a_partly_used_sheet() -> None:
    renderer = ReportlabLabelRenderer(search_fonts=False)
    spec = SHEETS["avery5160"]

    pdf = renderer.labels_pdf(customers(2), "avery5160", skip=29)

    assert len(read(pdf).pages) == 2
    (first,) = [d for d in drawn_text(pdf, 0) if d.text == "Customer 001"]
    assert spec.label_box(29).contains(Box(first.x, first.y, 1, 1))
    (second,) = [d for d in drawn_text(pdf, 1) if d.text == "Customer 002"]
    assert spec.label_box(0).contains(Box(second.x, second.y, 1, 1))


@pytest.mark.parametrize("sheet", ["avery5160", "l7160"])
def test_every_line_is_drawn_inside_its_own_label(renderer: ReportlabLabelRenderer, sheet: Any) -> None:
    spec = SHEETS[sheet]
    addresses = [TAIPEI, SHANGHAI, GOOGLE, LONG_LATIN, LONG_CJK] * 3

    pdf = renderer.labels_pdf(addresses, sheet)

    drawn = drawn_text(pdf)
    assert drawn
    labels = [spec.label_box(i).inset(spec.padding_x, spec.padding_y) for i in range(len(addresses))]
    for line in drawn:
        ink = ink_box(renderer, line)
        assert any(label.contains(ink, tolerance=0.5) for label in labels), f"{line} spills out of its label"


# -- shrinking and wrapping ------------------------------------------------------------------------


@pytest.mark.parametrize("address", [LONG_LATIN, LONG_CJK], ids=["latin", "cjk"])
def test_long_addresses_shrink_and_wrap_without_losing_text(
    renderer: ReportlabLabelRenderer, address: LabelAddress
) -> None:
    spec = SHEETS["avery5160"]
    inner = spec.label_box(0).inset(spec.padding_x, spec.padding_y)
    lines = address_block_lines(address)

    block = renderer.fit(lines, inner.width, inner.height, max_size=spec.max_font_size, min_size=5)

    assert not block.truncated
    assert block.font_size < spec.max_font_size, "should have shrunk"
    assert len(block.lines) > len(lines), "should have wrapped"
    assert block.height <= inner.height
    assert all(line.width <= inner.width + 1e-6 for line in block.lines)
    assert "".join(line.text for line in block.lines).replace(" ", "") == "".join(lines).replace(" ", "")
    assert not any(line.text[0] in "，。、）" for line in block.lines), "no line starts with closing punctuation"
    assert not any(len(line.text) > 1 and line.text[-1] == "（" for line in block.lines)


def test_short_address_keeps_the_largest_size(renderer: ReportlabLabelRenderer) -> None:
    spec = SHEETS["l7160"]
    inner = spec.label_box(0).inset(spec.padding_x, spec.padding_y)

    block = renderer.fit(address_block_lines(TAIPEI), inner.width, inner.height, max_size=11, min_size=5)

    assert block.font_size == 11
    assert [line.text for line in block.lines] == ["110", "台北市信義區市府路1號", "王小明 先生 收"]


def test_an_address_too_long_for_any_size_is_cut_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    renderer = ReportlabLabelRenderer(search_fonts=False)
    huge = LabelAddress("Too Much", [f"Line {i} of an address nobody could print on one label" for i in range(40)])
    caplog.set_level(logging.WARNING, logger="outbound.labels_pdf")

    pdf = renderer.labels_pdf([huge, GOOGLE], "avery5160")

    assert "does not fit" in caplog.text
    spec = SHEETS["avery5160"]
    first = spec.label_box(0).inset(spec.padding_x, spec.padding_y)
    huge_lines = [d for d in drawn_text(pdf) if d.text.startswith(("Line", "Too Much"))]
    assert huge_lines[-1].text.endswith("…")
    assert all(first.contains(ink_box(renderer, d, names="Too Much"), tolerance=0.5) for d in huge_lines)
    assert "1600 Amphitheatre Pkwy" in page_text(pdf)[0], "the next label is untouched"


# -- envelopes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "width", "height"),
    [("DL", 220 * MM, 110 * MM), ("C5", 229 * MM, 162 * MM), ("10", 9.5 * INCH, 4.125 * INCH)],
)
def test_envelope_page_size_and_blocks(
    renderer: ReportlabLabelRenderer, size: Any, width: float, height: float
) -> None:
    spec = ENVELOPES[size]
    sender = LabelAddress("ACME Sales 業務部", ["台北市中正區重慶南路一段122號"], postal_code="100")

    pdf = renderer.envelopes_pdf([GOOGLE, LONG_CJK], sender, size)

    reader = read(pdf)
    assert len(reader.pages) == 2
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((width, height))
    sender_box, recipient_box = spec.sender_box(), spec.recipient_box()
    # Sender top left; recipient right of centre-left, clear of the bottom barcode zone (5/8").
    assert sender_box.x < 15 * MM and height - sender_box.top < 15 * MM
    assert recipient_box.x >= 0.35 * width and recipient_box.y >= 0.625 * INCH - 1e-6
    assert recipient_box.top < sender_box.y or recipient_box.x > sender_box.right
    sender_lines = set(address_block_lines(sender))
    for page in range(2):
        for line in drawn_text(pdf, page):
            target = sender_box if line.text in sender_lines else recipient_box
            ink = ink_box(renderer, line, names=f"{NAMES} | {sender.name}")
            assert target.contains(ink, tolerance=0.5), f"{line} outside its block"


def test_us_10_recipient_block_is_in_the_usps_ocr_read_area() -> None:
    box = ENVELOPES["10"].recipient_box()
    assert box.x >= 0.5 * INCH and box.right <= 9.5 * INCH - 0.5 * INCH
    assert box.y >= 0.625 * INCH and box.top <= 2.75 * INCH


# -- blocks, errors, import cost -------------------------------------------------------------------


def test_address_block_order() -> None:
    assert address_block_lines(TAIPEI) == ["110", "台北市信義區市府路1號", "王小明 先生 收"]
    assert address_block_lines(GOOGLE) == [
        "Google LLC",
        "1600 Amphitheatre Pkwy",
        "Mountain View, CA 94043",
        "UNITED STATES",
    ]
    in_lines = LabelAddress("Ann", ["1 High St", "London SW1A 1AA"], postal_code="SW1A 1AA", country="UK")
    assert address_block_lines(in_lines) == ["Ann", "1 High St", "London SW1A 1AA", "UK"]
    assert address_block_lines(LabelAddress("Bo", ["Kungsgatan 1"], postal_code="111 43")) == [
        "Bo",
        "Kungsgatan 1",
        "111 43",
    ]


def test_rejects_nonsense() -> None:
    renderer = ReportlabLabelRenderer(search_fonts=False)
    with pytest.raises(ValueError):
        renderer.labels_pdf([])
    with pytest.raises(ValueError):
        renderer.labels_pdf([GOOGLE], "avery9999")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        renderer.envelopes_pdf([GOOGLE], GOOGLE, "B4")  # type: ignore[arg-type]


def test_same_input_same_bytes() -> None:
    renderer = ReportlabLabelRenderer(search_fonts=False)
    assert renderer.labels_pdf([TAIPEI, GOOGLE]) == renderer.labels_pdf([TAIPEI, GOOGLE])


def test_importing_the_adapter_does_not_import_reportlab() -> None:
    code = "import sys, outbound, outbound.labels_pdf; sys.exit('reportlab' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A developer's CRM_CJK_FONT must not change what these tests expect."""
    no_env_font(monkeypatch)
    yield
