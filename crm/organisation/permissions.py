"""Who may do what, and who may see what.

Two separate questions, as in the classic CRM's permission module:
- *operation* permissions: (area, action) pairs such as ``customers.create`` — may this user press the button?
- *query* scope per data area: own / department / department and below / all — which records may they see?

Roles are data (stored, editable per company); this module holds the catalogue of what can be granted and the
defaults a new company starts with. Every service checks through ``Actor`` on every call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from crm.core.errors import PermissionDenied


class Scope(StrEnum):
    OWN = "own"
    DEPARTMENT = "department"
    DEPARTMENT_TREE = "department_tree"
    ALL = "all"


SCOPE_ORDER: tuple[Scope, ...] = (Scope.OWN, Scope.DEPARTMENT, Scope.DEPARTMENT_TREE, Scope.ALL)

# Operations, grouped by area. The order here is the order shown in /roles, and a permission's index in this
# tuple is what inline buttons carry (callback_data is limited to 64 bytes).
OPERATIONS: tuple[str, ...] = (
    "customers.view",
    "customers.create",
    "customers.edit",
    "customers.delete",
    "customers.export",
    "customers.import",
    "customers.handover",
    "followups.create",
    "followups.edit",
    "sales.view",
    "sales.create",
    "sales.edit",
    "sales.approve",
    "service.view",
    "service.create",
    "expenses.create",
    "expenses.approve",
    "expenses.budget",
    "sms.send",
    "sms.send_direct",
    "sms.review",
    "email.send",
    "fax.send",
    "announcements.publish",
    "users.view",
    "users.invite",
    "users.manage",
    "roles.manage",
    "departments.manage",
    "audit.view",
    "trash.restore",
    "analytics.view",
    "products.manage",
    "prices.view_cost",
    "quotes.create",
    "orders.create",
    "orders.cancel",
    "discounts.approve",
    "shipments.create",
    "invoices.issue",
    "payments.record",
    "contracts.manage",
    "projects.manage",
    "digests.receive",
    "tickets.create",
    "tickets.assign",
    "tickets.close",
    "intel.create",
    "competitors.manage",
    "fields.manage",
    "stages.manage",
    "hr.view",
    "hr.manage",
    "reviews.manage",
    "office.use",
)
OPERATION_SET = frozenset(OPERATIONS)

# Data areas that have a query scope.
SCOPE_AREAS: tuple[str, ...] = (
    "customers",
    "followups",
    "sales",
    "service",
    "expenses",
    "communications",
    "staff",
)


def operation_area(operation: str) -> str:
    return operation.split(".", 1)[0]


@dataclass(frozen=True)
class RoleTemplate:
    name: str
    permissions: frozenset[str]
    scopes: Mapping[str, Scope]


def _ops(*prefixes_or_ops: str) -> frozenset[str]:
    chosen: set[str] = set()
    for item in prefixes_or_ops:
        if item.endswith(".*"):
            chosen.update(op for op in OPERATIONS if op.startswith(item[:-1]))
        elif item in OPERATION_SET:
            chosen.add(item)
        else:
            raise ValueError(f"unknown operation {item!r}")
    return frozenset(chosen)


def _scopes(default: Scope, **overrides: Scope) -> dict[str, Scope]:
    scopes = dict.fromkeys(SCOPE_AREAS, default)
    scopes.update(overrides)
    return scopes


DEFAULT_ROLES: tuple[RoleTemplate, ...] = (
    RoleTemplate("admin", OPERATION_SET, _scopes(Scope.ALL)),
    RoleTemplate(
        "manager",
        _ops(
            "customers.*", "followups.*", "sales.*", "service.*", "expenses.*", "sms.*", "email.send",
            "fax.send", "announcements.publish", "users.view", "users.invite", "audit.view", "trash.restore",
            "analytics.view", "products.manage", "prices.view_cost", "quotes.create", "orders.create",
            "orders.cancel", "discounts.approve", "shipments.create", "invoices.issue", "payments.record",
            "contracts.manage", "projects.manage", "digests.receive", "tickets.create", "tickets.assign",
            "tickets.close", "intel.create", "competitors.manage", "hr.view", "hr.manage", "reviews.manage",
            "office.use",
        ),
        _scopes(Scope.DEPARTMENT_TREE),
    ),
    RoleTemplate(
        "rep",
        _ops(
            "customers.view", "customers.create", "customers.edit", "customers.delete", "followups.*", "sales.view",
            "sales.create", "service.view", "service.create", "expenses.create", "sms.send", "email.send",
            "fax.send", "users.view", "quotes.create", "orders.create", "contracts.manage", "projects.manage",
            "tickets.create", "intel.create", "office.use",
        ),
        _scopes(Scope.OWN, staff=Scope.DEPARTMENT),
    ),
    RoleTemplate(
        "reviewer",
        _ops("customers.view", "sms.review", "users.view", "audit.view", "office.use"),
        _scopes(Scope.OWN, customers=Scope.ALL, communications=Scope.ALL, staff=Scope.ALL),
    ),
    RoleTemplate(
        "finance",
        _ops("customers.view", "sales.view", "sales.edit", "expenses.approve", "expenses.budget", "users.view",
             "analytics.view", "prices.view_cost", "invoices.issue", "payments.record", "digests.receive",
             "office.use"),
        _scopes(Scope.ALL, followups=Scope.OWN, service=Scope.OWN, communications=Scope.OWN),
    ),
)


@dataclass(frozen=True, slots=True)
class ScopeFilter:
    """Which records of one area an actor may see. Repositories turn it into a WHERE clause."""

    everything: bool
    owner_id: int
    department_ids: frozenset[int] | None = None

    def allows(self, owner_id: int | None, owner_department_id: int | None) -> bool:
        if self.everything:
            return True
        if owner_id == self.owner_id:
            return True
        return (
            self.department_ids is not None
            and owner_department_id is not None
            and owner_department_id in self.department_ids
        )


@dataclass(frozen=True)
class Actor:
    """The signed-in staff member, with everything needed to decide permission and scope without a query."""

    staff_id: int
    telegram_user_id: int | None
    name: str
    role_id: int
    role_name: str
    department_id: int
    permissions: frozenset[str]
    scopes: Mapping[str, Scope]
    department_tree: frozenset[int] = field(default_factory=frozenset)
    locale: str = "en"
    timezone: str = "UTC"

    def can(self, operation: str) -> bool:
        return operation in self.permissions

    def require(self, operation: str) -> None:
        if operation not in OPERATION_SET:
            raise ValueError(f"unknown operation {operation!r}")
        if operation not in self.permissions:
            raise PermissionDenied(operation=operation)

    def scope(self, area: str) -> Scope:
        return self.scopes.get(area, Scope.OWN)

    def scope_filter(self, area: str) -> ScopeFilter:
        scope = self.scope(area)
        if scope is Scope.ALL:
            return ScopeFilter(everything=True, owner_id=self.staff_id)
        if scope is Scope.DEPARTMENT:
            return ScopeFilter(False, self.staff_id, frozenset({self.department_id}))
        if scope is Scope.DEPARTMENT_TREE:
            return ScopeFilter(False, self.staff_id, self.department_tree | {self.department_id})
        return ScopeFilter(False, self.staff_id, None)
