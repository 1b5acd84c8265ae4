"""sales: the pipeline — opportunity stages (seeded: new 10 % → qualified 25 % → proposal 50 % → negotiation 75 %
→ won 100 % / lost 0 %) and opportunities

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Written out rather than imported from crm.sales: a migration must keep creating what it created when it was
# written, whatever the code's defaults become later.
STAGES = (
    ("new", "New", "新機會", "新机会", 10, Decimal(10), "open"),
    ("qualified", "Qualified", "已確認需求", "已确认需求", 20, Decimal(25), "open"),
    ("proposal", "Proposal", "提案", "提案", 30, Decimal(50), "open"),
    ("negotiation", "Negotiation", "議價", "议价", 40, Decimal(75), "open"),
    ("won", "Won", "贏單", "赢单", 50, Decimal(100), "won"),
    ("lost", "Lost", "輸單", "输单", 60, Decimal(0), "lost"),
)


def upgrade() -> None:
    stages = op.create_table('opportunity_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hant', sa.String(length=100), nullable=True),
    sa.Column('name_zh_hans', sa.String(length=100), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('probability', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_stages')),
    sa.UniqueConstraint('key', name=op.f('uq_opportunity_stages_key'))
    )
    op.create_table('opportunities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('amount', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('close_date', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('competitors', sa.String(length=500), nullable=True),
    sa.Column('lost_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_opportunities_customer_id_customers')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_opportunities_owner_id_staff')),
    sa.ForeignKeyConstraint(['stage_id'], ['opportunity_stages.id'],
                            name=op.f('fk_opportunities_stage_id_opportunity_stages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities'))
    )
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunities_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_owner_id_stage_id'), ['owner_id', 'stage_id'],
                              unique=False)
    op.bulk_insert(stages, [
        {"key": key, "name": name, "name_zh_hant": hant, "name_zh_hans": hans, "sequence": sequence,
         "probability": probability, "outcome": outcome}
        for key, name, hant, hans, sequence, probability, outcome in STAGES])


def downgrade() -> None:
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunities_owner_id_stage_id'))
        batch_op.drop_index(batch_op.f('ix_opportunities_customer_id'))
    op.drop_table('opportunities')
    op.drop_table('opportunity_stages')
