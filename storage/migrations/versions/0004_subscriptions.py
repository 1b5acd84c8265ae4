"""sms subscriptions: topics, consent events (proof of opt-in), templates, campaigns under review

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types  # noqa: F401  (autogenerate renders our column types by module path)

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hant', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hans', sa.String(length=100), nullable=False),
    sa.Column('marketing', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_topics')),
    sa.UniqueConstraint('key', name=op.f('uq_sms_topics_key'))
    )
    op.create_table('sms_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('body_zh_hant', sa.Text(), nullable=False),
    sa.Column('body_zh_hans', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_sms_templates_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_templates'))
    )
    with op.batch_alter_table('sms_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_templates_owner_id'), ['owner_id'], unique=False)

    op.create_table('sms_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('estimated_segments', sa.Integer(), nullable=False),
    sa.Column('estimated_cost', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('sample', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by'], ['staff.id'], name=op.f('fk_sms_campaigns_requested_by_staff')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['staff.id'], name=op.f('fk_sms_campaigns_reviewed_by_staff')),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_sms_campaigns_segment_id_segments')),
    sa.ForeignKeyConstraint(['template_id'], ['sms_templates.id'], name=op.f('fk_sms_campaigns_template_id_sms_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_campaigns'))
    )
    with op.batch_alter_table('sms_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_campaigns_requested_by'), ['requested_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_campaigns_status_created_at'), ['status', 'created_at'], unique=False)

    op.create_table('sms_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('changed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_sms_consents_contact_id_contacts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sms_consents_customer_id_customers')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_sms_consents_lead_id_leads')),
    sa.ForeignKeyConstraint(['recorded_by'], ['staff.id'], name=op.f('fk_sms_consents_recorded_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_consents'))
    )
    with op.batch_alter_table('sms_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_consents_phone_topic_id'), ['phone', 'topic', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_consents_topic_phone_id'), ['topic', 'phone', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sms_consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_consents_topic_phone_id'))
        batch_op.drop_index(batch_op.f('ix_sms_consents_phone_topic_id'))

    op.drop_table('sms_consents')
    with op.batch_alter_table('sms_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_campaigns_status_created_at'))
        batch_op.drop_index(batch_op.f('ix_sms_campaigns_requested_by'))

    op.drop_table('sms_campaigns')
    with op.batch_alter_table('sms_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_templates_owner_id'))

    op.drop_table('sms_templates')
    op.drop_table('sms_topics')
