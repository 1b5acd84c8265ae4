"""announcements: the bulletin board and one delivery / read-receipt row per recipient

Revision ID: 0017
Revises: 0016
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.String(length=4000), nullable=False),
    sa.Column('audience_kind', sa.String(length=12), nullable=False),
    sa.Column('audience_id', sa.Integer(), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('attachment_kind', sa.String(length=10), nullable=True),
    sa.Column('attachment_file_id', sa.String(length=200), nullable=True),
    sa.Column('attachment_path', sa.String(length=300), nullable=True),
    sa.Column('publish_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('edited_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['staff.id'], name=op.f('fk_announcements_author_id_staff')),
    sa.ForeignKeyConstraint(['deleted_by'], ['staff.id'], name=op.f('fk_announcements_deleted_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_announcements_published_at_publish_at'), ['published_at', 'publish_at'],
                              unique=False)
    op.create_table('announcement_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('shown_version', sa.Integer(), nullable=False),
    sa.Column('uncertain', sa.Boolean(), nullable=False),
    sa.Column('claimed_by', sa.String(length=60), nullable=True),
    sa.Column('lease_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('nudged_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'],
                            name=op.f('fk_announcement_recipients_announcement_id_announcements')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_announcement_recipients_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcement_recipients')),
    sa.UniqueConstraint('announcement_id', 'staff_id',
                        name=op.f('uq_announcement_recipients_announcement_id_staff_id'))
    )
    with op.batch_alter_table('announcement_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_recipients_staff_id_read_at'), ['staff_id', 'read_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_announcement_recipients_state_next_at'), ['state', 'next_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('announcement_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_recipients_state_next_at'))
        batch_op.drop_index(batch_op.f('ix_announcement_recipients_staff_id_read_at'))
    op.drop_table('announcement_recipients')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcements_published_at_publish_at'))
        batch_op.drop_index(batch_op.f('ix_announcements_author_id'))
    op.drop_table('announcements')
