"""orders: the sales analysis's rollup per UTC day and month (sales_rollup_orders, sales_rollup_lines), backfilled;
quote, order and invoice lines: the product's translated names

Revision ID: 0027
Revises: 0023
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.orders.rollup import backfill

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

LINE_TABLES = ('quote_lines', 'order_lines', 'invoice_lines')


def upgrade() -> None:
    op.create_table('sales_rollup_orders',
    sa.Column('unit', sa.String(length=1), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('cents', sa.BigInteger(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit', 'start', 'owner_id', 'customer_id', 'currency',
                            name=op.f('pk_sales_rollup_orders'))
    )
    with op.batch_alter_table('sales_rollup_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_rollup_orders_unit_owner_id_start'), ['unit', 'owner_id', 'start'],
                              unique=False)
    op.create_table('sales_rollup_lines',
    sa.Column('unit', sa.String(length=1), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('cents', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit', 'start', 'owner_id', 'product_id', 'currency',
                            name=op.f('pk_sales_rollup_lines'))
    )
    with op.batch_alter_table('sales_rollup_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_rollup_lines_unit_owner_id_start'), ['unit', 'owner_id', 'start'],
                              unique=False)
    # Lines keep the product's translated names beside the main name. A line made before gets the product's
    # current translations only where its main name is still the product's: otherwise they may name something else.
    for table in LINE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('name_zh_hant', sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column('name_zh_hans', sa.String(length=200), nullable=True))
        for column in ('name_zh_hant', 'name_zh_hans'):
            op.execute(f"UPDATE {table} SET {column} = (SELECT p.{column} FROM products p "
                       f"WHERE p.id = {table}.product_id AND p.name = {table}.name)")
    # The orders taken so far, summed with the same statements the order repository runs on every change.
    backfill(op.get_bind())


def downgrade() -> None:
    for table in LINE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('name_zh_hans')
            batch_op.drop_column('name_zh_hant')
    for table in ('sales_rollup_lines', 'sales_rollup_orders'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_unit_owner_id_start'))
        op.drop_table(table)
