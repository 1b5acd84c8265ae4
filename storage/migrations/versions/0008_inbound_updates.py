"""inbound_updates: webhook updates stored before they are acknowledged, and de-duplicated by update_id

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('handled_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_inbound_updates'))
    )
    with op.batch_alter_table('inbound_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_updates_handled_at'), ['handled_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_updates_handled_at'))

    op.drop_table('inbound_updates')
