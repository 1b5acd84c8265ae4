"""office: documents filed from chat with their search terms, personal events and their attendees, calendar feed
tokens; office.use granted to the built-in roles

Revision ID: 0026
Revises: 0023
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

# Written out rather than read from crm.organisation.permissions: a migration must keep granting what it granted
# when it was written. Roles an organisation customised (is_system false) are left as they chose them.
NEW_PERMISSIONS = {name: ("office.use",) for name in ("admin", "manager", "rep", "reviewer", "finance")}
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
    op.create_table('office_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_key', sa.String(length=200), nullable=False),
    sa.Column('tags', sa.String(length=400), server_default='', nullable=False),
    sa.Column('visibility', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('latest', sa.Boolean(), nullable=False),
    sa.Column('file_id', sa.String(length=200), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('mime_type', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('file_path', sa.String(length=300), nullable=True),
    sa.Column('link_kind', sa.String(length=12), nullable=True),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('link_label', sa.String(length=200), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_office_documents_department_id_departments')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_office_documents_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_documents'))
    )
    with op.batch_alter_table('office_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_documents_owner_id_title_key'), ['owner_id', 'title_key'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_office_documents_visibility_department_id'),
                              ['visibility', 'department_id'], unique=False)

    op.create_table('office_document_terms',
    sa.Column('term', sa.String(length=64), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['office_documents.id'],
                            name=op.f('fk_office_document_terms_document_id_office_documents')),
    sa.PrimaryKeyConstraint('term', 'document_id', name=op.f('pk_office_document_terms'))
    )
    with op.batch_alter_table('office_document_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_document_terms_document_id'), ['document_id'], unique=False)

    op.create_table('office_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_office_events_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_events'))
    )
    with op.batch_alter_table('office_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_events_owner_id_starts_at'), ['owner_id', 'starts_at'],
                              unique=False)

    op.create_table('office_event_attendees',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=10), nullable=False),
    sa.Column('answered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['office_events.id'],
                            name=op.f('fk_office_event_attendees_event_id_office_events')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_office_event_attendees_staff_id_staff')),
    sa.PrimaryKeyConstraint('event_id', 'staff_id', name=op.f('pk_office_event_attendees'))
    )
    with op.batch_alter_table('office_event_attendees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_event_attendees_staff_id_answer'), ['staff_id', 'answer'],
                              unique=False)

    op.create_table('office_event_reminders',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['office_events.id'],
                            name=op.f('fk_office_event_reminders_event_id_office_events')),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'],
                            name=op.f('fk_office_event_reminders_followup_id_followups')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_office_event_reminders_staff_id_staff')),
    sa.PrimaryKeyConstraint('event_id', 'staff_id', name=op.f('pk_office_event_reminders'))
    )
    with op.batch_alter_table('office_event_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_event_reminders_followup_id'), ['followup_id'], unique=True)

    op.create_table('office_calendar_feeds',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_office_calendar_feeds_staff_id_staff')),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_office_calendar_feeds'))
    )
    with op.batch_alter_table('office_calendar_feeds', schema=None) as batch_op:
        batch_op.create_index('uq_office_calendar_feeds_token_hash', ['token_hash'], unique=True)
    _grant(True)


def downgrade() -> None:
    _grant(False)
    op.drop_table('office_calendar_feeds')
    op.drop_table('office_event_reminders')
    op.drop_table('office_event_attendees')
    op.drop_table('office_events')
    op.drop_table('office_document_terms')
    op.drop_table('office_documents')
