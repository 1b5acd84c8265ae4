"""outbox: delivery reports that arrive before the send's provider id is stored, kept until it is

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_early_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('error_code', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_early_reports'))
    )
    with op.batch_alter_table('outbox_early_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_early_reports_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_early_reports_received_at'), ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_early_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_early_reports_received_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_early_reports_provider_id'))

    op.drop_table('outbox_early_reports')
