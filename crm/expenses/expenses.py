"""Expenses: log one, see it, edit or delete it while it is not approved, and its approval.

Who may do what:
- ``expenses.create`` to log one's own expenses (always the actor's: an expense is never logged for someone
  else), and to edit or delete them until they are approved. A customer on an expense must be one the actor may
  see.
- ``expenses.approve`` to approve or reject the expenses of people within the approver's ``expenses`` query
  scope (a department manager: their department tree), never their own. Out of scope is "not found", also for a
  forged button press; a rejection needs a typed reason.
- Reading: one's own always, others' within the ``expenses`` scope.
Approved expenses are locked. Every change writes its audit row in the same transaction; deletes are soft.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.expenses.budgets import crossings
from crm.expenses.model import (
    DEFAULT_CATEGORIES,
    NOTE_LIMIT,
    REASON_LIMIT,
    Category,
    Decided,
    Expense,
    ExpenseCard,
    ExpenseFields,
    MonthView,
    ProjectStatus,
    Status,
    Submitted,
    totals,
)
from crm.expenses.ports import ExpensesUnitOfWork, ReceiptStore
from crm.fields.fields import FieldService, RecordKind
from crm.fields.model import FieldDef, FieldEntity, FieldValue
from crm.organisation import audit
from crm.organisation.model import Staff
from crm.organisation.permissions import Actor, Scope, ScopeFilter

MAX_AMOUNT = Decimal(10) ** 12
LIST_LIMIT = 200
EDITABLE = ("amount", "currency", "category_id", "spent_on", "note", "customer_id", "receipt_file_id", "project_id")
_FIELDS = tuple(f.name for f in fields(ExpenseFields))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def auditable(expense: ExpenseFields) -> dict[str, Any]:
    values = {name: _plain(getattr(expense, name)) for name in _FIELDS}
    for name in ("staff_id", "status"):
        if hasattr(expense, name):
            values[name] = getattr(expense, name)
    return values


def today_of(actor: Actor, clock: Clock) -> date:
    return clock.now().astimezone(ZoneInfo(actor.timezone)).date()


def clean(draft: ExpenseFields, today: date) -> ExpenseFields:
    amount = draft.amount
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT:
        raise ValidationFailed("expenses.error_amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("expenses.error_amount")
    currency = str(draft.currency).strip().upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise ValidationFailed("expenses.error_currency")
    if not isinstance(draft.spent_on, date):
        raise ValidationFailed("expenses.error_date")
    if draft.spent_on > today:
        raise ValidationFailed("expenses.error_future")
    note = " ".join((draft.note or "").split()) or None
    if note is not None and len(note) > NOTE_LIMIT:
        raise ValidationFailed("error.field_too_long", field="note", limit=NOTE_LIMIT)
    return replace(draft, amount=amount.quantize(Decimal(1)) if amount == amount.to_integral() else amount,
                   currency=currency, note=note)


def reason_text(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed("expenses.error_reason")
    if len(text) > REASON_LIMIT:
        raise ValidationFailed("error.field_too_long", field="reason", limit=REASON_LIMIT)
    return text


async def seed_categories(uow: ExpensesUnitOfWork) -> bool:
    """The default categories when there are none. Migration 0012 seeds them; a database emptied after migrating
    (a PostgreSQL test database truncated between tests) gets them again."""
    if await uow.expenses.categories.all():
        return False
    for values in DEFAULT_CATEGORIES:
        await uow.expenses.categories.add(Category(
            id=0, key=str(values["key"]), name=str(values["name"]), name_zh_hant=str(values["name_zh_hant"]),
            name_zh_hans=str(values["name_zh_hans"]), words=str(values["words"]),
            sequence=int(str(values["sequence"]))))
    return True


def _under(department_id: int, ancestor_id: int, parents: Mapping[int, int | None]) -> bool:
    seen: set[int] = set()
    current: int | None = department_id
    while current is not None and current not in seen:
        if current == ancestor_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def covers(scope: Scope, approver: Staff, submitter: Staff, parents: Mapping[int, int | None]) -> bool:
    """Whether a person with this ``expenses`` scope sees the submitter's expenses (as ``Actor.scope_filter``
    would, without building the approver's actor)."""
    if scope is Scope.ALL:
        return True
    if scope is Scope.DEPARTMENT:
        return approver.department_id == submitter.department_id
    if scope is Scope.DEPARTMENT_TREE:
        return _under(submitter.department_id, approver.department_id, parents)
    return False


