"""The one-line form reps type: ``/newcustomer 李大華 0922333444 lee@example.com 高雄`` or
``台積電; 02-2345-6789, 0912-345-678; buyer@tsmc.com; #vip #semis``.

Reps do not remember an order or a separator, so each piece is recognised by what it looks like, wherever it
stands: e-mail addresses, phone numbers (a run of digits with the spaces, hyphens, dots and brackets people put
in them, a "+" first), ``#tags``, and — when the caller asks for it — a known region standing as a word of its own
(高雄, 臺北市, 上海, Taipei). Spaces, commas, ``;`` and ``，、；`` may separate them. What is left is plain text:
the first ``;``-part's text is the name, the next one the address (of a customer) or the company / title (of a
lead / contact), anything after that the notes.

Every character of the input ends up in exactly one field (``QuickEntry.spans`` says which) or is a separator,
so nothing typed is silently dropped — the chat echoes the result before saving. Nothing is validated here: the
services do that and name the field that is wrong, so the chat can re-ask for exactly that field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm.customers.phones import digits

# Fields a span of the input can belong to; "label" is a word such as "Tel:" before a number (part of no value).
NAME, SECOND, NOTES, PHONE, EMAIL, TAG, REGION, LABEL = (
    "name", "second", "notes", "phone", "email", "tag", "region", "label")

_PARTS = re.compile(r"[;；\n]+")
SEPARATORS = frozenset(" \t\r\n\u3000,，、;；/#＃")  # a "#" with no tag after it is a slip, not text
_TAG = re.compile(r"(?<![^\s,，、;；/])[#＃]([^\s#＃,，、;；/]+)")
_EMAIL = re.compile(r"[^\s@<>;；,，、#＃]+@[^\s@<>;；,，、#＃]+\.[^\s@<>;；,，、#＃]+")
# A run of digits with the punctuation people put in phone numbers; not glued to letters or other digits.
_PHONE_RUN = re.compile(r"(?<![0-9A-Za-z@.+_\-])\+?\(?[0-9][0-9 \t().\-]*[0-9](?![0-9A-Za-z@_])")
_PHONE_LABEL = re.compile(r"(?:tel|phone|mobile|cell|電話|电话|手機|手机)[:：]?[ \t]*$", re.IGNORECASE)
_STRONG_PIECE = re.compile(r"[^;；\n,，、/]+")
_PHONE_ONLY = re.compile(r"\+?[0-9 ()\-.]+")
MIN_PIECE_DIGITS = 4  # as in a search by the last digits: shorter is no number anyone means
MIN_PHONE_DIGITS = 7  # "7-Eleven 123", "Room 1203", a year: not phone numbers
MAX_PHONE_DIGITS = 15  # E.164's limit: a longer run is several numbers typed with spaces between them
_NEW_NUMBER_DIGITS = 8  # a group this long after a complete-looking number starts the next number

# Regions recognised when they stand alone: Taiwan's cities and counties, the mainland's provinces and major
# cities, Hong Kong and Macau — in traditional and simplified characters, with or without 市/縣/县/省, and the
# usual English names.
_REGION_LINES = (
    "台北 臺北 新北 桃園 桃园 台中 臺中 台南 臺南 高雄 基隆 新竹 苗栗 彰化 南投 雲林 云林",
    "嘉義 嘉义 屏東 屏东 宜蘭 宜兰 花蓮 花莲 台東 臺東 台东 澎湖 金門 金门 連江 连江 馬祖 马祖",
    "北京 上海 天津 重慶 重庆 廣州 广州 深圳 杭州 南京 蘇州 苏州 武漢 武汉 成都 西安 廈門 厦门",
    "福州 青島 青岛 大連 大连 寧波 宁波 東莞 东莞 佛山 長沙 长沙 鄭州 郑州 濟南 济南 瀋陽 沈阳",
    "哈爾濱 哈尔滨 昆明 合肥 無錫 无锡 廣東 广东 福建 浙江 江蘇 江苏 山東 山东 河南 河北 湖南 湖北",
    "四川 雲南 云南 貴州 贵州 陝西 陕西 山西 江西 安徽 遼寧 辽宁 吉林 黑龍江 黑龙江 甘肅 甘肃 青海",
    "海南 廣西 广西 內蒙古 内蒙古 寧夏 宁夏 新疆 西藏 香港 澳門 澳门",
)
_REGION_NAMES = tuple(name for line in _REGION_LINES for name in line.split())
_REGION_EN = (
    "taipei", "new taipei", "taoyuan", "taichung", "tainan", "kaohsiung", "keelung", "hsinchu", "miaoli",
    "changhua", "nantou", "yunlin", "chiayi", "pingtung", "yilan", "hualien", "taitung", "penghu", "kinmen",
    "beijing", "shanghai", "tianjin", "chongqing", "guangzhou", "shenzhen", "hangzhou", "nanjing", "suzhou",
    "wuhan", "chengdu", "xiamen", "hong kong", "macau", "macao",
)
_REGION = re.compile(
    r"(?<![^\s,，、;；/])(?:(?:" + "|".join(_REGION_NAMES) + r")(?:市|縣|县|省|特別行政區|特别行政区)?|(?i:"
    + "|".join(sorted(_REGION_EN, key=len, reverse=True)) + r"))(?![^\s,，、;；/])")


@dataclass(frozen=True)
class QuickEntry:
    name: str | None = None
    phones: tuple[str, ...] = ()
    email: str | None = None
    tags: tuple[str, ...] = ()
    second: str | None = None  # address of a customer; company of a lead; title of a contact
    notes: str | None = None
    extra_emails: tuple[str, ...] = ()
    region: str | None = None
    spans: tuple[tuple[str, int, int], ...] = ()
    """(field, start, end) of every piece of the input that went into a field; the rest are separators."""
    guessed: bool = False
    """Some fields were told apart by their look rather than by ``;`` between them: worth showing the format."""

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.phones or self.email or self.tags or self.second or self.notes or self.region)


def _phone_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The numbers in one run of phone characters: the run itself, or its space-separated groups regrouped
    when the run is too long to be one number ("0912345678 0922333444")."""
    groups = [(m.start() + start, m.end() + start) for m in re.finditer(r"[^ \t]+", text[start:end])]
    numbers: list[list[tuple[int, int]]] = []
    for group in groups:
        piece = text[group[0]:group[1]]
        current = numbers[-1] if numbers else None
        current_digits = len(digits("".join(text[a:b] for a, b in current))) if current else 0
        if current is None or piece.startswith("+") or (
                current_digits >= MIN_PHONE_DIGITS and len(digits(piece)) >= _NEW_NUMBER_DIGITS):
            numbers.append([group])
        else:
            current.append(group)
    found: list[tuple[int, int]] = []
    for number in numbers:
        a, b = number[0][0], number[-1][1]
        count = len(digits(text[a:b]))
        if MIN_PHONE_DIGITS <= count <= MAX_PHONE_DIGITS:
            found.append((a, b))
    return found


