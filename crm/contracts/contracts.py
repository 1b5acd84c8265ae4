"""Contracts: create, read, change, terminate, renew, delete and restore them, attach a file, and keep each one's
renewal reminder in step.

Who may do what:
- Reading needs ``sales.view``, within the ``sales`` query scope of the contract's owner (a rep: their own; a
  manager: their department tree). Out of scope is "not found", also for a forged button press.
- Changing needs ``contracts.manage`` as well, on a contract the actor may read. A new contract goes on a
  customer the actor may see; its owner is the customer's owner unless another person in the actor's ``sales``
  scope is named.
Every change writes its audit row in the same transaction; deletes are soft and restorable.

The renewal reminder is a follow-up row on the customer, owned by the contract's owner (``Contract.reminder_id``):
the follow-ups module's reminder job delivers it (durably, late rather than never) and shows it on the agenda.
Moving the end date or the days moves it; terminating, renewing or deleting the contract cancels it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.contracts.model import (
    DEFAULT_REMIND_DAYS,
    MAX_REMIND_DAYS,
    REASON_LIMIT,
    TERMS_LIMIT,
    TITLE_LIMIT,
    Contract,
    ContractCard,
    ContractFields,
    Status,
    contract_number,
    reminder_text,
)
from crm.contracts.ports import ContractFiles, ContractsUnitOfWork
from crm.contracts.renewal import remind_at
from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.customers.model import FollowUp, FollowUpStatus
from crm.organisation import audit
from crm.organisation.model import Staff
from crm.organisation.permissions import Actor

MAX_VALUE = Decimal(10) ** 13
MAX_FILE_BYTES = 20 * 1024 * 1024  # what a bot may download from Telegram
PAGE = 8
EDITABLE = ("title", "value", "currency", "starts_on", "ends_on", "terms", "remind_days")
_FIELDS = tuple(f.name for f in fields(ContractFields))


@dataclass(frozen=True)
class Attachment:
    """A document or photo sent in chat: its Telegram file id, its name and its bytes (for the copy)."""

    file_id: str
    name: str
    data: bytes


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def auditable(contract: ContractFields) -> dict[str, Any]:
    values = {name: _plain(getattr(contract, name)) for name in _FIELDS}
    for name in ("number", "status", "file_name"):
        if hasattr(contract, name):
            values[name] = getattr(contract, name)
    return values


def one_line(text: str | None, limit: int, field: str) -> str | None:
    cleaned = " ".join((text or "").split()) or None
    if cleaned is not None and len(cleaned) > limit:
        raise ValidationFailed("error.field_too_long", field=field, limit=limit)
    return cleaned


def clean(draft: ContractFields) -> ContractFields:
    title = one_line(draft.title, TITLE_LIMIT, "title")
    if title is None:
        raise ValidationFailed("contracts.error_title")
    value = draft.value
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0 or value >= MAX_VALUE:
        raise ValidationFailed("contracts.error_value")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed("contracts.error_value")
    currency = str(draft.currency).strip().upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise ValidationFailed("contracts.error_currency")
    if not isinstance(draft.starts_on, date) or not isinstance(draft.ends_on, date):
        raise ValidationFailed("contracts.error_date")
    if draft.ends_on < draft.starts_on:
        raise ValidationFailed("contracts.error_end_before_start")
    if not isinstance(draft.remind_days, int) or not 0 <= draft.remind_days <= MAX_REMIND_DAYS:
        raise ValidationFailed("contracts.error_days", limit=MAX_REMIND_DAYS)
    terms = (draft.terms or "").strip() or None
    if terms is not None and len(terms) > TERMS_LIMIT:
        raise ValidationFailed("error.field_too_long", field="terms", limit=TERMS_LIMIT)
    return replace(draft, title=title, value=value, currency=currency, terms=terms)


def reason_text(reason: str | None) -> str:
    text = one_line(reason, REASON_LIMIT, "reason")
    if text is None:
        raise ValidationFailed("contracts.error_reason")
    return text


def _zone(name: str | None, default: str) -> str:
    for candidate in (name, default):
        if candidate:
            try:
                ZoneInfo(candidate)
                return candidate
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return "UTC"


class ContractService:
    def __init__(self, uow: UnitOfWorkFactory[ContractsUnitOfWork], clock: Clock, files: ContractFiles, *,
                 prefix: str = "C", currency: str = "TWD", default_timezone: str = "UTC") -> None:
        self._uow = uow
        self._clock = clock
        self._files = files
        self.prefix = prefix
        self.currency = currency  # a value typed without a currency is in this one
        self.default_timezone = default_timezone

    # ---- reading ----------------------------------------------------------------------------------------------

    def _today(self, actor: Actor) -> date:
        return self._clock.now().astimezone(ZoneInfo(_zone(actor.timezone, self.default_timezone))).date()

    async def _visible(self, uow: ContractsUnitOfWork, actor: Actor, contract_id: int, *,
                       deleted: bool = False) -> Contract:
        actor.require("sales.view")
        contract = await uow.contracts.contracts.get(contract_id, include_deleted=deleted)
        if contract is None or (deleted and contract.deleted_at is None):
            raise NotFound()
        owner = await uow.organisation.staff.get(contract.owner_id)
        if owner is None or not actor.scope_filter("sales").allows(owner.id, owner.department_id):
            raise NotFound()
        return contract

    async def _manageable(self, uow: ContractsUnitOfWork, actor: Actor, contract_id: int, *,
                          deleted: bool = False) -> Contract:
        actor.require("contracts.manage")
        return await self._visible(uow, actor, contract_id, deleted=deleted)

    async def _card(self, uow: ContractsUnitOfWork, actor: Actor, contract: Contract) -> ContractCard:
        customer = await uow.customers.customers.get(contract.customer_id, include_deleted=True)
        owner = await uow.organisation.staff.get(contract.owner_id)
        return ContractCard(contract, customer.name if customer else "?", owner.name if owner else "?",
                            self._today(actor))

    async def card(self, actor: Actor, contract_id: int) -> ContractCard:
        async with self._uow(write=False) as uow:
            return await self._card(uow, actor, await self._visible(uow, actor, contract_id))

    async def manageable(self, actor: Actor, contract_id: int) -> ContractCard:
        """The card, when the actor may change the contract (before asking them for a reason or a date)."""
        async with self._uow(write=False) as uow:
            return await self._card(uow, actor, await self._manageable(uow, actor, contract_id))

    async def listed(self, actor: Actor, *, page: int = 0, deleted: bool = False
                     ) -> tuple[Sequence[ContractCard], bool]:
        """A page of the contracts in the actor's ``sales`` scope (active, ending soonest, first), and whether
        there are more. ``deleted``: the trash, for those who may restore."""
        actor.require("contracts.manage" if deleted else "sales.view")
        async with self._uow(write=False) as uow:
            rows = await uow.contracts.contracts.listed(actor.scope_filter("sales"), deleted=deleted,
                                                        offset=page * PAGE, limit=PAGE + 1)
            cards = [await self._card(uow, actor, c) for c in rows[:PAGE]]
        return cards, len(rows) > PAGE

    async def for_customer(self, uow: ContractsUnitOfWork, actor: Actor, customer_id: int, limit: int
                           ) -> Sequence[ContractCard]:
        """The customer card's section: the customer's contracts the actor may read (none without
        ``sales.view``), in the card's own unit of work."""
        if not actor.can("sales.view"):
            return ()
        rows = await uow.contracts.contracts.listed(actor.scope_filter("sales"), customer_id=customer_id,
                                                    limit=limit)
        return [await self._card(uow, actor, c) for c in rows]

    # ---- the renewal reminder ---------------------------------------------------------------------------------

    async def _owner(self, uow: ContractsUnitOfWork, staff_id: int) -> Staff:
        owner = await uow.organisation.staff.get(staff_id)
        if owner is None:
            raise NotFound()
        return owner

    async def _rearm(self, uow: ContractsUnitOfWork, contract: Contract, *, moved: bool = True) -> None:
        """Put the reminder where the contract says: moved (and sent again) when its time changed, cancelled when
        the contract is no longer live or has ended, a new row when the old one was done or cancelled. Not
        ``moved`` (the title changed): only the open reminder's text follows."""
        now = self._clock.now()
        due: datetime | None = None
        if contract.live:
            owner = await self._owner(uow, contract.owner_id)
            due = remind_at(contract.ends_on, contract.remind_days,
                            _zone(owner.timezone, self.default_timezone), now)
        followups = uow.customers.followups
        current = await followups.get(contract.reminder_id) if contract.reminder_id is not None else None
        is_open = current is not None and current.status is FollowUpStatus.OPEN
        if due is None:
            if current is not None and is_open:
                await followups.update(current.id, status=FollowUpStatus.CANCELLED.value, completed_at=now)
            return
        if not moved:
            if current is not None and is_open:
                await followups.update(current.id, text=reminder_text(contract))
            return
        if current is not None and is_open:
            await followups.update(current.id, due_at=due, owner_id=contract.owner_id, text=reminder_text(contract),
                                   customer_id=contract.customer_id, remind_state="pending", claimed_by=None,
                                   claimed_until=None, reminded_at=None, reminded_late=False)
            return
        added = await followups.add(FollowUp(id=0, customer_id=contract.customer_id, owner_id=contract.owner_id,
                                             text=reminder_text(contract), due_at=due, created_at=now))
        await uow.contracts.contracts.update(contract.id, reminder_id=added.id)

    async def _close_reminder(self, uow: ContractsUnitOfWork, contract: Contract, status: FollowUpStatus) -> None:
        if contract.reminder_id is None:
            return
        current = await uow.customers.followups.get(contract.reminder_id)
        if current is not None and current.status is FollowUpStatus.OPEN:
            await uow.customers.followups.update(current.id, status=status.value, completed_at=self._clock.now())

    # ---- changing ---------------------------------------------------------------------------------------------

    async def _owner_for(self, uow: ContractsUnitOfWork, actor: Actor, draft: ContractFields,
                         customer_owner: int) -> int:
        owner_id = draft.owner_id if draft.owner_id is not None else customer_owner
        owner = await uow.organisation.staff.get(owner_id)
        if owner is None or not owner.active or not actor.scope_filter("sales").allows(owner.id,
                                                                                       owner.department_id):
            raise ValidationFailed("contracts.error_owner")
        return owner.id

    async def _add(self, uow: ContractsUnitOfWork, actor: Actor, draft: ContractFields,
                   renewed_from: int | None = None) -> Contract:
        customer = await visible_customer(uow, actor, draft.customer_id)
        owner_id = await self._owner_for(uow, actor, draft, customer.owner_id)
        now = self._clock.now()
        sequence = await uow.contracts.contracts.next_number(now.year)
        contract = await uow.contracts.contracts.add(Contract(
            **(asdict(draft) | {"owner_id": owner_id}), id=0, number=contract_number(self.prefix, now.year, sequence),
            status=Status.ACTIVE, created_at=now, updated_at=now, renewed_from=renewed_from))
        await audit.record(uow, actor.staff_id, "create", "contract", contract.id, {}, auditable(contract))
        await self._rearm(uow, contract)
        return contract

    async def _attach(self, uow: ContractsUnitOfWork, actor: Actor, contract: Contract,
                      attachment: Attachment) -> None:
        if not attachment.file_id or len(attachment.file_id) > 200:
            raise ValidationFailed("contracts.error_file")
        if len(attachment.data) > MAX_FILE_BYTES:
            raise ValidationFailed("contracts.error_file_size", limit=MAX_FILE_BYTES // (1024 * 1024))
        stored = await self._files.save(contract.id, attachment.name, attachment.data)
        name = stored.path.rsplit("/", 1)[-1].split("-", 1)[-1]
        await uow.contracts.contracts.update(contract.id, file_id=attachment.file_id, file_name=name,
                                             file_path=stored.path, updated_at=self._clock.now())
        await audit.record(uow, actor.staff_id, "attach", "contract", contract.id,
                           {"file_name": contract.file_name}, {"file_name": name, "size": stored.size})

    async def create(self, actor: Actor, draft: ContractFields, attachment: Attachment | None = None
                     ) -> ContractCard:
        actor.require("contracts.manage")
        actor.require("sales.view")
        fields_ = clean(draft)
        async with self._uow() as uow:
            contract = await self._add(uow, actor, fields_)
            if attachment is not None:
                await self._attach(uow, actor, contract, attachment)
            card = await self._card(uow, actor, await self._reread(uow, contract.id))
            await uow.commit()
        return card

    @staticmethod
    async def _reread(uow: ContractsUnitOfWork, contract_id: int) -> Contract:
        contract = await uow.contracts.contracts.get(contract_id, include_deleted=True)
        if contract is None:
            raise NotFound()
        return contract

    async def update(self, actor: Actor, contract_id: int, changes: Mapping[str, Any]) -> ContractCard:
        """Change fields of a contract; the end date or the days move its reminder."""
        if not changes or set(changes) - set(EDITABLE):
            raise ValidationFailed("error.invalid")
        async with self._uow() as uow:
            before = await self._manageable(uow, actor, contract_id)
            merged = {name: getattr(before, name) for name in _FIELDS} | dict(changes)
            after = clean(ContractFields(**merged))
            changed = {k: getattr(after, k) for k in _FIELDS if getattr(after, k) != getattr(before, k)}
            if changed:
                await uow.contracts.contracts.update(contract_id, **changed, updated_at=self._clock.now())
                await audit.record(uow, actor.staff_id, "update", "contract", contract_id,
                                   {k: _plain(getattr(before, k)) for k in changed},
                                   {k: _plain(v) for k, v in changed.items()})
                if set(changed) & {"ends_on", "remind_days", "title"}:
                    await self._rearm(uow, await self._reread(uow, contract_id),
                                      moved=bool(set(changed) & {"ends_on", "remind_days"}))
            card = await self._card(uow, actor, await self._reread(uow, contract_id))
            await uow.commit()
        return card

    async def attach(self, actor: Actor, contract_id: int, attachment: Attachment) -> ContractCard:
        """Attach (or replace) the contract's file: the Telegram file id and a copy under DATA_DIR."""
        async with self._uow() as uow:
            contract = await self._manageable(uow, actor, contract_id)
            await self._attach(uow, actor, contract, attachment)
            card = await self._card(uow, actor, await self._reread(uow, contract_id))
            await uow.commit()
        return card

    async def file(self, actor: Actor, contract_id: int) -> Contract:
        """The contract whose file the actor asks for (not found when it has none)."""
        async with self._uow(write=False) as uow:
            contract = await self._visible(uow, actor, contract_id)
        if contract.file_id is None:
            raise NotFound()
        return contract

    async def file_copy(self, actor: Actor, contract_id: int) -> bytes:
        """The copy kept under DATA_DIR, for when Telegram no longer knows the file id (another bot token)."""
        contract = await self.file(actor, contract_id)
        if not contract.file_path:
            raise NotFound()
        try:
            return await self._files.read(contract.file_path)
        except OSError:
            raise NotFound() from None

    async def terminate(self, actor: Actor, contract_id: int, reason: str | None) -> ContractCard:
        text = reason_text(reason)
        async with self._uow() as uow:
            before = await self._manageable(uow, actor, contract_id)
            if before.status is not Status.ACTIVE:
                raise Conflict("contracts.error_not_active")
            now = self._clock.now()
            await uow.contracts.contracts.update(contract_id, status=Status.TERMINATED, end_reason=text,
                                                 updated_at=now)
            await audit.record(uow, actor.staff_id, "terminate", "contract", contract_id,
                               {"status": before.status, "end_reason": None},
                               {"status": Status.TERMINATED, "end_reason": text})
            await self._close_reminder(uow, before, FollowUpStatus.CANCELLED)
            card = await self._card(uow, actor, await self._reread(uow, contract_id))
            await uow.commit()
        return card

    @staticmethod
    def next_term(contract: Contract) -> tuple[date, date]:
        """A renewal's dates when none are typed: from the day after the end, for as long as this one ran."""
        starts = contract.ends_on + timedelta(days=1)
        return starts, starts + (contract.ends_on - contract.starts_on)

    async def renew(self, actor: Actor, contract_id: int, *, starts_on: date | None = None,
                    ends_on: date | None = None) -> ContractCard:
        """A new contract copied from this one with new dates (and a new number); this one becomes renewed and
        its reminder is done. The file stays with the old contract."""
        async with self._uow() as uow:
            old = await self._manageable(uow, actor, contract_id)
            if old.status is not Status.ACTIVE:
                raise Conflict("contracts.error_not_active")
            start = starts_on or self.next_term(old)[0]
            end = ends_on or start + (old.ends_on - old.starts_on)
            draft = clean(ContractFields(
                customer_id=old.customer_id, title=old.title, value=old.value, currency=old.currency,
                starts_on=start, ends_on=end, terms=old.terms, owner_id=old.owner_id, remind_days=old.remind_days))
            now = self._clock.now()
            await uow.contracts.contracts.update(contract_id, status=Status.RENEWED, updated_at=now)
            await audit.record(uow, actor.staff_id, "renew", "contract", contract_id,
                               {"status": old.status}, {"status": Status.RENEWED})
            await self._close_reminder(uow, old, FollowUpStatus.DONE)
            new = await self._add(uow, actor, draft, renewed_from=old.id)
            card = await self._card(uow, actor, await self._reread(uow, new.id))
            await uow.commit()
        return card

    async def delete(self, actor: Actor, contract_id: int) -> Contract:
        async with self._uow() as uow:
            contract = await self._manageable(uow, actor, contract_id)
            now = self._clock.now()
            await uow.contracts.contracts.update(contract_id, deleted_at=now, updated_at=now)
            await audit.record(uow, actor.staff_id, "delete", "contract", contract_id, {"deleted_at": None},
                               {"deleted_at": now})
            await self._close_reminder(uow, contract, FollowUpStatus.CANCELLED)
            await uow.commit()
        return contract

    async def restore(self, actor: Actor, contract_id: int) -> ContractCard:
        async with self._uow() as uow:
            contract = await self._manageable(uow, actor, contract_id, deleted=True)
            await uow.contracts.contracts.update(contract_id, deleted_at=None, updated_at=self._clock.now())
            await audit.record(uow, actor.staff_id, "restore", "contract", contract_id,
                               {"deleted_at": contract.deleted_at}, {"deleted_at": None})
            restored = await self._reread(uow, contract_id)
            await self._rearm(uow, restored)
            card = await self._card(uow, actor, await self._reread(uow, contract_id))
            await uow.commit()
        return card


__all__ = ["DEFAULT_REMIND_DAYS", "EDITABLE", "MAX_FILE_BYTES", "Attachment", "ContractService", "auditable",
           "clean", "reason_text"]
