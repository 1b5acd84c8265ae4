"""Discount approval: each role has a discount limit; a quote (later an order) whose effective discount is over its
owner's limit waits for a manager before it goes to the customer (docs/sales.md, "Discount approval").

The machinery is generic over what is approved. A kind of record takes part by adding a ``DiscountSubject`` to
``DiscountService.subjects`` (quotes: ``crm/sales/quote_discounts.py``): it says how to read the record in the
approver's scope and describe it, and what approving or rejecting it changes. Everything else — the limits, the
approval rows, who may decide, the audit — is here.

Who: ``discounts.approve`` within the ``sales`` scope covering the record's owner decides, never on a request of
their own; ``roles.manage`` sets the limits. Out of scope is "not found", also for a forged press.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.extension import ExtensionPoint
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.organisation import audit
from crm.organisation.model import Role, Staff
from crm.organisation.permissions import Actor, Scope, ScopeFilter
from crm.sales.discount_model import ApprovalStatus, DiscountApproval, Discounted
from crm.sales.ports import SalesUnitOfWork
from crm.sales.pricing import parse_percent

DEFAULT_LIMIT = Decimal(10)  # percent, for a role without a limit of its own that cannot approve discounts
REASON_LIMIT = 500
APPROVE = "discounts.approve"


class DiscountSubject(Protocol):
    """A kind of record whose discount may need approval ("quote", "order"). ``uow`` is the approval's unit of
    work — the whole one at run time, so a subject reads and changes its own module's repositories in it."""

    kind: str

    async def describe(self, uow: Any, actor: Actor | None, subject_id: int) -> Discounted:
        """The record as ``actor`` may see it (``NotFound`` out of their scope); ``actor`` None: unchecked, for
        the machinery's own reads after a check was made."""
        ...

    async def approved(self, uow: Any, actor: Actor, subject_id: int) -> None:
        """What approving changes on the record, in the approval's transaction (an order leaves
        ``pending_approval``); quotes change nothing: the approval row is what lets them be sent."""
        ...

    async def rejected(self, uow: Any, actor: Actor, subject_id: int, reason: str) -> None: ...


class Clearance(StrEnum):
    """Where a record stands: within the owner's limit, approved, waiting, rejected, or needing a request."""

    WITHIN = "within"
    APPROVED = "approved"
    PENDING = "pending"
    REJECTED = "rejected"
    NEEDED = "needed"

    @property
    def may_send(self) -> bool:
        return self in (Clearance.WITHIN, Clearance.APPROVED)


@dataclass(frozen=True)
class Standing:
    clearance: Clearance
    percent: Decimal
    limit: Decimal | None  # None: unlimited
    approval: DiscountApproval | None = None


@dataclass(frozen=True)
class Requested:
    approval: DiscountApproval
    subject: Discounted
    approvers: tuple[Staff, ...]
    requester_name: str


@dataclass(frozen=True)
class Decided:
    approval: DiscountApproval
    subject: Discounted
    requester: Staff | None
    decider_name: str


@dataclass(frozen=True)
class Pending:
    approval: DiscountApproval
    subject: Discounted
    requester_name: str


def role_limit(role: Role, stored: Mapping[int, Decimal | None]) -> Decimal | None:
    """The role's limit: its own when one was set (None: unlimited), else unlimited for roles that approve
    discounts and ``DEFAULT_LIMIT`` for the others."""
    if role.id in stored:
        return stored[role.id]
    return None if APPROVE in role.permissions else DEFAULT_LIMIT


async def limit_of(uow: SalesUnitOfWork, staff_id: int) -> Decimal | None:
    staff = await uow.organisation.staff.get(staff_id)
    role = await uow.organisation.roles.get(staff.role_id) if staff is not None else None
    if role is None:
        return Decimal(0)
    return role_limit(role, await uow.sales.discount_limits.all())


async def standing(uow: SalesUnitOfWork, subject: Discounted) -> Standing:
    limit = await limit_of(uow, subject.owner_id)
    if limit is None or subject.percent <= limit:
        return Standing(Clearance.WITHIN, subject.percent, limit)
    latest = await uow.sales.discount_approvals.latest(subject.kind, subject.subject_id)
    if latest is None or latest.percent < subject.percent:
        return Standing(Clearance.NEEDED, subject.percent, limit, latest)
    return Standing(Clearance(latest.status.value), subject.percent, limit, latest)


async def require_clearance(uow: SalesUnitOfWork, subject: Discounted) -> Standing:
    """Before the record goes to the customer: refused while its discount is over the limit and not approved."""
    found = await standing(uow, subject)
    if not found.clearance.may_send:
        raise Conflict("sales.discount_error_needs_approval", percent=f"{subject.percent:f}",
                       limit=f"{found.limit or 0:f}")
    return found


