"""competitor links replace the opportunities' free-text competitors; a ticket names its order

The free text typed in ``opportunities.competitors`` becomes links (``opportunity_competitors``) for each name a
live competitor has (compared folded, as the archive compares names); names the archive does not know are kept,
read-only, in ``opportunities.competitors_typed`` so nothing typed is lost. Each link made here is audited
(``opportunity_competitor`` link, no actor). ``tickets.order_id``: the order a ticket is about.

Revision ID: 0031
Revises: 0023
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.types
from crm.competitors.model import name_key

revision = '0031'
down_revision = '0028'
branch_labels = None
depends_on = None

# what separates names in the old free text: commas, the ideographic comma, semicolons, slashes, new lines
SEPARATORS = re.compile(r"[,，、;；/／\n]+")


def names_in(text: str | None) -> list[str]:
    return [" ".join(part.split()) for part in SEPARATORS.split(text or "") if part.strip()]


_LINKS = sa.table('opportunity_competitors', sa.column('opportunity_id', sa.Integer),
                  sa.column('competitor_id', sa.Integer), sa.column('added_at', storage.types.UTCDateTime()))
_AUDIT = sa.table('audit_log', sa.column('at', storage.types.UTCDateTime()), sa.column('actor_id', sa.Integer),
                  sa.column('action', sa.String), sa.column('entity', sa.String), sa.column('entity_id', sa.Integer),
                  sa.column('before', storage.types.JSONType), sa.column('after', storage.types.JSONType))


def _links(bind: sa.engine.Connection) -> None:
    now = datetime.now(UTC)
    known = {name_key(name): competitor_id for competitor_id, name in bind.execute(sa.text(
        "SELECT id, name FROM competitors WHERE deleted_at IS NULL"))}
    rows = list(bind.execute(sa.text(
        "SELECT id, competitors FROM opportunities WHERE competitors IS NOT NULL AND competitors <> ''")))
    for opportunity_id, text in rows:
        linked = {row[0] for row in bind.execute(sa.text(
            "SELECT competitor_id FROM opportunity_competitors WHERE opportunity_id = :o"), {"o": opportunity_id})}
        kept: list[str] = []
        for name in names_in(text):
            competitor_id = known.get(name_key(name))
            if competitor_id is None:
                if name not in kept:
                    kept.append(name)
                continue
            if competitor_id in linked:
                continue
            linked.add(competitor_id)
            bind.execute(_LINKS.insert().values(opportunity_id=opportunity_id, competitor_id=competitor_id,
                                                added_at=now))
            bind.execute(_AUDIT.insert().values(
                at=now, actor_id=None, action='link', entity='opportunity_competitor', entity_id=opportunity_id,
                before={"competitor_id": None}, after={"competitor_id": competitor_id, "from_text": text}))
        bind.execute(sa.text("UPDATE opportunities SET competitors_typed = :kept WHERE id = :o"),
                     {"kept": ", ".join(kept)[:500] or None, "o": opportunity_id})


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite 3.35+ drops a column in place): a batch copy of the table
    # would drop ``opportunities`` / ``tickets`` while rows of other tables point at them, which SQLite's
    # foreign keys refuse on a database with data.
    op.add_column('opportunities', sa.Column('competitors_typed', sa.String(length=500), nullable=True))
    _links(op.get_bind())
    op.drop_column('opportunities', 'competitors')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE tickets ADD COLUMN order_id INTEGER REFERENCES orders (id)')
    else:
        op.add_column('tickets', sa.Column('order_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_tickets_order_id_orders'), 'tickets', 'orders', ['order_id'], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite drops no column a foreign key uses: the table is copied (fine while no entry points at it
        # from another table's enforced key — ticket entries do, so this is for databases without them)
        with op.batch_alter_table('tickets', schema=None) as batch_op:
            batch_op.drop_column('order_id')
    else:
        op.drop_constraint(op.f('fk_tickets_order_id_orders'), 'tickets', type_='foreignkey')
        op.drop_column('tickets', 'order_id')
    op.add_column('opportunities', sa.Column('competitors', sa.String(length=500), nullable=True))
    # the names again as text: the linked ones, then those the archive did not know
    bind = op.get_bind()
    for opportunity_id, typed in list(bind.execute(sa.text("SELECT id, competitors_typed FROM opportunities"))):
        names = [row[0] for row in bind.execute(sa.text(
            "SELECT c.name FROM opportunity_competitors l JOIN competitors c ON c.id = l.competitor_id "
            "WHERE l.opportunity_id = :o ORDER BY c.name"), {"o": opportunity_id})]
        text = ", ".join(names + names_in(typed))[:500] or None
        if text:
            bind.execute(sa.text("UPDATE opportunities SET competitors = :t WHERE id = :o"),
                         {"t": text, "o": opportunity_id})
    op.drop_column('opportunities', 'competitors_typed')
