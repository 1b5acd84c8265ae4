"""Customers for the console demo: Traditional and Simplified Chinese and English names, real-looking phones,
a few contacts and leads, some history, and follow-ups that are overdue, due today and coming up.

Created through the services as the owning rep or manager, so every record is audited and searchable exactly
like one typed in chat. Times are relative to the clock, so the demo's agenda looks alive whenever it is run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.customers.customers import CustomerDraft
from crm.customers.model import Classification, CustomerKind, EntityKind, InteractionKind, Tier
from crm.followups.followups import Target
from crm.organisation.permissions import Actor
from crm.services import Services

C, P = CustomerKind.COMPANY, CustomerKind.PERSON
POT, GEN, LOY = Classification.POTENTIAL, Classification.GENERAL, Classification.LOYAL


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    phones: tuple[str, ...]
    kind: CustomerKind = C
    region: str | None = None
    industry: str | None = None
    classification: Classification = POT
    tier: Tier | None = None
    tags: tuple[str, ...] = ()
    email: str | None = None
    short_name: str | None = None
    contacts: tuple[tuple[str, str, str], ...] = ()  # (name, job title, phone)
    # (days ago, kind, what happened) and (hours from now, what next): the history and the next step.
    history: tuple[tuple[int, InteractionKind, str], ...] = ()
    next_steps: tuple[tuple[float, str], ...] = field(default=())


TODAY = -1.0  # a marker in next_steps: later today in the owner's zone

# By owner username (see bot.demo.PEOPLE).
CUSTOMERS: dict[str, tuple[DemoCustomer, ...]] = {
    "jason_chen": (
        DemoCustomer("台灣積體電路製造", ("03-563-6688",), region="新竹", industry="半導體", classification=LOY,
                     tier=Tier.A, tags=("vip", "semis"), email="purchasing@tsmc.example", short_name="台積電",
                     contacts=(("張志明", "採購經理", "0912-000-111"), ("Amy Wang", "Buyer", "0921-555-666")),
                     history=((6, InteractionKind.VISIT, "拜訪採購部，討論明年框架合約"),
                              (1, InteractionKind.CALL, "張經理要求更新報價")),
                     next_steps=((-26, "寄送更新報價單"), (TODAY, "電話確認報價是否收到"))),
        DemoCustomer("鴻海精密工業", ("02-2268-3466",), region="新北", industry="電子製造", classification=GEN,
                     tier=Tier.A, tags=("manufacturing",), short_name="鴻海",
                     history=((12, InteractionKind.MEETING, "年度檢討會議"),), next_steps=((50, "提供樣品"),)),
        DemoCustomer("大同公司", ("02-2592-5252",), region="台北", industry="家電", classification=GEN, tier=Tier.B),
        DemoCustomer("統一企業", ("06-253-2121",), region="台南", industry="食品", classification=LOY, tier=Tier.B,
                     tags=("food",), history=((3, InteractionKind.EMAIL, "寄出新品型錄"),),
                     next_steps=((-3, "追蹤型錄回覆"),)),
        DemoCustomer("誠品書店", ("02-8789-8921",), region="台北", industry="零售", tier=Tier.C, tags=("retail",)),
        DemoCustomer("王小明", ("0912-345-678",), kind=P, region="台北", tags=("referral",),
                     next_steps=((170, "約下週拜訪"),)),
        DemoCustomer("Acme Trading Ltd", ("+1 415 555 0100",), region="San Francisco", industry="Import/Export",
                     tags=("export",), email="sales@acme.example",
                     history=((20, InteractionKind.MESSAGE, "Asked for the English catalogue"),)),
        DemoCustomer("85度C 咖啡蛋糕", ("02-2700-8585",), region="台北", industry="餐飲", classification=GEN,
                     tags=("food", "retail")),
        DemoCustomer("林美華", ("0928-111-222",), kind=P, region="台中", classification=GEN),
        DemoCustomer("長榮海運", ("02-2505-7766",), region="台北", industry="物流", classification=LOY, tier=Tier.A,
                     tags=("logistics",), contacts=(("黃俊傑", "業務副理", "0955-123-321"),),
                     history=((2, InteractionKind.CALL, "確認十二月艙位"),), next_steps=((TODAY, "回電確認運費"),)),
        DemoCustomer("Bright Future Co.", ("04-2255-6677",), region="台中", industry="Solar"),
        DemoCustomer("陳建宏", ("0933-222-111",), kind=P, region="高雄"),
        DemoCustomer("義美食品", ("02-2351-6666",), region="台北", industry="食品", tags=("food",)),
    ),
    "wang_fang": (
        DemoCustomer("上海华联超市", ("+86 21 6234 5678",), region="上海", industry="零售", classification=LOY,
                     tier=Tier.A, tags=("vip", "retail"), email="caigou@hualian.example",
                     contacts=(("陈主管", "采购主管", "+86 137 1111 2222"),),
                     history=((4, InteractionKind.VISIT, "门店巡访，讨论春节备货"),),
                     next_steps=((-5, "发送春节促销方案"), (TODAY, "确认备货数量"))),
        DemoCustomer("苏州精密机械有限公司", ("+86 512 6580 1234",), region="苏州", industry="机械", classification=GEN,
                     tier=Tier.B, history=((9, InteractionKind.MEETING, "技术交流会"),),
                     next_steps=((75, "安排工厂参观"),)),
        DemoCustomer("杭州绿茶贸易", ("+86 571 8765 4321",), region="杭州", industry="食品", tags=("food",)),
        DemoCustomer("李娜", ("+86 138 0013 8000",), kind=P, region="上海", classification=GEN,
                     next_steps=((-48, "回电：询问报价"),)),
        DemoCustomer("张伟", ("+86 139 1234 5678",), kind=P, region="南京"),
        DemoCustomer("南京远航物流", ("+86 25 8468 1234",), region="南京", industry="物流", tags=("logistics",)),
        DemoCustomer("深圳创新电子", ("+86 755 2661 2345",), region="深圳", industry="电子", classification=GEN,
                     tier=Tier.B, tags=("electronics",), history=((1, InteractionKind.CALL, "询问交期"),)),
        DemoCustomer("Golden Dragon Imports", ("+86 21 5012 3456",), region="上海", industry="Import/Export",
                     email="info@goldendragon.example"),
        DemoCustomer("宁波港务贸易", ("+86 574 8765 4321",), region="宁波", industry="物流"),
        DemoCustomer("无锡阳光纺织", ("+86 510 8123 4567",), region="无锡", industry="纺织", tier=Tier.C),
        DemoCustomer("刘洋", ("+86 186 2150 1234",), kind=P, region="上海", tags=("referral",)),
        DemoCustomer("北京天成科技", ("+86 10 6552 1234",), region="北京", industry="软件",
                     next_steps=((28, "视频会议演示产品"),)),
        DemoCustomer("周婷", ("+86 150 0000 1234",), kind=P, region="杭州"),
    ),
    "meiling_lin": (
        DemoCustomer("國泰人壽", ("02-2755-1399",), region="台北", industry="保險", classification=LOY, tier=Tier.A,
                     tags=("vip",), contacts=(("黃副理", "總務部", "02-2755-1300"),),
                     history=((15, InteractionKind.MEETING, "年度合約續約簽署"),), next_steps=((120, "季度回顧會議"),)),
        DemoCustomer("中華電信", ("02-2344-5488",), region="台北", industry="電信", classification=GEN, tier=Tier.A),
        DemoCustomer("富邦金控", ("02-6636-6636",), region="台北", industry="金融", tier=Tier.B),
        DemoCustomer("Global Parts Pte Ltd", ("+65 6123 4567",), region="Singapore", industry="Distribution",
                     tags=("export",), next_steps=((-2, "Send the revised price list"),)),
    ),
}

# Leads: (owner username, name, phone, company).
LEADS: tuple[tuple[str, str, str, str | None], ...] = (
    ("jason_chen", "Kevin Lee", "0955-888-777", "Lee Trading"),
    ("jason_chen", "吳先生", "07-335-1234", None),
    ("wang_fang", "周先生", "+86 135 2468 1357", "周氏五金"),
)


def _later_today(now: datetime, timezone: str) -> datetime:
    """A time still ahead today in the owner's zone (or shortly after now, late in the evening)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    end = datetime.combine(local.date(), time(23, 30), zone)
    return now + min(timedelta(hours=2), max(end - now, timedelta(minutes=10)))