def _under(department_id: int, ancestor_id: int, parents: Mapping[int, int | None]) -> bool:
    seen: set[int] = set()
    current: int | None = department_id
    while current is not None and current not in seen:
        if current == ancestor_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def covers(scope: Scope, approver: Staff, owner: Staff, parents: Mapping[int, int | None]) -> bool:
    """Whether a person with this ``sales`` scope sees the owner's records (as ``Actor.scope_filter`` would)."""
    if scope is Scope.ALL:
        return True
    if scope is Scope.DEPARTMENT:
        return approver.department_id == owner.department_id
    if scope is Scope.DEPARTMENT_TREE:
        return _under(owner.department_id, approver.department_id, parents)
    return approver.id == owner.id


def reason_text(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed("sales.discount_error_reason")
    if len(text) > REASON_LIMIT:
        raise ValidationFailed("error.field_too_long", field="reason", limit=REASON_LIMIT)
    return text


class DiscountService:
    def __init__(self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock
        self.subjects: ExtensionPoint[DiscountSubject] = ExtensionPoint()

    def _subject(self, kind: str) -> DiscountSubject:
        found = next((s for s in self.subjects if s.kind == kind), None)
        if found is None:
            raise NotFound()
        return found

    # ---- limits ---------------------------------------------------------------------------------------------

    async def limits(self, actor: Actor) -> list[tuple[Role, Decimal | None]]:
        """Every live role with its limit (None: unlimited)."""
        actor.require("roles.manage")
        async with self._uow(write=False) as uow:
            stored = await uow.sales.discount_limits.all()
            return [(role, role_limit(role, stored)) for role in await uow.organisation.roles.list_all()]

    async def set_limit(self, actor: Actor, role_name: str,
                        percent: str | Decimal | None) -> tuple[Role, Decimal | None]:
        """``percent`` None: unlimited."""
        actor.require("roles.manage")
        value = None if percent is None else parse_percent(percent)
        async with self._uow() as uow:
            role = await uow.organisation.roles.get_by_name(role_name.strip())
            if role is None:
                raise ValidationFailed("sales.discount_error_role", name=role_name.strip()[:40])
            stored = await uow.sales.discount_limits.all()
            before = role_limit(role, stored)
            await uow.sales.discount_limits.put(role.id, value, self._clock.now())
            await audit.record(uow, actor.staff_id, "update", "discount_limit", role.id,
                               {"percent": None if before is None else str(before)},
                               {"percent": None if value is None else str(value), "role": role.name})
            await uow.commit()
        return role, value

    async def my_limit(self, actor: Actor) -> Decimal | None:
        async with self._uow(write=False) as uow:
            return await limit_of(uow, actor.staff_id)

    # ---- where a record stands ------------------------------------------------------------------------------

    async def standing(self, actor: Actor, kind: str, subject_id: int) -> Standing:
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            subject = await self._subject(kind).describe(uow, actor, subject_id)
            return await standing(uow, subject)

    # ---- asking ---------------------------------------------------------------------------------------------

    async def _approvers(self, uow: SalesUnitOfWork, owner: Staff, requester_id: int) -> tuple[Staff, ...]:
        """Active holders of ``discounts.approve`` whose sales scope covers the owner, not the requester."""
        roles = {r.id: r for r in await uow.organisation.roles.list_all() if APPROVE in r.permissions}
        if not roles:
            return ()
        parents = {d.id: d.parent_id for d in await uow.organisation.departments.list_all()}
        everyone = await uow.organisation.staff.list(ScopeFilter(everything=True, owner_id=0), limit=100_000)
        return tuple(person for person in everyone
                     if person.id != requester_id and person.active and person.role_id in roles
                     and covers(roles[person.role_id].scopes.get("sales", Scope.OWN), person, owner, parents))

    async def request(self, actor: Actor, kind: str, subject_id: int) -> Requested:
        """Ask for approval of the record's discount (its owner, or a colleague with ``sales.edit``). A request
        already waiting for the same discount is returned as it is, so its approvers can be reminded."""
        actor.require("sales.view")
        now = self._clock.now()
        async with self._uow() as uow:
            subject = await self._subject(kind).describe(uow, actor, subject_id)
            if subject.owner_id != actor.staff_id:
                actor.require("sales.edit")
            elif not (actor.can("sales.create") or actor.can("sales.edit")):
                raise PermissionDenied(operation="sales.create")
            if not subject.sendable:
                raise Conflict("sales.discount_error_closed")
            found = await standing(uow, subject)
            if found.clearance in (Clearance.WITHIN, Clearance.APPROVED):
                raise Conflict("sales.discount_error_not_needed")
            if found.clearance is Clearance.PENDING and found.approval is not None:
                approval = found.approval
            else:
                approval = await uow.sales.discount_approvals.add(DiscountApproval(
                    id=0, kind=kind, subject_id=subject_id, owner_id=subject.owner_id, requested_by=actor.staff_id,
                    percent=subject.percent, limit=found.limit or Decimal(0), status=ApprovalStatus.PENDING,
                    created_at=now))
                await audit.record(uow, actor.staff_id, "request", "discount_approval", approval.id, {},
                                   {"kind": kind, "subject_id": subject_id, "percent": str(subject.percent),
                                    "limit": str(approval.limit)})
            owner = await uow.organisation.staff.get(subject.owner_id)
            requester = await uow.organisation.staff.get(approval.requested_by)
            approvers = await self._approvers(uow, owner, approval.requested_by) if owner is not None else ()
            await uow.commit()
        return Requested(approval, subject, approvers, requester.name if requester else "?")

    # ---- deciding -------------------------------------------------------------------------------------------

    async def _decidable(self, uow: SalesUnitOfWork, actor: Actor, approval_id: int
                         ) -> tuple[DiscountApproval, Discounted]:
        actor.require(APPROVE)
        approval = await uow.sales.discount_approvals.get(approval_id)
        if approval is None:
            raise NotFound()
        owner = await uow.organisation.staff.get(approval.owner_id)
        if owner is None or not actor.scope_filter("sales").allows(owner.id, owner.department_id):
            raise NotFound()
        if actor.staff_id in (approval.requested_by, approval.owner_id):
            raise PermissionDenied(operation=APPROVE)  # nobody approves their own discount
        if approval.status is not ApprovalStatus.PENDING:
            raise Conflict("sales.discount_error_decided")
        subject = await self._subject(approval.kind).describe(uow, None, approval.subject_id)
        if subject.percent > approval.percent:
            raise Conflict("sales.discount_error_changed")
        return approval, subject

    async def to_decide(self, actor: Actor, approval_id: int) -> Pending:
        """The request as its approver sees it, when the actor may decide it now (before asking a reason)."""
        async with self._uow(write=False) as uow:
            approval, subject = await self._decidable(uow, actor, approval_id)
            requester = await uow.organisation.staff.get(approval.requested_by)
        return Pending(approval, subject, requester.name if requester else "?")

    async def _decide(self, actor: Actor, approval_id: int, status: ApprovalStatus, reason: str | None) -> Decided:
        now = self._clock.now()
        async with self._uow() as uow:
            before, subject = await self._decidable(uow, actor, approval_id)
            await uow.sales.discount_approvals.update(approval_id, status=status.value, reason=reason,
                                                      decided_by=actor.staff_id, decided_at=now)
            handler = self._subject(before.kind)
            if status is ApprovalStatus.APPROVED:
                await handler.approved(uow, actor, before.subject_id)
            else:
                await handler.rejected(uow, actor, before.subject_id, reason or "")
            await audit.record(uow, actor.staff_id, status.value, "discount_approval", approval_id,
                               {"status": before.status.value},
                               {"status": status.value, "reason": reason, "kind": before.kind,
                                "subject_id": before.subject_id, "percent": str(before.percent)})
            after = await uow.sales.discount_approvals.get(approval_id)
            requester = await uow.organisation.staff.get(before.requested_by)
            decider = await uow.organisation.staff.get(actor.staff_id)
            await uow.commit()
        assert after is not None
        return Decided(after, subject, requester, decider.name if decider else "?")

    async def approve(self, actor: Actor, approval_id: int) -> Decided:
        return await self._decide(actor, approval_id, ApprovalStatus.APPROVED, None)

    async def reject(self, actor: Actor, approval_id: int, reason: str | None) -> Decided:
        return await self._decide(actor, approval_id, ApprovalStatus.REJECTED, reason_text(reason))

    async def pending(self, actor: Actor, *, limit: int = 20) -> Sequence[Pending]:
        """What waits for this approver: requests on records of people in their sales scope, not their own,
        oldest first. The list is how a request is never lost, whether or not its push arrived."""
        actor.require(APPROVE)
        async with self._uow(write=False) as uow:
            waiting = await uow.sales.discount_approvals.pending(actor.scope_filter("sales"), limit=limit * 2)
            shown: list[Pending] = []
            for approval in waiting:
                if actor.staff_id in (approval.requested_by, approval.owner_id):
                    continue
                try:
                    subject = await self._subject(approval.kind).describe(uow, None, approval.subject_id)
                except NotFound:
                    continue  # its record is gone (a deleted draft)
                requester = await uow.organisation.staff.get(approval.requested_by)
                shown.append(Pending(approval, subject, requester.name if requester else "?"))
        return shown[:limit]
