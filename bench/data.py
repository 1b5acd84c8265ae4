"""Not a benchmark: deterministic made-up customers for benchmarks (same seed, same companies, people, phones).

The mix is what a Taiwan-based team selling into mainland China and the US has: Traditional Chinese company
names (台北精密工業股份有限公司), Simplified ones (上海恒达电子科技有限公司), English ones, and people's names in
all three; phones from Taiwan (mobile and landline), China and the US, every one valid and unique; e-mail
addresses on most rows; a few tags. ``customer_table`` gives it as a spreadsheet the importer reads.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

TW_PLACES = ("台北", "新北", "桃園", "新竹", "台中", "彰化", "台南", "高雄", "基隆", "宜蘭", "嘉義", "屏東")
TW_CORES = ("精密", "電子", "科技", "貿易", "食品", "機械", "光電", "塑膠", "紡織", "建設", "生技", "物流", "興業",
            "國際", "鋼鐵", "化工", "資訊", "醫療", "餐飲", "文具")
TW_SUFFIXES = ("工業股份有限公司", "股份有限公司", "有限公司", "企業社", "實業有限公司", "行")
CN_PLACES = ("上海", "北京", "深圳", "广州", "杭州", "苏州", "成都", "武汉", "南京", "天津", "宁波", "厦门")
CN_BRANDS = ("华东", "恒达", "鑫源", "宏远", "天成", "金鹏", "瑞丰", "嘉禾", "永泰", "中远", "东方", "长城", "新世纪",
             "博达", "汇通")
CN_CORES = ("电子", "科技", "贸易", "食品", "机械", "光电", "物流", "医药", "化工", "软件", "建材", "服饰")
CN_SUFFIXES = ("有限公司", "股份有限公司", "集团有限公司", "实业有限公司")
EN_BRANDS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent",
             "Wonka", "Hooli", "Vandelay", "Pied Piper", "Dunder", "Oceanic", "Gringotts", "Monarch", "Aperture")
EN_CORES = ("Trading", "Industries", "Logistics", "Foods", "Electronics", "Systems", "Imports", "Supply",
            "Precision", "Textiles", "Pharma", "Robotics")
EN_SUFFIXES = ("Co.", "Ltd.", "Inc.", "LLC", "Corp.", "GmbH")
TW_SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高"
CN_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹"
TW_GIVEN = ("志明", "淑芬", "家豪", "怡君", "俊傑", "雅婷", "建宏", "美玲", "宗翰", "佳穎", "冠宇", "詩涵", "承恩",
            "欣怡", "柏翰", "靜宜", "文雄", "麗華", "明德", "秀蘭")
CN_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
            "秀英", "霞", "平", "建国", "晓东", "海燕", "志强")
EN_FIRST = ("James", "Mary", "John", "Linda", "Robert", "Susan", "Michael", "Karen", "David", "Lisa", "Kevin",
            "Emily", "Daniel", "Grace", "Jason", "Amy", "Eric", "Jenny", "Steven", "Vivian")
EN_LAST = ("Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Moore",
           "Chen", "Lin", "Wang", "Huang", "Lee", "Wu", "Clark", "Lewis", "Walker", "Young")
DOMAINS = ("example.com", "example.net", "example.org", "mail.example.tw", "corp.example.cn", "biz.example.us")
REGIONS = ("台北", "新竹", "台中", "高雄", "上海", "深圳", "北京", "California", "New York", "Texas")
INDUSTRIES = ("製造", "制造", "零售", "批發", "Electronics", "Food", "Logistics", "醫療", "软件", "Textiles")
TAGS = ("vip", "新客戶", "新客户", "wholesale", "export", "潛力", "重点", "retail", "distributor", "oem",
        "展會", "referral")
US_AREAS = ("212", "415", "646", "312", "617", "206", "213", "512", "305", "408")
_NOT_DIGITS = str.maketrans("", "", "+-() ")
KINDS = ("tw_company", "cn_company", "en_company", "tw_person", "cn_person", "en_person")
WEIGHTS = (30, 25, 15, 10, 10, 10)


@dataclass(frozen=True)
class FakeCustomer:
    name: str
    kind: str  # company / person
    short_name: str
    phones: tuple[str, ...]  # as a person would type them, all valid and unique in the data set
    email: str
    region: str
    industry: str
    classification: str
    tier: str
    tags: tuple[str, ...]
    owner: str


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.phones: set[str] = set()
        self.emails: set[str] = set()

    def pick(self, items: Sequence[str]) -> str:
        return items[int(self.rng.random() * len(items))]  # randrange is 3x slower; 100k rows add up

    def below(self, n: int) -> int:
        return int(self.rng.random() * n)

    def phone(self, style: str) -> str:
        r = self.below
        while True:
            if style == "tw_mobile":
                typed = f"09{r(10)}{r(10)}-{r(1000):03d}-{r(1000):03d}"
            elif style == "tw_landline":
                typed = f"0{self.pick(('2', '4'))}-2{r(1000):03d}-{r(10000):04d}"
            elif style == "cn":
                typed = f"+86 1{self.pick(('38', '39', '58', '86', '37'))} {r(10000):04d} {r(10000):04d}"
            else:
                typed = f"+1 {self.pick(US_AREAS)}-{200 + r(800)}-{r(10000):04d}"
            digits = typed.translate(_NOT_DIGITS)
            if digits not in self.phones:
                self.phones.add(digits)
                return typed

    def email(self, local: str) -> str:
        while True:
            address = f"{local}{self.below(100_000)}@{self.pick(DOMAINS)}"
            if address not in self.emails:
                self.emails.add(address)
                return address

    def customer(self, owners: Sequence[str]) -> FakeCustomer:
        kind = self.rng.choices(KINDS, WEIGHTS)[0]
        if kind == "tw_company":
            place, core = self.pick(TW_PLACES), self.pick(TW_CORES) + self.pick(TW_CORES)
            name, short = f"{place}{core}{self.pick(TW_SUFFIXES)}", place[:1] + core
            local, phone_style = "sales", "tw_landline"
        elif kind == "cn_company":
            brand = self.pick(CN_BRANDS)
            name = f"{self.pick(CN_PLACES)}{brand}{self.pick(CN_CORES)}{self.pick(CN_SUFFIXES)}"
            short, local, phone_style = brand, "info", "cn"
        elif kind == "en_company":
            brand = self.pick(EN_BRANDS)
            name, short = f"{brand} {self.pick(EN_CORES)} {self.pick(EN_SUFFIXES)}", brand
            local, phone_style = brand.lower().replace(" ", ""), "us"
        elif kind == "tw_person":
            name, short, local, phone_style = self.pick(TW_SURNAMES) + self.pick(TW_GIVEN), "", "tw", "tw_mobile"
        elif kind == "cn_person":
            name, short, local, phone_style = self.pick(CN_SURNAMES) + self.pick(CN_GIVEN), "", "cn", "cn"
        else:
            first, last = self.pick(EN_FIRST), self.pick(EN_LAST)
            name, short, local, phone_style = f"{first} {last}", "", f"{first}.{last}".lower(), "us"
        phones = [self.phone(phone_style)]
        if self.rng.random() < 0.3:
            phones.append(self.phone("tw_mobile" if phone_style != "tw_mobile" else "tw_landline"))
        return FakeCustomer(
            name=name, kind="person" if kind.endswith("person") else "company", short_name=short,
            phones=tuple(phones), email=self.email(local) if self.rng.random() < 0.7 else "",
            region=self.pick(REGIONS), industry=self.pick(INDUSTRIES),
            classification=self.rng.choices(("potential", "general", "loyal"), (5, 3, 2))[0],
            tier=self.rng.choice(("A", "B", "C", "")),
            tags=tuple(sorted(set(self.rng.sample(TAGS, self.rng.choice((0, 0, 1, 1, 2, 3)))))),
            owner=self.pick(owners) if owners else "",
        )


def customers(count: int, *, owners: Sequence[str] = (), seed: int = 20261126) -> list[FakeCustomer]:
    generator = _Generator(seed)
    return [generator.customer(owners) for _ in range(count)]


TABLE_HEADERS = ("名稱", "類型", "簡稱", "電話", "手機", "Email", "地區", "行業", "分類", "等級", "標籤", "負責人")


def customer_table(items: Sequence[FakeCustomer]) -> list[list[str]]:
    """As a spreadsheet: Traditional Chinese headers, two phone columns, the owner by name."""
    rows = [list(TABLE_HEADERS)]
    for c in items:
        rows.append([c.name, c.kind, c.short_name, c.phones[0], c.phones[1] if len(c.phones) > 1 else "", c.email,
                     c.region, c.industry, c.classification, c.tier, ",".join(c.tags), c.owner])
    return rows


async def fresh_engine(url: str) -> AsyncEngine:
    """An engine on a migrated, empty database (PostgreSQL: the public schema dropped and made again)."""
    from sqlalchemy import text

    from storage.engine import create_engine
    from storage.migrate import upgrade

    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    return engine
