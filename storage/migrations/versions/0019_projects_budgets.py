"""expenses: projects (an expense may be on one), budgets per department × category × year (optionally per
project), the budget alerts sent, and the receipt's copy under DATA_DIR

Revision ID: 0019
Revises: 0018
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_key', sa.String(length=100), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_projects_customer_id_customers')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_projects_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_owner_id'), ['owner_id'], unique=False)
    op.create_table('expense_budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('project_key', sa.Integer(), nullable=False),
    sa.Column('amount', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('set_by', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['expense_categories.id'],
                            name=op.f('fk_expense_budgets_category_id_expense_categories')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_expense_budgets_department_id_departments')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_expense_budgets_project_id_projects')),
    sa.ForeignKeyConstraint(['set_by'], ['staff.id'], name=op.f('fk_expense_budgets_set_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expense_budgets')),
    sa.UniqueConstraint('department_id', 'category_id', 'year', 'project_key',
                        name=op.f('uq_expense_budgets_department_id_category_id_year_project_key'))
    )
    with op.batch_alter_table('expense_budgets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expense_budgets_year_department_id'), ['year', 'department_id'],
                              unique=False)
    op.create_table('expense_budget_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('used', storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('crossed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['budget_id'], ['expense_budgets.id'],
                            name=op.f('fk_expense_budget_alerts_budget_id_expense_budgets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expense_budget_alerts')),
    sa.UniqueConstraint('budget_id', 'threshold', name=op.f('uq_expense_budget_alerts_budget_id_threshold'))
    )
    with op.batch_alter_table('expense_budget_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expense_budget_alerts_sent_at'), ['sent_at'], unique=False)
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_path', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('project_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_expenses_project_id_projects'), 'projects', ['project_id'],
                                    ['id'])
        batch_op.create_index(batch_op.f('ix_expenses_project_id'), ['project_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expenses_project_id'))
        batch_op.drop_constraint(batch_op.f('fk_expenses_project_id_projects'), type_='foreignkey')
        batch_op.drop_column('project_id')
        batch_op.drop_column('receipt_path')
    with op.batch_alter_table('expense_budget_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expense_budget_alerts_sent_at'))
    op.drop_table('expense_budget_alerts')
    with op.batch_alter_table('expense_budgets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expense_budgets_year_department_id'))
    op.drop_table('expense_budgets')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_owner_id'))
        batch_op.drop_index(batch_op.f('ix_projects_name_key'))
    op.drop_table('projects')
