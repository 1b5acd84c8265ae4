"""sales: discount limits per role and discount approval requests

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('role_discount_limits',
    sa.Column('role_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('percent', storage.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_role_discount_limits_role_id_roles')),
    sa.PrimaryKeyConstraint('role_id', name=op.f('pk_role_discount_limits'))
    )
    op.create_table('discount_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('percent', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('limit', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['staff.id'], name=op.f('fk_discount_approvals_decided_by_staff')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_discount_approvals_owner_id_staff')),
    sa.ForeignKeyConstraint(['requested_by'], ['staff.id'], name=op.f('fk_discount_approvals_requested_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discount_approvals'))
    )
    with op.batch_alter_table('discount_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discount_approvals_kind_subject_id'), ['kind', 'subject_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_discount_approvals_status_owner_id'), ['status', 'owner_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('discount_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discount_approvals_status_owner_id'))
        batch_op.drop_index(batch_op.f('ix_discount_approvals_kind_subject_id'))
    op.drop_table('discount_approvals')
    op.drop_table('role_discount_limits')
