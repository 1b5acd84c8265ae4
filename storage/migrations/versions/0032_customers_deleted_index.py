"""customers: a partial index of the deleted ones (a segment's count subtracts them without reading live rows)

Revision ID: 0032
Revises: 0023
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

_DELETED = sa.text('deleted_at IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_deleted', ['deleted_at', 'owner_id'], unique=False,
                              sqlite_where=_DELETED,
                              postgresql_where=_DELETED)


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_deleted', sqlite_where=_DELETED, postgresql_where=_DELETED)
