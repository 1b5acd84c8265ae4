"""customers contacts leads followups

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types  # noqa: F401  (autogenerate renders our column types by module path)
from sqlalchemy.dialects import postgresql
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('search_terms',
    sa.Column('term', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=10), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('term', 'entity', 'entity_id', name=op.f('pk_search_terms'))
    )
    with op.batch_alter_table('search_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_terms_entity_entity_id'), ['entity', 'entity_id'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('short_name', sa.String(length=100), nullable=True),
    sa.Column('phones', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('classification', sa.String(length=12), nullable=False),
    sa.Column('tier', sa.String(length=1), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_contact_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_customers_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_last_contact_at'), ['last_contact_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_owner_id'), ['owner_id'], unique=False)

    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('filters', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_segments_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments'))
    )
    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('phones', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contacts_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_customer_id'), ['customer_id'], unique=False)

    op.create_table('leads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('company_name', sa.String(length=200), nullable=True),
    sa.Column('phones', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('drop_reason', sa.String(length=500), nullable=True),
    sa.Column('converted_customer_id', sa.Integer(), nullable=True),
    sa.Column('converted_contact_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_contact_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['converted_contact_id'], ['contacts.id'], name=op.f('fk_leads_converted_contact_id_contacts')),
    sa.ForeignKeyConstraint(['converted_customer_id'], ['customers.id'], name=op.f('fk_leads_converted_customer_id_customers')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_leads_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads'))
    )
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leads_owner_id'), ['owner_id'], unique=False)

    op.create_table('interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('occurred_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['staff.id'], name=op.f('fk_interactions_author_id_staff')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_interactions_contact_id_contacts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_interactions_customer_id_customers')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_interactions_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions'))
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interactions_customer_id_occurred_at'), ['customer_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_lead_id_occurred_at'), ['lead_id', 'occurred_at'], unique=False)

    op.create_table('followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('remind_state', sa.String(length=10), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_late', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_followups_contact_id_contacts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_followups_customer_id_customers')),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_followups_interaction_id_interactions')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_followups_lead_id_leads')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_followups_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_owner_id_status_due_at'), ['owner_id', 'status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_remind_state_due_at'), ['remind_state', 'due_at'], unique=False)

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agenda_time', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('agenda_sent_on', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('agenda_sent_on')
        batch_op.drop_column('agenda_time')

    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followups_remind_state_due_at'))
        batch_op.drop_index(batch_op.f('ix_followups_owner_id_status_due_at'))
        batch_op.drop_index(batch_op.f('ix_followups_lead_id'))
        batch_op.drop_index(batch_op.f('ix_followups_customer_id'))

    op.drop_table('followups')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interactions_lead_id_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_interactions_customer_id_occurred_at'))

    op.drop_table('interactions')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leads_owner_id'))

    op.drop_table('leads')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_customer_id'))

    op.drop_table('contacts')
    op.drop_table('segments')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_owner_id'))
        batch_op.drop_index(batch_op.f('ix_customers_last_contact_at'))

    op.drop_table('customers')
    with op.batch_alter_table('search_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_terms_entity_entity_id'))

    op.drop_table('search_terms')
