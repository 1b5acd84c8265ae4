"""The competitor archive: competitors and their facts, products seen, intel from the field, the opportunities
they are met on, and who won the lost ones.

Who may do what:
- Reading competitors, their card and ``/competitors``: ``intel.create``, ``competitors.manage`` or ``sales.view``.
- ``intel.create``: capture intel (always the actor's own) and name a new competitor from it (a name only).
- ``competitors.manage``: edit a competitor's facts, add the products seen, delete and restore.
- Intel is read within the ``sales`` query scope of its author (as customers are within theirs), and so are
  the win/loss figures (by the opportunities' owners).
- Linking competitors to an opportunity: as changing the opportunity (its owner with ``sales.create``, anyone
  in scope with ``sales.edit``). The lost-opportunity question is answered by its owner only.
Every change writes its audit row in the same transaction; deletes are soft.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crm.competitors.model import (
    FACT_LIMIT,
    FACTS,
    NAME_LIMIT,
    REASON_LIMIT,
    TEXT_LIMIT,
    Competitor,
    CompetitorCard,
    CompetitorProduct,
    Intel,
    IntelDraft,
    IntelItem,
    IntelKind,
    LossAnswer,
    LossQuestion,
    OpportunityLinks,
    PriceComparison,
    PriceSide,
    WinLoss,
    name_key,
)
from crm.competitors.ports import CompetitorsUnitOfWork, FileStore
from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.names import clean
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.opportunity_model import Opportunity, typed_names

PAGE = 5  # intel items on the card per page
LIST_PAGE = 20
MAX_PRICE = Decimal(10) ** 12
ENTITY = "competitor"


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def clean_name(name: str) -> str:
    text = clean(name).strip("\"“”「」")
    if not text:
        raise ValidationFailed("competitors.error_name")
    if len(text) > NAME_LIMIT:
        raise ValidationFailed("error.field_too_long", field="name", limit=NAME_LIMIT)
    return text


def _limited(value: str | None, field: str, limit: int) -> str | None:
    text = clean(value) or None
    if text is not None and len(text) > limit:
        raise ValidationFailed("error.field_too_long", field=field, limit=limit)
    return text


def _price(amount: Decimal, currency: str) -> tuple[Decimal, str]:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount >= MAX_PRICE:
        raise ValidationFailed("competitors.error_price")
    code = str(currency).strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValidationFailed("competitors.error_price")
    return amount, code


def quarter_of(day: date) -> tuple[date, date]:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    after = date(first.year + (first.month + 3 > 12), (first.month + 2) % 12 + 1, 1)
    return first, after


def similar(name: str, names: Sequence[tuple[int, str]], *, limit: int = 5) -> list[tuple[int, str]]:
    """Existing names that look like ``name``: one contains the other, or they share most characters."""
    key = name_key(name)
    scored: list[tuple[float, int, str]] = []
    for competitor_id, other in names:
        other_key = name_key(other)
        if not other_key or not key:
            continue
        if key in other_key or other_key in key:
            scored.append((1.0, competitor_id, other))
            continue
        shared = len(set(key.replace(" ", "")) & set(other_key.replace(" ", "")))
        score = shared / max(len(set(key.replace(" ", ""))), len(set(other_key.replace(" ", ""))))
        if score >= 0.6:
            scored.append((score, competitor_id, other))
    scored.sort(key=lambda s: (-s[0], s[2]))
    return [(competitor_id, other) for _, competitor_id, other in scored[:limit]]


class CompetitorService:
    def __init__(self, uow: UnitOfWorkFactory[CompetitorsUnitOfWork], clock: Clock, *, currency: str = "TWD",
                 files: FileStore | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._files = files
        self.currency = currency  # a price typed without a currency is in this one

    # ---- who may ----------------------------------------------------------------------------------------------

    @staticmethod
    def may_read(actor: Actor) -> bool:
        return any(actor.can(op) for op in ("intel.create", "competitors.manage", "sales.view"))

    def _read(self, actor: Actor) -> None:
        if not self.may_read(actor):
            raise PermissionDenied(operation="intel.create")

    @staticmethod
    def _name_new(actor: Actor) -> None:
        if not (actor.can("intel.create") or actor.can("competitors.manage")):
            raise PermissionDenied(operation="competitors.manage")

    def _today(self, actor: Actor) -> date:
        return self._clock.now().astimezone(ZoneInfo(actor.timezone)).date()

    @staticmethod
    async def _live(uow: CompetitorsUnitOfWork, competitor_id: int) -> Competitor:
        competitor = await uow.competitors.competitors.get(competitor_id)
        if competitor is None:
            raise NotFound()
        return competitor

    # ---- competitors ------------------------------------------------------------------------------------------

    async def listed(self, actor: Actor, *, page: int = 0, deleted: bool = False
                     ) -> tuple[Sequence[Competitor], bool]:
        self._read(actor)
        if deleted:
            actor.require("competitors.manage")
        async with self._uow(write=False) as uow:
            rows = await uow.competitors.competitors.listed(deleted=deleted, limit=LIST_PAGE + 1,
                                                            offset=max(page, 0) * LIST_PAGE)
        return rows[:LIST_PAGE], len(rows) > LIST_PAGE

    async def names(self, actor: Actor) -> Sequence[tuple[int, str]]:
        self._read(actor)
        async with self._uow(write=False) as uow:
            return await uow.competitors.competitors.names()

    async def named(self, actor: Actor, name: str) -> tuple[Competitor | None, list[tuple[int, str]]]:
        """The competitor of that name, or the similar names to offer."""
        self._read(actor)
        key = name_key(clean(name))
        async with self._uow(write=False) as uow:
            found = await uow.competitors.competitors.by_key(key) if key else None
            if found is not None:
                return found, []
            return None, similar(name, await uow.competitors.competitors.names())

    async def create(self, actor: Actor, name: str) -> Competitor:
        self._name_new(actor)
        text = clean_name(name)
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.competitors.competitors.by_key(name_key(text)) is not None:
                raise Conflict("competitors.error_taken", name=text)
            competitor = await uow.competitors.competitors.add(Competitor(
                id=0, name=text, created_by=actor.staff_id, created_at=now, updated_at=now), name_key(text))
            await audit.record(uow, actor.staff_id, "create", ENTITY, competitor.id, {}, {"name": text})
            await uow.commit()
        return competitor

    async def get(self, actor: Actor, competitor_id: int) -> Competitor:
        self._read(actor)
        async with self._uow(write=False) as uow:
            return await self._live(uow, competitor_id)

    async def update(self, actor: Actor, competitor_id: int, field: str, value: str | None) -> Competitor:
        """One fact, or the name (still unique)."""
        actor.require("competitors.manage")
        if field not in (*FACTS, "name"):
            raise ValidationFailed("error.invalid")
        new = clean_name(value or "") if field == "name" else _limited(value, field, FACT_LIMIT)
        async with self._uow() as uow:
            before = await self._live(uow, competitor_id)
            old = getattr(before, field)
            if new == old:
                return before
            extra: dict[str, Any] = {}
            if field == "name":
                assert new is not None
                other = await uow.competitors.competitors.by_key(name_key(new))
                if other is not None and other.id != competitor_id:
                    raise Conflict("competitors.error_taken", name=new)
                extra = {"name_key": name_key(new)}
            await uow.competitors.competitors.update(competitor_id, **{field: new}, **extra,
                                                     updated_at=self._clock.now())
            await audit.record(uow, actor.staff_id, "update", ENTITY, competitor_id, {field: old}, {field: new})
            after = await self._live(uow, competitor_id)
            await uow.commit()
        return after

    async def delete(self, actor: Actor, competitor_id: int) -> None:
        actor.require("competitors.manage")
        now = self._clock.now()
        async with self._uow() as uow:
            await self._live(uow, competitor_id)
            await uow.competitors.competitors.update(competitor_id, deleted_at=now, updated_at=now)
            await audit.record(uow, actor.staff_id, "delete", ENTITY, competitor_id, {"deleted_at": None},
                               {"deleted_at": now.isoformat()})
            await uow.commit()

    async def restore(self, actor: Actor, competitor_id: int) -> Competitor:
        """Back from the trash, unless a live competitor has taken its name meanwhile."""
        actor.require("competitors.manage")
        now = self._clock.now()
        async with self._uow() as uow:
            competitor = await uow.competitors.competitors.get(competitor_id, include_deleted=True)
            if competitor is None or competitor.deleted_at is None:
                raise NotFound()
            if await uow.competitors.competitors.by_key(name_key(competitor.name)) is not None:
                raise Conflict("competitors.error_taken", name=competitor.name)
            await uow.competitors.competitors.update(competitor_id, deleted_at=None, updated_at=now)
            await audit.record(uow, actor.staff_id, "restore", ENTITY, competitor_id,
                               {"deleted_at": competitor.deleted_at.isoformat()}, {"deleted_at": None})
            await uow.commit()
        return replace(competitor, deleted_at=None, updated_at=now)

    async def add_product(self, actor: Actor, competitor_id: int, name: str, price: Decimal, currency: str | None,
                          category_id: int | None = None, seen_on: date | None = None) -> CompetitorProduct:
        actor.require("competitors.manage")
        product_name = clean_name(name)
        amount, code = _price(price, currency or self.currency)
        when = seen_on or self._today(actor)
        if when > self._today(actor):
            raise ValidationFailed("competitors.error_future")
        now = self._clock.now()
        async with self._uow() as uow:
            await self._live(uow, competitor_id)
            if category_id is not None and await uow.sales.categories.get(category_id) is None:
                raise NotFound()
            product = await uow.competitors.products.add(CompetitorProduct(
                id=0, competitor_id=competitor_id, name=product_name, price=amount, currency=code, seen_on=when,
                category_id=category_id, created_at=now))
            await audit.record(uow, actor.staff_id, "create", "competitor_product", product.id, {},
                               {k: _plain(v) for k, v in asdict(product).items()})
            await uow.commit()
        return product

    # ---- intel ------------------------------------------------------------------------------------------------

    async def add_intel(self, actor: Actor, draft: IntelDraft) -> Intel:
        """The actor's own intel on a live competitor (and a customer they may see)."""
        actor.require("intel.create")
        text = _limited(draft.text, "text", TEXT_LIMIT)
        if text is None:
            raise ValidationFailed("competitors.error_text")
        price, currency = (None, None) if draft.price is None else _price(draft.price, draft.currency or self.currency)
        if draft.seen_on > self._today(actor):
            raise ValidationFailed("competitors.error_future")
        now = self._clock.now()
        async with self._uow() as uow:
            await self._live(uow, draft.competitor_id)
            if draft.customer_id is not None:
                await visible_customer(uow, actor, draft.customer_id)
            intel = await uow.competitors.intel.add(Intel(
                **{**asdict(draft), "text": text, "price": price, "currency": currency}, id=0,
                staff_id=actor.staff_id, created_at=now))
            await audit.record(uow, actor.staff_id, "create", "competitor_intel", intel.id, {},
                               {k: _plain(v) for k, v in asdict(intel).items()})
            await uow.commit()
        return intel

    async def keep_file(self, actor: Actor, intel_id: int, data: bytes) -> str | None:
        """A copy of the actor's own intel photo under DATA_DIR (None where no store is wired)."""
        actor.require("intel.create")
        if self._files is None:
            return None
        async with self._uow() as uow:
            intel = await uow.competitors.intel.get(intel_id)
            if intel is None or intel.staff_id != actor.staff_id or not intel.file_id:
                raise NotFound()
            try:
                path = self._files.save(intel_id, data)
            except ValueError as exc:
                raise ValidationFailed("competitors.error_file_size") from exc
            await uow.competitors.intel.update(intel_id, file_path=path)
            await audit.record(uow, actor.staff_id, "update", "competitor_intel", intel_id, {"file_path": None},
                               {"file_path": path})
            await uow.commit()
        return path

    async def intel(self, actor: Actor, intel_id: int) -> Intel:
        """One intel item the actor may read (its author in their sales scope)."""
        self._read(actor)
        async with self._uow(write=False) as uow:
            intel = await uow.competitors.intel.get(intel_id)
            if intel is None:
                raise NotFound()
            author = await uow.organisation.staff.get(intel.staff_id)
            if author is None or not actor.scope_filter("sales").allows(author.id, author.department_id):
                raise NotFound()
            return intel

    async def _changeable(self, uow: CompetitorsUnitOfWork, actor: Actor, intel_id: int, *,
                          deleted: bool = False) -> Intel:
        """Intel the actor may change: their own (``intel.create``), or any in their ``sales`` scope for holders of
        ``competitors.manage``; anything else is "not found"."""
        intel = await uow.competitors.intel.get(intel_id, include_deleted=True)
        if intel is None or (intel.deleted_at is not None) != deleted:
            raise NotFound()
        if intel.staff_id == actor.staff_id and actor.can("intel.create"):
            return intel
        author = await uow.organisation.staff.get(intel.staff_id)
        if (actor.can("competitors.manage") and author is not None
                and actor.scope_filter("sales").allows(author.id, author.department_id)):
            return intel
        raise NotFound()

    def may_change(self, actor: Actor, intel: Intel) -> bool:
        """Whether to offer ✏️ on an item the actor can read (the service checks again on every change)."""
        return (intel.staff_id == actor.staff_id and actor.can("intel.create")) or actor.can("competitors.manage")

    async def intel_item(self, actor: Actor, intel_id: int) -> IntelItem:
        """One intel item with its author's and customer's names, for its own screen."""
        intel = await self.intel(actor, intel_id)
        async with self._uow(write=False) as uow:
            return (await self._items(uow, [intel]))[0]

    async def edit_intel(self, actor: Actor, intel_id: int, changes: dict[str, Any]) -> IntelItem:
        """Change the text, the kind, the price (``price`` None: no price) or the day it was seen; audited."""
        if set(changes) - {"text", "kind", "price", "currency", "seen_on"}:
            raise ValidationFailed("error.invalid")
        values = dict(changes)
        if "text" in values:
            values["text"] = _limited(values["text"], "text", TEXT_LIMIT)
            if values["text"] is None:
                raise ValidationFailed("competitors.error_text")
        if "kind" in values:
            values["kind"] = IntelKind(values["kind"])
        if "price" in values:
            if values["price"] is None:
                values["currency"] = None
            else:
                values["price"], values["currency"] = _price(values["price"],
                                                             values.get("currency") or self.currency)
        if "seen_on" in values and values["seen_on"] > self._today(actor):
            raise ValidationFailed("competitors.error_future")
        async with self._uow() as uow:
            before = await self._changeable(uow, actor, intel_id)
            changed = {k: v for k, v in values.items() if getattr(before, k) != v}
            if changed:
                await uow.competitors.intel.update(
                    intel_id, **{k: v.value if isinstance(v, IntelKind) else v for k, v in changed.items()})
                await audit.record(uow, actor.staff_id, "update", "competitor_intel", intel_id,
                                   {k: _plain(getattr(before, k)) for k in changed},
                                   {k: _plain(v) for k, v in changed.items()})
            after = await uow.competitors.intel.get(intel_id)
            if after is None:
                raise NotFound()
            item = (await self._items(uow, [after]))[0]
            await uow.commit()
        return item

    async def delete_intel(self, actor: Actor, intel_id: int) -> Intel:
        """Soft: out of the card, restorable, audited."""
        async with self._uow() as uow:
            intel = await self._changeable(uow, actor, intel_id)
            now = self._clock.now()
            await uow.competitors.intel.update(intel_id, deleted_at=now)
            await audit.record(uow, actor.staff_id, "delete", "competitor_intel", intel_id, {"deleted_at": None},
                               {"deleted_at": _plain(now)})
            await uow.commit()
        return intel

    async def restore_intel(self, actor: Actor, intel_id: int) -> Intel:
        async with self._uow() as uow:
            intel = await self._changeable(uow, actor, intel_id, deleted=True)
            await uow.competitors.intel.update(intel_id, deleted_at=None)
            await audit.record(uow, actor.staff_id, "restore", "competitor_intel", intel_id,
                               {"deleted_at": _plain(intel.deleted_at)}, {"deleted_at": None})
            await uow.commit()
        return replace(intel, deleted_at=None)

    async def _items(self, uow: CompetitorsUnitOfWork, rows: Sequence[Intel]) -> tuple[IntelItem, ...]:
        items: list[IntelItem] = []
        for row in rows:
            staff = await uow.organisation.staff.get(row.staff_id)
            customer = (await uow.customers.customers.get(row.customer_id, include_deleted=True)
                        if row.customer_id is not None else None)
            items.append(IntelItem(row, staff.name if staff else "?", customer.name if customer else None))
        return tuple(items)

    # ---- the card ---------------------------------------------------------------------------------------------

    def _quarters(self, actor: Actor) -> list[tuple[date, date]]:
        this = quarter_of(self._today(actor))
        return [this, quarter_of(this[0] - timedelta(days=1))]

    def _utc(self, actor: Actor, day: date) -> datetime:
        return datetime.combine(day, time(), ZoneInfo(actor.timezone)).astimezone(UTC)

    async def card(self, actor: Actor, competitor_id: int, *, page: int = 0) -> CompetitorCard:
        self._read(actor)
        page = max(page, 0)
        async with self._uow(write=False) as uow:
            competitor = await self._live(uow, competitor_id)
            products = tuple(await uow.competitors.products.of(competitor_id))
            rows = await uow.competitors.intel.listed(actor.scope_filter("sales"), competitor_id, limit=PAGE + 1,
                                                      offset=page * PAGE)
            items = await self._items(uow, rows[:PAGE])
            figures = []
            for since, before in self._quarters(actor):
                won, lost, theirs = await uow.competitors.links.win_loss(
                    actor.scope_filter("sales"), competitor_id, self._utc(actor, since), self._utc(actor, before))
                figures.append(WinLoss(since, before, won, lost, theirs))
            categories = sorted({p.category_id for p in products if p.category_id is not None})
            ours = await uow.competitors.products.ours(categories, per_category=5) if categories else {}
            names = await uow.competitors.products.category_names(categories) if categories else {}
        prices = tuple(
            PriceComparison(names.get(c, "?"),
                            tuple(PriceSide(p.name, p.money, p.seen_on) for p in products if p.category_id == c),
                            tuple(ours.get(c, ())))
            for c in categories)
        return CompetitorCard(competitor, products, items, len(rows) > PAGE, tuple(figures), prices)

    # ---- opportunities ----------------------------------------------------------------------------------------

    @staticmethod
    async def _opportunity(uow: CompetitorsUnitOfWork, actor: Actor, opportunity_id: int, *, change: bool
                           ) -> Opportunity:
        """As the sales module decides: visible within the sales scope; changed by its owner with sales.create
        or by anyone in scope with sales.edit."""
        actor.require("sales.view")
        opportunity = await uow.sales.opportunities.get(opportunity_id)
        if opportunity is None:
            raise NotFound()
        owner = await uow.organisation.staff.get(opportunity.owner_id)
        if not actor.scope_filter("sales").allows(opportunity.owner_id, owner.department_id if owner else None):
            raise NotFound()
        if change and not (actor.can("sales.edit")
                           or (actor.can("sales.create") and opportunity.owner_id == actor.staff_id)):
            raise PermissionDenied(operation="sales.edit")
        return opportunity

    async def _links(self, uow: CompetitorsUnitOfWork, opportunity: Opportunity) -> OpportunityLinks:
        linked_ids = set(await uow.competitors.links.linked(opportunity.id))
        every = await uow.competitors.competitors.listed(limit=10_000)
        return OpportunityLinks(opportunity.id, opportunity.title,
                                tuple(c for c in every if c.id in linked_ids),
                                tuple(c for c in every if c.id not in linked_ids),
                                typed_names(opportunity.competitors_typed))

    async def _forget_typed(self, uow: CompetitorsUnitOfWork, actor: Actor, opportunity: Opportunity,
                            competitor: Competitor, also: str | None = None) -> Opportunity:
        """A name kept from the free text that is now a link leaves the kept line (audited); ``also``: the kept
        name a similar competitor was picked for."""
        names = typed_names(opportunity.competitors_typed)
        gone = {name_key(competitor.name), name_key(also or competitor.name)}
        left = tuple(n for n in names if name_key(n) not in gone)
        if left == names:
            return opportunity
        kept = ", ".join(left) or None
        await uow.sales.opportunities.update(opportunity.id, competitors_typed=kept)
        await audit.record(uow, actor.staff_id, "update", "opportunity", opportunity.id,
                           {"competitors_typed": opportunity.competitors_typed}, {"competitors_typed": kept})
        return replace(opportunity, competitors_typed=kept)

    async def links(self, actor: Actor, opportunity_id: int) -> OpportunityLinks:
        async with self._uow(write=False) as uow:
            opportunity = await self._opportunity(uow, actor, opportunity_id, change=False)
            return await self._links(uow, opportunity)

    async def toggle(self, actor: Actor, opportunity_id: int, competitor_id: int) -> OpportunityLinks:
        """Link the competitor to the opportunity, or unlink it when it is linked."""
        async with self._uow() as uow:
            opportunity = await self._opportunity(uow, actor, opportunity_id, change=True)
            competitor = await self._live(uow, competitor_id)
            linked = competitor_id in await uow.competitors.links.linked(opportunity_id)
            if linked:
                await uow.competitors.links.unlink(opportunity_id, competitor_id)
            else:
                await uow.competitors.links.link(opportunity_id, competitor_id, self._clock.now())
                opportunity = await self._forget_typed(uow, actor, opportunity, competitor)
            await audit.record(uow, actor.staff_id, "unlink" if linked else "link", "opportunity_competitor",
                               opportunity_id, {"competitor_id": competitor_id if linked else None},
                               {"competitor_id": None if linked else competitor_id})
            result = await self._links(uow, opportunity)
            await uow.commit()
        return result

    async def link_named(self, actor: Actor, opportunity_id: int, name: str) -> OpportunityLinks:
        """Name a competitor on the opportunity by typing it, after the "create?" question was answered: the
        archive's competitor of that (folded) name is linked, else a new one is created and linked — in one
        transaction, after the opportunity is known to be the actor's to change. Audited as both."""
        self._name_new(actor)
        text = clean_name(name)
        now = self._clock.now()
        async with self._uow() as uow:
            opportunity = await self._opportunity(uow, actor, opportunity_id, change=True)
            competitor = await uow.competitors.competitors.by_key(name_key(text))
            if competitor is None:
                competitor = await uow.competitors.competitors.add(Competitor(
                    id=0, name=text, created_by=actor.staff_id, created_at=now, updated_at=now), name_key(text))
                await audit.record(uow, actor.staff_id, "create", ENTITY, competitor.id, {}, {"name": text})
            if competitor.id not in await uow.competitors.links.linked(opportunity_id):
                await uow.competitors.links.link(opportunity_id, competitor.id, now)
                await audit.record(uow, actor.staff_id, "link", "opportunity_competitor", opportunity_id,
                                   {"competitor_id": None}, {"competitor_id": competitor.id})
            opportunity = await self._forget_typed(uow, actor, opportunity, competitor)
            result = await self._links(uow, opportunity)
            await uow.commit()
        return result

    async def link(self, actor: Actor, opportunity_id: int, competitor_id: int, *, for_name: str | None = None
                   ) -> OpportunityLinks:
        """Link (never unlink) a competitor of the archive: a name typed that was found, or a similar one
        picked."""
        async with self._uow() as uow:
            opportunity = await self._opportunity(uow, actor, opportunity_id, change=True)
            competitor = await self._live(uow, competitor_id)
            if competitor_id not in await uow.competitors.links.linked(opportunity_id):
                await uow.competitors.links.link(opportunity_id, competitor_id, self._clock.now())
                await audit.record(uow, actor.staff_id, "link", "opportunity_competitor", opportunity_id,
                                   {"competitor_id": None}, {"competitor_id": competitor_id})
            opportunity = await self._forget_typed(uow, actor, opportunity, competitor, for_name)
            result = await self._links(uow, opportunity)
            await uow.commit()
        return result

    # ---- who won a lost opportunity ---------------------------------------------------------------------------

    async def _question(self, uow: CompetitorsUnitOfWork, opportunity_id: int) -> LossQuestion | None:
        row = await uow.competitors.losses.get(opportunity_id)
        opportunity = await uow.sales.opportunities.get(opportunity_id)
        if row is None or opportunity is None:
            return None
        owner_id, _, answer, winner, why = row
        owner = await uow.organisation.staff.get(owner_id)
        customer = await uow.customers.customers.get(opportunity.customer_id, include_deleted=True)
        linked_ids = set(await uow.competitors.links.linked(opportunity_id))
        linked = tuple(c for c in await uow.competitors.competitors.listed(limit=10_000) if c.id in linked_ids)
        return LossQuestion(opportunity_id, opportunity.title, customer.name if customer else "?", owner_id,
                            owner.telegram_user_id if owner and owner.active else None,
                            owner.locale if owner else None, linked, answer, winner, why)

    async def unasked(self) -> Sequence[LossQuestion]:
        """Questions not pushed yet (for the job; no actor: it reads on nobody's behalf and tells only owners)."""
        async with self._uow(write=False) as uow:
            ids = await uow.competitors.losses.unasked(limit=50)
            found = [await self._question(uow, i) for i in ids]
        return [q for q in found if q is not None]

    async def asked(self, opportunity_id: int) -> None:
        async with self._uow() as uow:
            await uow.competitors.losses.update(opportunity_id, asked_at=self._clock.now())
            await uow.commit()

    async def question(self, actor: Actor, opportunity_id: int) -> LossQuestion:
        """The owner's open question (answered ones are a Conflict)."""
        async with self._uow(write=False) as uow:
            question = await self._question(uow, opportunity_id)
        if question is None or question.owner_id != actor.staff_id:
            raise NotFound()
        if question.answer is not None:
            raise Conflict("competitors.error_answered")
        return question

    async def answer(self, actor: Actor, opportunity_id: int, answer: LossAnswer, winner_id: int | None = None
                     ) -> LossQuestion:
        """The owner says who won: a linked competitor, another one, or nobody. Once."""
        if (answer is LossAnswer.COMPETITOR) != (winner_id is not None):
            raise ValidationFailed("error.invalid")
        async with self._uow() as uow:
            question = await self._question(uow, opportunity_id)
            if question is None or question.owner_id != actor.staff_id:
                raise NotFound()
            if question.answer is not None:
                raise Conflict("competitors.error_answered")
            if winner_id is not None and winner_id not in {c.id for c in question.linked}:
                raise NotFound()
            await uow.competitors.losses.update(opportunity_id, answer=answer.value, winner_id=winner_id,
                                                answered_at=self._clock.now())
            await audit.record(uow, actor.staff_id, "lost_to", "opportunity", opportunity_id,
                               {"answer": None}, {"answer": answer.value, "winner_id": winner_id})
            await uow.commit()
        return replace(question, answer=answer, winner_id=winner_id)

    async def why(self, actor: Actor, opportunity_id: int, reason: str) -> LossQuestion:
        """Why they won: typed after the answer, by the owner."""
        text = _limited(reason, "reason", REASON_LIMIT)
        if text is None:
            raise ValidationFailed("competitors.error_text")
        async with self._uow() as uow:
            question = await self._question(uow, opportunity_id)
            if question is None or question.owner_id != actor.staff_id or question.answer is None:
                raise NotFound()
            await uow.competitors.losses.update(opportunity_id, why=text)
            await audit.record(uow, actor.staff_id, "lost_why", "opportunity", opportunity_id,
                               {"why": question.why}, {"why": text})
            await uow.commit()
        return replace(question, why=text)

    async def category_named(self, actor: Actor, name: str) -> tuple[int, str] | None:
        """Our catalog's product category of that name (for a competitor's product), when there is exactly one."""
        self._read(actor)
        async with self._uow(write=False) as uow:
            found = await uow.sales.categories.by_name(clean(name))
        return (found[0].id, found[0].name) if len(found) == 1 else None
