"""grant the operations of the order-to-cash, contracts, projects, digests, service, competitor and custom-field
modules to the built-in roles

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# Written out rather than read from crm.organisation.permissions: a migration must keep granting what it granted
# when it was written. Roles an organisation customised (is_system false) are left as they chose them.
NEW_PERMISSIONS = {
    "admin": ("quotes.create", "orders.create", "orders.cancel", "discounts.approve", "shipments.create",
              "invoices.issue", "payments.record", "contracts.manage", "projects.manage", "digests.receive",
              "tickets.create", "tickets.assign", "tickets.close", "intel.create", "competitors.manage",
              "fields.manage"),
    "manager": ("quotes.create", "orders.create", "orders.cancel", "discounts.approve", "shipments.create",
                "invoices.issue", "payments.record", "contracts.manage", "projects.manage", "digests.receive",
                "tickets.create", "tickets.assign", "tickets.close", "intel.create", "competitors.manage"),
    "rep": ("quotes.create", "orders.create", "contracts.manage", "projects.manage", "tickets.create",
            "intel.create"),
    "finance": ("invoices.issue", "payments.record", "digests.receive"),
}
_roles = sa.table("roles", sa.column("id", sa.Integer), sa.column("name", sa.String),
                  sa.column("permissions", storage.types.JSONType), sa.column("is_system", sa.Boolean),
                  sa.column("version", sa.Integer))


def _grant(add: bool) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_roles.c.id, _roles.c.name, _roles.c.permissions).where(
        _roles.c.is_system.is_(True), _roles.c.name.in_(list(NEW_PERMISSIONS)))).all()
    for role_id, name, permissions in rows:
        before = set(permissions or ())
        after = before | set(NEW_PERMISSIONS[name]) if add else before - set(NEW_PERMISSIONS[name])
        if after != before:
            # A new version: running bots reload the role on the next update (crm/organisation/identity.py).
            conn.execute(sa.update(_roles).where(_roles.c.id == role_id).values(
                permissions=sorted(after), version=_roles.c.version + 1))


def upgrade() -> None:
    _grant(True)


def downgrade() -> None:
    _grant(False)
