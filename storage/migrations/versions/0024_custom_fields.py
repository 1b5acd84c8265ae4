"""custom fields: definitions per kind of record and their values in typed, indexed columns

Revision ID: 0024
Revises: 0023
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('custom_fields',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=12), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('labels', storage.types.JSONType, nullable=False),
    sa.Column('choices', storage.types.JSONType, nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_custom_fields_created_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_fields'))
    )
    with op.batch_alter_table('custom_fields', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custom_fields_entity_position'), ['entity', 'position'], unique=False)

    op.create_table('custom_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('field_id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=12), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.Integer(), nullable=False),
    sa.Column('value_text', sa.String(length=500), nullable=True),
    sa.Column('value_key', sa.String(length=500), nullable=True),
    sa.Column('value_number', storage.types.ExactDecimal(), nullable=True),
    sa.Column('value_sort', sa.Float(), nullable=True),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['field_id'], ['custom_fields.id'], name=op.f('fk_custom_values_field_id_custom_fields')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_values'))
    )
    with op.batch_alter_table('custom_values', schema=None) as batch_op:
        batch_op.create_index('uq_custom_values_record_field_item', ['entity_id', 'field_id', 'item'], unique=True)
        batch_op.create_index('ix_custom_values_field_key', ['field_id', 'value_key', 'entity_id'], unique=False)
        batch_op.create_index('ix_custom_values_field_sort', ['field_id', 'value_sort', 'entity_id'], unique=False)
        batch_op.create_index('ix_custom_values_field_date', ['field_id', 'value_date', 'entity_id'], unique=False)


def downgrade() -> None:
    op.drop_table('custom_values')
    op.drop_table('custom_fields')
