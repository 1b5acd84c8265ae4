"""expenses: categories (seeded: travel, meals, gifts, transport, lodging, other, in three languages) and
expenses with their approval

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Written out rather than imported from crm.expenses: a migration must keep creating what it created when it was
# written, whatever the code's defaults become later.
CATEGORIES = (
    ("travel", "Travel", "差旅", "差旅", 10, "trip flight airfare 出差 機票 机票"),
    ("meals", "Meals", "餐費", "餐费", 20, "meal lunch dinner breakfast food 餐 午餐 晚餐 早餐 餐飲 餐饮 吃飯 吃饭"),
    ("gifts", "Gifts", "禮品", "礼品", 30, "gift present 禮物 礼物 送禮 送礼"),
    ("transport", "Transport", "交通", "交通", 40,
     "taxi uber cab bus train mrt metro parking fuel gas toll 計程車 计程车 出租車 出租车 高鐵 高铁 捷運 捷运 地鐵 地铁 "
     "停車 停车 油資 油费 交通費 交通费"),
    ("lodging", "Lodging", "住宿", "住宿", 50, "hotel accommodation 飯店 饭店 酒店 旅館 旅馆"),
    ("other", "Other", "其他", "其他", 90, "misc 雜支 杂支"),
)


def upgrade() -> None:
    categories = op.create_table('expense_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hant', sa.String(length=100), nullable=True),
    sa.Column('name_zh_hans', sa.String(length=100), nullable=True),
    sa.Column('words', sa.String(length=500), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expense_categories')),
    sa.UniqueConstraint('key', name=op.f('uq_expense_categories_key'))
    )
    op.create_table('expenses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('amount', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('spent_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('receipt_file_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['expense_categories.id'],
                            name=op.f('fk_expenses_category_id_expense_categories')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_expenses_customer_id_customers')),
    sa.ForeignKeyConstraint(['decided_by'], ['staff.id'], name=op.f('fk_expenses_decided_by_staff')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_expenses_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expenses'))
    )
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expenses_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expenses_staff_id_spent_on'), ['staff_id', 'spent_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_expenses_status'), ['status'], unique=False)
    op.bulk_insert(categories, [
        {"key": key, "name": name, "name_zh_hant": hant, "name_zh_hans": hans, "sequence": sequence, "words": words}
        for key, name, hant, hans, sequence, words in CATEGORIES])


def downgrade() -> None:
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expenses_status'))
        batch_op.drop_index(batch_op.f('ix_expenses_staff_id_spent_on'))
        batch_op.drop_index(batch_op.f('ix_expenses_customer_id'))
    op.drop_table('expenses')
    op.drop_table('expense_categories')