async def visible_expense(uow: Any, actor: Actor, expense_id: int) -> tuple[Expense, Staff]:
    """The expense if the actor's ``expenses`` scope allows its submitter; "not found" otherwise."""
    expense: Expense | None = await uow.expenses.expenses.get(expense_id)
    if expense is None:
        raise NotFound()
    staff: Staff | None = await uow.organisation.staff.get(expense.staff_id)
    if staff is None or not actor.scope_filter("expenses").allows(staff.id, staff.department_id):
        raise NotFound()
    return expense, staff


async def own_open_expense(uow: Any, actor: Actor, expense_id: int) -> Expense:
    """The actor's own expense, not yet approved: the only one they may change."""
    actor.require("expenses.create")
    expense, _ = await visible_expense(uow, actor, expense_id)
    if expense.staff_id != actor.staff_id:
        raise NotFound()  # a colleague's expense is theirs to change
    if expense.locked:
        raise Conflict("expenses.error_locked")
    return expense


# The custom fields of expenses (docs/fields.md): seen by whoever logs expenses, within the expenses scope; set
# on one's own expense until it is approved.
EXPENSE_KIND = RecordKind(FieldEntity.EXPENSE, "expenses.create", "expenses.create", visible_expense,
                          check_edit=own_open_expense)


class ExpenseService:
    def __init__(self, uow: UnitOfWorkFactory[ExpensesUnitOfWork], clock: Clock, *, currency: str = "TWD",
                 receipts: ReceiptStore | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._receipts = receipts
        self.currency = currency  # an amount typed without a currency is in this one
        self._seeded = False
        self.fields: FieldService | None = None  # the custom fields, saved with a new expense, on its card

    async def _ready(self) -> None:
        """Once per process: make sure there are categories (``seed_categories``)."""
        if self._seeded:
            return
        async with self._uow() as uow:
            if await seed_categories(uow):
                await uow.commit()
        self._seeded = True

    @staticmethod
    def _may_read(actor: Actor) -> None:
        if not (actor.can("expenses.create") or actor.can("expenses.approve")):
            raise PermissionDenied(operation="expenses.create")

    async def categories(self, actor: Actor) -> tuple[Category, ...]:
        self._may_read(actor)
        await self._ready()
        async with self._uow(write=False) as uow:
            return tuple(await uow.expenses.categories.all())

    async def _card(self, uow: ExpensesUnitOfWork, expense: Expense) -> ExpenseCard:
        category = next((c for c in await uow.expenses.categories.every() if c.id == expense.category_id), None)
        if category is None:
            raise NotFound()
        staff = await uow.organisation.staff.get(expense.staff_id)
        customer = (await uow.customers.customers.get(expense.customer_id, include_deleted=True)
                    if expense.customer_id is not None else None)
        decider = await uow.organisation.staff.get(expense.decided_by) if expense.decided_by is not None else None
        projects = await uow.expenses.projects.names([expense.project_id] if expense.project_id else [])
        custom: tuple[tuple[FieldDef, FieldValue], ...] = ()
        if self.fields is not None and await uow.fields.values.any_for(expense.id):
            custom = tuple((field, value) for field, value in
                           await FieldService.read(uow, FieldEntity.EXPENSE, expense.id) if not value.is_empty)
        return ExpenseCard(expense, category, staff.name if staff else "?", customer.name if customer else None,
                           decider.name if decider else None, projects.get(expense.project_id or 0), custom)

    async def _visible(self, uow: ExpensesUnitOfWork, actor: Actor, expense_id: int) -> tuple[Expense, Staff]:
        return await visible_expense(uow, actor, expense_id)

    async def _approvers(self, uow: ExpensesUnitOfWork, submitter: Staff) -> tuple[Staff, ...]:
        """Active holders of ``expenses.approve`` whose expenses scope covers the submitter, not the submitter."""
        roles = {r.id: r for r in await uow.organisation.roles.list_all() if "expenses.approve" in r.permissions}
        if not roles:
            return ()
        parents = {d.id: d.parent_id for d in await uow.organisation.departments.list_all()}
        everyone = await uow.organisation.staff.list(ScopeFilter(everything=True, owner_id=0), limit=100_000)
        return tuple(person for person in everyone
                     if person.id != submitter.id and person.role_id in roles
                     and covers(roles[person.role_id].scopes.get("expenses", Scope.OWN), person, submitter, parents))

    async def create(self, actor: Actor, draft: ExpenseFields, custom: Mapping[int, str] | None = None
                     ) -> Submitted:
        """Log the actor's own expense; it goes straight to approval (``Submitted.approvers`` are to be told).
        ``custom``: the custom fields' answers (field id → text), saved in the same transaction."""
        actor.require("expenses.create")
        fields_ = clean(draft, today_of(actor, self._clock))
        now = self._clock.now()
        await self._ready()
        async with self._uow() as uow:
            if fields_.customer_id is not None:
                await visible_customer(uow, actor, fields_.customer_id)
            if not any(c.id == fields_.category_id for c in await uow.expenses.categories.all()):
                raise ValidationFailed("expenses.error_category")
            if fields_.project_id is not None:
                await self._open_project(uow, fields_.project_id)
            expense = await uow.expenses.expenses.add(Expense(
                **asdict(fields_), id=0, staff_id=actor.staff_id, status=Status.SUBMITTED, created_at=now,
                updated_at=now))
            await audit.record(uow, actor.staff_id, "create", "expense", expense.id, {}, auditable(expense))
            if self.fields is not None:
                await self.fields.write(uow, actor, FieldEntity.EXPENSE, expense.id, custom or {}, creating=True)
            card = await self._card(uow, expense)
            submitter = await uow.organisation.staff.get(actor.staff_id)
            approvers = await self._approvers(uow, submitter) if submitter is not None else ()
            await uow.commit()
        return Submitted(card, approvers)

    @staticmethod
    async def _open_project(uow: ExpensesUnitOfWork, project_id: int) -> None:
        project = await uow.expenses.projects.get(project_id)
        if project is None:
            raise NotFound()
        if project.status is ProjectStatus.CLOSED:
            raise Conflict("expenses.error_project_closed")

    async def keep_receipt(self, actor: Actor, expense_id: int, data: bytes) -> str | None:
        """Keep a copy of the receipt photo of the actor's own new expense (None where no store is wired)."""
        actor.require("expenses.create")
        if self._receipts is None:
            return None
        async with self._uow() as uow:
            expense, _ = await self._visible(uow, actor, expense_id)
            if expense.staff_id != actor.staff_id or not expense.receipt_file_id:
                raise NotFound()
            try:
                path = self._receipts.save(expense_id, data)
            except ValueError as exc:
                raise ValidationFailed("expenses.error_receipt_size") from exc
            await uow.expenses.expenses.update(expense_id, receipt_path=path)
            await audit.record(uow, actor.staff_id, "update", "expense", expense_id, {"receipt_path": None},
                               {"receipt_path": path})
            await uow.commit()
        return path

    async def card(self, actor: Actor, expense_id: int) -> ExpenseCard:
        self._may_read(actor)
        await self._ready()
        async with self._uow(write=False) as uow:
            expense, _ = await self._visible(uow, actor, expense_id)
            return await self._card(uow, expense)

    async def _own_open(self, uow: ExpensesUnitOfWork, actor: Actor, expense_id: int) -> Expense:
        return await own_open_expense(uow, actor, expense_id)

    async def update(self, actor: Actor, expense_id: int, changes: Mapping[str, Any]) -> ExpenseCard:
        """Change one's own expense until it is approved; a rejected one changed goes back for approval."""
        if set(changes) - set(EDITABLE):
            raise ValidationFailed("error.invalid")
        async with self._uow() as uow:
            before = await self._own_open(uow, actor, expense_id)
            merged = {name: getattr(before, name) for name in _FIELDS} | dict(changes)
            after = clean(ExpenseFields(**merged), today_of(actor, self._clock))
            if after.customer_id is not None and after.customer_id != before.customer_id:
                await visible_customer(uow, actor, after.customer_id)
            if after.category_id != before.category_id and not any(
                    c.id == after.category_id for c in await uow.expenses.categories.all()):
                raise ValidationFailed("expenses.error_category")
            if after.project_id is not None and after.project_id != before.project_id:
                await self._open_project(uow, after.project_id)
            changed = {k: getattr(after, k) for k in _FIELDS if getattr(after, k) != getattr(before, k)}
            if changed:
                if before.status is Status.REJECTED:
                    changed |= {"status": Status.SUBMITTED, "reject_reason": None, "decided_by": None,
                                "decided_at": None}
                await uow.expenses.expenses.update(expense_id, **changed, updated_at=self._clock.now())
                await audit.record(uow, actor.staff_id, "update", "expense", expense_id,
                                   {k: _plain(getattr(before, k)) for k in changed},
                                   {k: _plain(v) for k, v in changed.items()})
            result = await uow.expenses.expenses.get(expense_id)
            if result is None:
                raise NotFound()
            card = await self._card(uow, result)
            await uow.commit()
        return card

    async def delete(self, actor: Actor, expense_id: int) -> None:
        """Soft: the row stays (with its audit trail); an approved expense cannot be deleted."""
        async with self._uow() as uow:
            await self._own_open(uow, actor, expense_id)
            now = self._clock.now()
            await uow.expenses.expenses.update(expense_id, deleted_at=now, updated_at=now)
            await audit.record(uow, actor.staff_id, "delete", "expense", expense_id, {"deleted_at": None},
                               {"deleted_at": now})
            await uow.commit()

    async def restore(self, actor: Actor, expense_id: int) -> ExpenseCard:
        """Undo one's own delete: the expense is back as it was (waiting for approval, or rejected). Only the
        submitter, who alone could delete it; anyone else's, or one never deleted, is "not found"."""
        actor.require("expenses.create")
        async with self._uow() as uow:
            expense = await uow.expenses.expenses.get(expense_id, include_deleted=True)
            if expense is None or expense.staff_id != actor.staff_id or expense.deleted_at is None:
                raise NotFound()
            now = self._clock.now()
            await uow.expenses.expenses.update(expense_id, deleted_at=None, updated_at=now)
            await audit.record(uow, actor.staff_id, "restore", "expense", expense_id,
                               {"deleted_at": expense.deleted_at}, {"deleted_at": None})
            restored = await uow.expenses.expenses.get(expense_id)
            if restored is None:
                raise NotFound()
            card = await self._card(uow, restored)
            await uow.commit()
        return card

    async def _decidable(self, uow: ExpensesUnitOfWork, actor: Actor, expense_id: int) -> tuple[Expense, Staff]:
        actor.require("expenses.approve")
        expense, submitter = await self._visible(uow, actor, expense_id)
        if expense.staff_id == actor.staff_id:
            raise PermissionDenied(operation="expenses.approve")  # nobody approves their own
        if expense.status is not Status.SUBMITTED:
            raise Conflict("expenses.error_decided")
        return expense, submitter

    async def to_decide(self, actor: Actor, expense_id: int) -> ExpenseCard:
        """The expense as its approver sees it, when the actor may decide it now (before asking a reason)."""
        await self._ready()
        async with self._uow(write=False) as uow:
            expense, _ = await self._decidable(uow, actor, expense_id)
            return await self._card(uow, expense)

    async def _decide(self, actor: Actor, expense_id: int, status: Status, reason: str | None) -> Decided:
        now = self._clock.now()
        await self._ready()
        async with self._uow() as uow:
            before, submitter = await self._decidable(uow, actor, expense_id)
            await uow.expenses.expenses.update(expense_id, status=status, decided_by=actor.staff_id, decided_at=now,
                                               reject_reason=reason, updated_at=now)
            await audit.record(uow, actor.staff_id, status.value, "expense", expense_id,
                               {"status": before.status, "reject_reason": before.reject_reason},
                               {"status": status, "reject_reason": reason})
            after = await uow.expenses.expenses.get(expense_id)
            if after is None:
                raise NotFound()
            alerts = await crossings(uow, after, submitter, now) if status is Status.APPROVED else []
            card = await self._card(uow, after)
            await uow.commit()
        return Decided(card, submitter, tuple(alerts))

    async def approve(self, actor: Actor, expense_id: int) -> Decided:
        return await self._decide(actor, expense_id, Status.APPROVED, None)

    async def reject(self, actor: Actor, expense_id: int, reason: str | None) -> Decided:
        return await self._decide(actor, expense_id, Status.REJECTED, reason_text(reason))

    async def pending(self, actor: Actor) -> Sequence[ExpenseCard]:
        """What waits for this approver: submitted expenses within their scope, not their own, oldest first."""
        actor.require("expenses.approve")
        await self._ready()
        async with self._uow(write=False) as uow:
            rows = await uow.expenses.expenses.listed(actor.scope_filter("expenses"), status=Status.SUBMITTED,
                                                      limit=LIST_LIMIT)
            mine = [e for e in reversed(rows) if e.staff_id != actor.staff_id]
            return [await self._card(uow, e) for e in mine]

    async def month(self, actor: Actor, *, team: bool = False) -> MonthView:
        """This month's expenses (in the actor's zone): their own, or (``team``) everyone's in their scope."""
        self._may_read(actor)
        today = today_of(actor, self._clock)
        first = today.replace(day=1)
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        await self._ready()
        async with self._uow(write=False) as uow:
            rows = await uow.expenses.expenses.listed(
                actor.scope_filter("expenses"), staff_id=None if team else actor.staff_id, since=first,
                before=after, limit=LIST_LIMIT)
            cards = tuple([await self._card(uow, e) for e in rows])
        counted = totals(c.expense.money for c in cards if c.expense.status is not Status.REJECTED)
        return MonthView(first, cards, counted, team)
