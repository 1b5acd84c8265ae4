"""digests: each person's digest setting, the claims of scheduled digests, and the indexes the digest's counts
read (new customers and leads, interactions, follow-ups done, due and overdue, expenses decided)

Revision ID: 0018
Revises: 0017
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_settings',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.String(length=8), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_digest_settings_staff_id_staff')),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_digest_settings'))
    )
    op.create_table('digest_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('claimed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_digest_sends_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_sends')),
    sa.UniqueConstraint('staff_id', 'frequency', 'period_start',
                        name=op.f('uq_digest_sends_staff_id_frequency_period_start'))
    )
    with op.batch_alter_table('digest_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_sends_period_start'), ['period_start'], unique=False)
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_created_at_owner_id_deleted_at'),
                              ['created_at', 'owner_id', 'deleted_at'], unique=False)
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leads_created_at_owner_id_deleted_at'),
                              ['created_at', 'owner_id', 'deleted_at'], unique=False)
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interactions_occurred_at_author_id_deleted_at'),
                              ['occurred_at', 'author_id', 'deleted_at'], unique=False)
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_status_due_at_owner_id_deleted_at'),
                              ['status', 'due_at', 'owner_id', 'deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_completed_at_status_owner_id_deleted_at'),
                              ['completed_at', 'status', 'owner_id', 'deleted_at'], unique=False)
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expenses_decided_at'), ['decided_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expenses_decided_at'))
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followups_completed_at_status_owner_id_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_followups_status_due_at_owner_id_deleted_at'))
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interactions_occurred_at_author_id_deleted_at'))
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leads_created_at_owner_id_deleted_at'))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_created_at_owner_id_deleted_at'))
    with op.batch_alter_table('digest_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_sends_period_start'))
    op.drop_table('digest_sends')
    op.drop_table('digest_settings')
