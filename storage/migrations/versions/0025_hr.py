"""hr: staff profiles, key events, KPI targets and performance reviews; indexes for per-person KPI figures; the
HR permissions granted to the built-in roles

Revision ID: 0025
Revises: 0023
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

_LIVE = sa.text('deleted_at IS NULL')

# Written out rather than read from crm.organisation.permissions: a migration must keep granting what it granted
# when it was written. Roles an organisation customised (is_system false) are left as they chose them.
NEW_PERMISSIONS = {
    "admin": ("hr.view", "hr.manage", "reviews.manage"),
    "manager": ("hr.view", "hr.manage", "reviews.manage"),
}
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
    op.create_table('staff_profiles',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('employee_no', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('hire_date', sa.Date(), nullable=True),
    sa.Column('phone', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('emergency_contact', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['staff.id'], name=op.f('fk_staff_profiles_manager_id_staff')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_profiles_staff_id_staff')),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_profiles'))
    )
    op.create_table('hr_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('from_department_id', sa.Integer(), nullable=True),
    sa.Column('to_department_id', sa.Integer(), nullable=True),
    sa.Column('file_id', sa.String(length=200), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('file_path', sa.String(length=300), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_hr_events_created_by_staff')),
    sa.ForeignKeyConstraint(['from_department_id'], ['departments.id'],
                            name=op.f('fk_hr_events_from_department_id_departments')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_hr_events_staff_id_staff')),
    sa.ForeignKeyConstraint(['to_department_id'], ['departments.id'],
                            name=op.f('fk_hr_events_to_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hr_events'))
    )
    with op.batch_alter_table('hr_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hr_events_staff_id_occurred_on'), ['staff_id', 'occurred_on'],
                              unique=False)

    op.create_table('kpi_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('role_id', sa.Integer(), nullable=True),
    sa.Column('kpi', sa.String(length=40), nullable=False),
    sa.Column('period_kind', sa.String(length=1), nullable=False),
    sa.Column('target', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_kpi_targets_role_id_roles')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_kpi_targets_staff_id_staff')),
    sa.ForeignKeyConstraint(['updated_by'], ['staff.id'], name=op.f('fk_kpi_targets_updated_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_targets'))
    )
    with op.batch_alter_table('kpi_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpi_targets_role_id'), ['role_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kpi_targets_staff_id'), ['staff_id'], unique=False)

    op.create_table('hr_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sa.String(length=1), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('lines', storage.types.JSONType, nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['reviewer_id'], ['staff.id'], name=op.f('fk_hr_reviews_reviewer_id_staff')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_hr_reviews_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hr_reviews'))
    )
    with op.batch_alter_table('hr_reviews', schema=None) as batch_op:
        batch_op.create_index('uq_hr_reviews_live_period', ['staff_id', 'period_kind', 'period_start'], unique=True,
                              sqlite_where=_LIVE, postgresql_where=_LIVE)

    # A person's figures of a period, straight from an index: interactions by author (and kind, for visits),
    # follow-ups done by owner.
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interactions_author_id_occurred_at_kind_deleted_at'),
                              ['author_id', 'occurred_at', 'kind', 'deleted_at'], unique=False)
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_owner_id_completed_at_due_at_status_deleted_at'),
                              ['owner_id', 'completed_at', 'due_at', 'status', 'deleted_at'], unique=False)
    _grant(True)


def downgrade() -> None:
    _grant(False)
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followups_owner_id_completed_at_due_at_status_deleted_at'))
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interactions_author_id_occurred_at_kind_deleted_at'))
    op.drop_table('hr_reviews')
    op.drop_table('kpi_targets')
    op.drop_table('hr_events')
    op.drop_table('staff_profiles')
