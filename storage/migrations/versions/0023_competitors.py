"""competitors: the competitor archive, their products, intel from the field, competitors named on
opportunities and who won the lost ones

Revision ID: 0023
Revises: 0022
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

_LIVE = sa.text('deleted_at IS NULL')


def upgrade() -> None:
    op.create_table('competitors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('brands', sa.String(length=1000), nullable=True),
    sa.Column('regions', sa.String(length=1000), nullable=True),
    sa.Column('strengths', sa.String(length=1000), nullable=True),
    sa.Column('weaknesses', sa.String(length=1000), nullable=True),
    sa.Column('sources', sa.String(length=1000), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_competitors_created_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competitors'))
    )
    with op.batch_alter_table('competitors', schema=None) as batch_op:
        batch_op.create_index('uq_competitors_live_name_key', ['name_key'], unique=True, sqlite_where=_LIVE,
                              postgresql_where=_LIVE)

    op.create_table('competitor_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competitor_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('price', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('seen_on', sa.Date(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['product_categories.id'],
                            name=op.f('fk_competitor_products_category_id_product_categories')),
    sa.ForeignKeyConstraint(['competitor_id'], ['competitors.id'],
                            name=op.f('fk_competitor_products_competitor_id_competitors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competitor_products'))
    )
    with op.batch_alter_table('competitor_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competitor_products_competitor_id'), ['competitor_id'], unique=False)

    op.create_table('competitor_intel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competitor_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('price', storage.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('seen_on', sa.Date(), nullable=False),
    sa.Column('file_id', sa.String(length=200), nullable=True),
    sa.Column('file_path', sa.String(length=300), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['competitor_id'], ['competitors.id'],
                            name=op.f('fk_competitor_intel_competitor_id_competitors')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_competitor_intel_customer_id_customers')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_competitor_intel_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competitor_intel'))
    )
    with op.batch_alter_table('competitor_intel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competitor_intel_competitor_id_created_at'),
                              ['competitor_id', 'created_at'], unique=False)

    op.create_table('opportunity_competitors',
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('competitor_id', sa.Integer(), nullable=False),
    sa.Column('added_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['competitor_id'], ['competitors.id'],
                            name=op.f('fk_opportunity_competitors_competitor_id_competitors')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'],
                            name=op.f('fk_opportunity_competitors_opportunity_id_opportunities')),
    sa.PrimaryKeyConstraint('opportunity_id', 'competitor_id', name=op.f('pk_opportunity_competitors'))
    )
    with op.batch_alter_table('opportunity_competitors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_competitors_competitor_id'), ['competitor_id'],
                              unique=False)

    op.create_table('opportunity_losses',
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('lost_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('asked_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.String(length=10), nullable=True),
    sa.Column('winner_id', sa.Integer(), nullable=True),
    sa.Column('why', sa.String(length=500), nullable=True),
    sa.Column('answered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'],
                            name=op.f('fk_opportunity_losses_opportunity_id_opportunities')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_opportunity_losses_owner_id_staff')),
    sa.ForeignKeyConstraint(['winner_id'], ['competitors.id'],
                            name=op.f('fk_opportunity_losses_winner_id_competitors')),
    sa.PrimaryKeyConstraint('opportunity_id', name=op.f('pk_opportunity_losses'))
    )
    with op.batch_alter_table('opportunity_losses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_losses_asked_at'), ['asked_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('opportunity_losses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_losses_asked_at'))
    op.drop_table('opportunity_losses')
    with op.batch_alter_table('opportunity_competitors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_competitors_competitor_id'))
    op.drop_table('opportunity_competitors')
    with op.batch_alter_table('competitor_intel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competitor_intel_competitor_id_created_at'))
    op.drop_table('competitor_intel')
    with op.batch_alter_table('competitor_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competitor_products_competitor_id'))
    op.drop_table('competitor_products')
    with op.batch_alter_table('competitors', schema=None) as batch_op:
        batch_op.drop_index('uq_competitors_live_name_key', sqlite_where=_LIVE, postgresql_where=_LIVE)
    op.drop_table('competitors')
