"""orders: orders with their lines and shipped quantities, the number counter per year, shipments and their lines

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_order_counters'))
    )
    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('order_discount', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('total', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_orders_customer_id_customers')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_orders_owner_id_staff')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_orders_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_orders_number'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_owner_id_status'), ['owner_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_quote_id'), ['quote_id'], unique=False)
    op.create_table('order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('quantity', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('unit_price', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('discount', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('tax_rate', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('shipped', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_order_lines_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines'))
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_lines_order_id_position'), ['order_id', 'position'],
                              unique=False)
    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=60), nullable=True),
    sa.Column('tracking', sa.String(length=80), nullable=True),
    sa.Column('shipped_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by_staff_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['by_staff_id'], ['staff.id'], name=op.f('fk_shipments_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipments_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_order_id'), ['order_id'], unique=False)
    op.create_table('shipment_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('quantity', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_lines_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_lines'))
    )
    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_lines_shipment_id'), ['shipment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_lines_shipment_id'))
    op.drop_table('shipment_lines')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipments_order_id'))
    op.drop_table('shipments')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_lines_order_id_position'))
    op.drop_table('order_lines')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_quote_id'))
        batch_op.drop_index(batch_op.f('ix_orders_owner_id_status'))
        batch_op.drop_index(batch_op.f('ix_orders_customer_id'))
    op.drop_table('orders')
    op.drop_table('order_counters')
