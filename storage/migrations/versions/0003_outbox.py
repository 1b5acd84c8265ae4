"""outbox: every outgoing message (SMS, email, fax, bot pushes) and its attachments

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('topic', sa.String(length=40), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('provider_id', sa.String(length=200), nullable=True),
    sa.Column('error_code', sa.String(length=20), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('segments', sa.Integer(), nullable=True),
    sa.Column('notify_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('notify_message_id', sa.BigInteger(), nullable=True),
    sa.Column('notify_locale', sa.String(length=16), nullable=True),
    sa.Column('notify_timezone', sa.String(length=64), nullable=True),
    sa.Column('notify_pending', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_outbox_contact_id_contacts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_outbox_customer_id_customers')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_outbox_lead_id_leads')),
    sa.ForeignKeyConstraint(['requested_by'], ['staff.id'], name=op.f('fk_outbox_requested_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_campaign_id_status'), ['campaign_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_customer_id_created_at'), ['customer_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_notify_pending'), ['notify_pending'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_recipient_channel_status'), ['recipient', 'channel', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_requested_by_created_at'), ['requested_by', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_status_channel_due_at'), ['status', 'channel', 'due_at'], unique=False)

    op.create_table('outbox_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('mime_type', sa.String(length=100), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('ref', sa.String(length=255), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbox.id'], name=op.f('fk_outbox_attachments_message_id_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_attachments'))
    )
    with op.batch_alter_table('outbox_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_attachments_message_id'), ['message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_attachments_message_id'))

    op.drop_table('outbox_attachments')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_status_channel_due_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_requested_by_created_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_recipient_channel_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_provider_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_notify_pending'))
        batch_op.drop_index(batch_op.f('ix_outbox_customer_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_campaign_id_status'))

    op.drop_table('outbox')
