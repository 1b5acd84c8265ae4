"""search index: every name of a customer, contact or lead also kept whole ("=" + folded name)

Rows are added for records that exist already, so "exactly this name" finds them as it finds new ones. The
key is computed here as crm.customers.search_terms.name_key computes it today (NFKC, case folded, spaces collapsed,
at most 60 characters), written out so this migration does not change if that code does.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_TERMS = sa.table('search_terms', sa.column('term', sa.String), sa.column('entity', sa.String),
                  sa.column('entity_id', sa.Integer))
# (entity, table, the columns holding its names)
_NAMED = (
    ('customer', 'customers', ('name', 'short_name')),
    ('contact', 'contacts', ('name',)),
    ('lead', 'leads', ('name', 'company_name')),
)
_BATCH = 5000


def _key(name: str | None) -> str | None:
    folded = " ".join(unicodedata.normalize("NFKC", name or "").casefold().split())
    return "=" + folded[:59] if folded else None


def upgrade() -> None:
    bind = op.get_bind()
    for entity, table, columns in _NAMED:
        source = sa.table(table, sa.column('id', sa.Integer), *(sa.column(c, sa.String) for c in columns))
        rows = bind.execute(sa.select(source.c.id, *(source.c[c] for c in columns)).order_by(source.c.id))
        pending: list[dict[str, object]] = []
        for record_id, *names in rows:
            for key in sorted({k for k in map(_key, names) if k}):
                pending.append({'term': key, 'entity': entity, 'entity_id': record_id})
        for start in range(0, len(pending), _BATCH):
            bind.execute(_TERMS.insert(), pending[start:start + _BATCH])


def downgrade() -> None:
    op.execute(_TERMS.delete().where(_TERMS.c.term.like('=%')))
