"""contracts: contracts per customer (value, term, terms, file, renewal reminder as a follow-up row) and their
numbering counter per year

Revision ID: 0016
Revises: 0015
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contract_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_contract_counters'))
    )
    op.create_table('contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('value', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('remind_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('end_reason', sa.String(length=500), nullable=True),
    sa.Column('renewed_from', sa.Integer(), nullable=True),
    sa.Column('file_id', sa.String(length=200), nullable=True),
    sa.Column('file_name', sa.String(length=120), nullable=True),
    sa.Column('file_path', sa.String(length=200), nullable=True),
    sa.Column('reminder_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contracts_customer_id_customers')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_contracts_owner_id_staff')),
    sa.ForeignKeyConstraint(['reminder_id'], ['followups.id'], name=op.f('fk_contracts_reminder_id_followups')),
    sa.ForeignKeyConstraint(['renewed_from'], ['contracts.id'], name=op.f('fk_contracts_renewed_from_contracts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('number', name=op.f('uq_contracts_number'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contracts_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_owner_id_status_ends_on'), ['owner_id', 'status', 'ends_on'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_reminder_id'), ['reminder_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contracts_reminder_id'))
        batch_op.drop_index(batch_op.f('ix_contracts_owner_id_status_ends_on'))
        batch_op.drop_index(batch_op.f('ix_contracts_customer_id'))
    op.drop_table('contracts')
    op.drop_table('contract_counters')
