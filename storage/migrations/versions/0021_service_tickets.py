"""service: tickets (numbered per year, SLA due and nudge times, satisfaction) and their entries

Revision ID: 0021
Revises: 0020
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('nudge_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_response_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('nudged_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('breach_told_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('satisfaction_asked_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff.id'], name=op.f('fk_tickets_assignee_id_staff')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_tickets_contact_id_contacts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tickets_customer_id_customers')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_tickets_lead_id_leads')),
    sa.ForeignKeyConstraint(['opened_by'], ['staff.id'], name=op.f('fk_tickets_opened_by_staff')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_tickets_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('number', name=op.f('uq_tickets_number'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_status_due_at'), ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_year_sequence'), ['year', 'sequence'], unique=True)
    op.create_table('ticket_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('file_id', sa.String(length=200), nullable=True),
    sa.Column('file_path', sa.String(length=300), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_ticket_entries_staff_id_staff')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_entries_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_entries'))
    )
    with op.batch_alter_table('ticket_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_entries_ticket_id_id'), ['ticket_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_entries_ticket_id_id'))
    op.drop_table('ticket_entries')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_year_sequence'))
        batch_op.drop_index(batch_op.f('ix_tickets_status_due_at'))
        batch_op.drop_index(batch_op.f('ix_tickets_phone'))
        batch_op.drop_index(batch_op.f('ix_tickets_owner_id'))
        batch_op.drop_index(batch_op.f('ix_tickets_assignee_id'))
    op.drop_table('tickets')
