"""names: Chinese names family name first, invisible characters removed; their search terms rebuilt

A phone contact shared from Telegram with first name 小明 and last name 王 was stored as "小明 王", and staff
names were built the same way in places. Such names — two CJK-only parts with one space between — become
"<family><given>" (王小明), as they are written and as crm.core.names.person_name now builds them. Names holding
zero-width, bidirectional or other invisible characters are stored cleaned (crm.core.names.clean), as new ones
are. Customers, contacts and leads whose names change get their search terms rebuilt.

Unlike 0005, this uses the application's own functions: the search index must hold exactly the terms that
today's queries compute, and a name must be cleaned exactly as the services clean a typed one.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from crm.core.names import clean, family_first
from crm.customers.search_terms import record_terms

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
_TERMS = sa.table('search_terms', sa.column('term', sa.String), sa.column('entity', sa.String),
                  sa.column('entity_id', sa.Integer))


def fixed_name(name: str | None, *, person: bool) -> str | None:
    """The name as it is stored from now on; None stays None. Only a person's name changes its order."""
    if name is None:
        return None
    cleaned = clean(name) or name  # a name of nothing but invisible characters stays: it must not be empty
    return (family_first(cleaned) if person else None) or cleaned


def _terms(row: dict[str, Any], names: Sequence[str]) -> set[str]:
    return record_terms(names=[row[n] for n in names], phones=row['phones'] or (), emails=(row['email'],),
                        tags=row.get('tags') or ())


_ENTITIES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    # (entity, table, name columns, other columns: the search terms' or the kind)
    ('customer', 'customers', ('name', 'short_name'), ('phones', 'email', 'tags', 'kind')),
    ('contact', 'contacts', ('name',), ('phones', 'email')),
    ('lead', 'leads', ('name', 'company_name'), ('phones', 'email')),
)


def _is_person(row: dict[str, Any], column: str) -> bool:
    """A contact's, a lead's or a staff member's name, or a customer of kind person's — not a short name nor a
    company's name, where "台積電 新竹" is a company and its branch."""
    return column == 'name' and row.get('kind', 'person') == 'person'


def _fix_table(bind: sa.Connection, table: str, names: Sequence[str], others: Sequence[str],
               changed: Callable[[dict[str, Any]], None]) -> None:
    source = sa.table(table, sa.column('id', sa.Integer), *(sa.column(c, sa.String) for c in names),
                      *(sa.column(c, _JSON if c in ('phones', 'tags') else sa.String) for c in others))
    rows = [dict(r._mapping) for r in bind.execute(sa.select(source).order_by(source.c.id))]
    for row in rows:
        fixed = {n: fixed_name(row[n], person=_is_person(row, n)) for n in names}
        updates = {n: v for n, v in fixed.items() if v != row[n]}
        if not updates:
            continue
        bind.execute(source.update().where(source.c.id == row['id']).values(**updates))
        row.update(updates)
        changed(row)


def upgrade() -> None:
    bind = op.get_bind()
    for entity, table, names, others in _ENTITIES:
        def reindex(row: dict[str, Any], entity: str = entity, names: Sequence[str] = names) -> None:
            bind.execute(_TERMS.delete().where(_TERMS.c.entity == entity, _TERMS.c.entity_id == row['id']))
            terms = sorted(_terms(row, names))
            if terms:
                bind.execute(_TERMS.insert(), [{'term': t, 'entity': entity, 'entity_id': row['id']} for t in terms])
        _fix_table(bind, table, names, others, reindex)
    _fix_table(bind, 'staff', ('name',), (), lambda row: None)


def downgrade() -> None:
    # The old order cannot be told from a name like 王小明 that was typed that way: nothing to undo safely.
    pass