async def seed_customers(services: Services, owners: dict[str, Actor]) -> int:
    """Create the demo customers, contacts, leads, history and follow-ups; returns how many customers."""
    now = services.clock.now()
    count = 0
    for username, customers in CUSTOMERS.items():
        owner = owners[username]
        for demo in customers:
            customer = await services.customers.customers.create(owner, CustomerDraft(
                name=demo.name, kind=demo.kind, short_name=demo.short_name, phones=demo.phones, email=demo.email,
                region=demo.region, industry=demo.industry, classification=demo.classification, tier=demo.tier,
                tags=demo.tags, source="demo"), force=True)  # the demo list has no duplicates to check for
            count += 1
            for name, title, phone in demo.contacts:
                await services.customers.contacts.add(owner, customer.id, name, title=title, phone_list=(phone,))
            target = Target(EntityKind.CUSTOMER, customer.id)
            for days_ago, kind, text in demo.history:
                await services.followups.followups.log(owner, target, kind, text,
                                                       occurred_at=now - timedelta(days=days_ago))
            for hours, text in demo.next_steps:
                due = _later_today(now, owner.timezone) if hours == TODAY else now + timedelta(hours=hours)
                await services.followups.followups.plan(owner, target, due, text)
    for username, name, phone, company in LEADS:
        await services.customers.leads.create(owners[username], name, phone_list=(phone,), company_name=company,
                                    source="demo")
    return count