def _claim(claimed: list[str | None], start: int, end: int, field: str) -> bool:
    if any(claimed[i] is not None for i in range(start, end)):
        return False
    for i in range(start, end):
        claimed[i] = field
    return True


def _pieces(text: str, claimed: list[str | None], start: int, end: int) -> list[tuple[int, int]]:
    """The unclaimed runs between ``start`` and ``end``, separators trimmed off their ends; empty ones dropped."""
    runs: list[tuple[int, int]] = []
    i = start
    while i < end:
        if claimed[i] is not None:
            i += 1
            continue
        j = i
        while j < end and claimed[j] is None:
            j += 1
        a, b = i, j
        while a < b and text[a] in SEPARATORS:
            a += 1
        while b > a and text[b - 1] in SEPARATORS:
            b -= 1
        if a < b:
            runs.append((a, b))
        i = j
    return runs


def parse_line(text: str, *, regions: bool = False) -> QuickEntry:
    """Split a one-line form into its fields; never raises, whatever the text. ``regions``: take a known region
    standing alone as the region (customers have one; contacts do not)."""
    claimed: list[str | None] = [None] * len(text)
    spans: list[tuple[str, int, int]] = []

    def take(field: str, start: int, end: int) -> bool:
        if start < end and _claim(claimed, start, end, field):
            spans.append((field, start, end))
            return True
        return False

    for m in _EMAIL.finditer(text):
        take(EMAIL, m.start(), m.end())
    for m in _TAG.finditer(text):
        take(TAG, m.start(), m.end())
    for run in _PHONE_RUN.finditer(text):
        if any(claimed[i] is not None for i in range(run.start(), run.end())):
            continue
        for a, b in _phone_spans(text, run.start(), run.end()):
            if take(PHONE, a, b):
                label = _PHONE_LABEL.search(text, 0, a)
                if label is not None and label.end() == a:
                    take(LABEL, label.start(), label.end())
    # A piece between strong separators that is nothing but a number is meant as a phone even when it is short
    # ("清華大學；12345"): the service then says it is not a valid number, rather than it becoming the name.
    for m in _STRONG_PIECE.finditer(text):
        a, b = m.start(), m.end()
        while a < b and text[a] in " \t\u3000":
            a += 1
        while b > a and text[b - 1] in " \t\u3000":
            b -= 1
        if _PHONE_ONLY.fullmatch(text, a, b) and len(digits(text[a:b])) >= MIN_PIECE_DIGITS:
            take(PHONE, a, b)
    parts = [(m.start(), m.end()) for m in re.finditer(r"[^;；\n]+", text)]
    region_span: tuple[int, int] | None = None
    for m in _REGION.finditer(text) if regions else ():
        if any(claimed[i] is not None for i in range(m.start(), m.end())):
            continue
        _claim(claimed, m.start(), m.end(), REGION)
        if _pieces(text, claimed, 0, len(text)):
            region_span = (m.start(), m.end())
            spans.append((REGION, m.start(), m.end()))
            break
        # Nothing else is left for the name: "上海" alone is a name, not a region.
        for i in range(m.start(), m.end()):
            claimed[i] = None
    plain: list[list[tuple[int, int]]] = []
    for a, b in parts:
        pieces = _pieces(text, claimed, a, b)
        if pieces:
            plain.append(pieces)
    fields = (NAME, SECOND)
    for index, pieces in enumerate(plain):
        field = fields[index] if index < len(fields) else NOTES
        for a, b in pieces:
            take(field, a, b)
    spans.sort(key=lambda s: s[1])
    plain_text = [" ".join(text[a:b] for a, b in pieces) for pieces in plain]
    emails = [text[a:b] for f, a, b in spans if f == EMAIL]
    tags = [text[a + 1:b] for f, a, b in spans if f == TAG]
    phone_list = [text[a:b] for f, a, b in spans if f == PHONE]
    # Several fields in one ;-part were told apart by their look alone: the user may not know the format.
    guessed = any(len({f for f, a, b in spans if p[0] <= a < p[1] and f != LABEL}) > 1 for p in parts)
    return QuickEntry(
        name=plain_text[0] if plain_text else None,
        phones=tuple(dict.fromkeys(phone_list)),
        email=emails[0] if emails else None,
        tags=tuple(dict.fromkeys(tags)),
        second=plain_text[1] if len(plain_text) > 1 else None,
        notes="; ".join(plain_text[2:]) or None,
        extra_emails=tuple(emails[1:]),
        region=text[region_span[0]:region_span[1]] if region_span else None,
        spans=tuple(spans),
        guessed=guessed,
    )


def is_one_line_form(text: str, *, regions: bool = False) -> bool:
    """A command argument meant as the whole form (rather than just a name to start the guided flow)."""
    entry = parse_line(text, regions=regions)
    return bool(_PARTS.search(text.strip()) or entry.phones or entry.email or entry.tags or entry.region
                or entry.extra_emails)


__all__ = ["SEPARATORS", "QuickEntry", "is_one_line_form", "parse_line"]
