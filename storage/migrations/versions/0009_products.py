"""sales: the product catalog (categories, products, their search terms) and prices agreed with customers

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The default roles of a database created before this revision get the catalog's permissions as a new one would
# (crm/organisation/permissions.py, DEFAULT_ROLES); roles a company made itself are left to it.
NEW_PERMISSIONS = {"admin": ("products.manage", "prices.view_cost"),
                   "manager": ("products.manage", "prices.view_cost"),
                   "finance": ("prices.view_cost",)}
_roles = sa.table("roles", sa.column("id", sa.Integer), sa.column("name", sa.String),
                  sa.column("permissions", storage.types.JSONType), sa.column("is_system", sa.Boolean),
                  sa.column("version", sa.Integer))


def _grant(add: bool) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_roles.c.id, _roles.c.name, _roles.c.permissions).where(
        _roles.c.is_system.is_(True), _roles.c.name.in_(list(NEW_PERMISSIONS)))).all()
    for role_id, name, permissions in rows:
        before = set(permissions or ())
        after = before | set(NEW_PERMISSIONS[name]) if add else before - set(NEW_PERMISSIONS[name])
        if after != before:
            # A new version: running bots reload the role on the next update (crm/organisation/identity.py).
            conn.execute(sa.update(_roles).where(_roles.c.id == role_id).values(
                permissions=sorted(after), version=_roles.c.version + 1))


def upgrade() -> None:
    op.create_table('product_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['product_categories.id'],
                            name=op.f('fk_product_categories_parent_id_product_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_categories'))
    )
    with op.batch_alter_table('product_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_categories_parent_id'), ['parent_id'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_zh_hant', sa.String(length=200), nullable=True),
    sa.Column('name_zh_hans', sa.String(length=200), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('list_price', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('cost', storage.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('tax_rate', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('photo_file_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['product_categories.id'],
                            name=op.f('fk_products_category_id_product_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_category_id'), ['category_id'], unique=False)
        batch_op.create_index('uq_products_live_sku', ['sku'], unique=True,
                              sqlite_where=sa.text('deleted_at IS NULL'),
                              postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('product_search_terms',
    sa.Column('term', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                            name=op.f('fk_product_search_terms_product_id_products')),
    sa.PrimaryKeyConstraint('term', 'product_id', name=op.f('pk_product_search_terms'))
    )
    with op.batch_alter_table('product_search_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_search_terms_product_id'), ['product_id'], unique=False)

    op.create_table('customer_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('amount', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                            name=op.f('fk_customer_prices_customer_id_customers')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_customer_prices_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_prices'))
    )
    with op.batch_alter_table('customer_prices', schema=None) as batch_op:
        batch_op.create_index('uq_customer_prices_customer_product', ['customer_id', 'product_id'], unique=True)
    _grant(add=True)


def downgrade() -> None:
    _grant(add=False)
    with op.batch_alter_table('customer_prices', schema=None) as batch_op:
        batch_op.drop_index('uq_customer_prices_customer_product')
    op.drop_table('customer_prices')
    with op.batch_alter_table('product_search_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_search_terms_product_id'))
    op.drop_table('product_search_terms')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index('uq_products_live_sku', sqlite_where=sa.text('deleted_at IS NULL'),
                            postgresql_where=sa.text('deleted_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_products_category_id'))
    op.drop_table('products')
    with op.batch_alter_table('product_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_categories_parent_id'))
    op.drop_table('product_categories')
