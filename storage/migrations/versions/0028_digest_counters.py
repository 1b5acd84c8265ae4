"""digest counters: per-hour counts of new customers and leads, interactions, follow-ups done and due, per person,
kept by triggers on the counted tables and filled from them here; a ticket's product

Revision ID: 0028
Revises: 0023
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

# metric, table, time column, person column, what makes a row count ({r} is the row: NEW, OLD or a table alias).
# The same conditions as the scanning counts in storage/customers/digest.py — the two must stay identical.
METRICS = (
    ("customer_new", "customers", "created_at", "owner_id", "{r}.deleted_at IS NULL"),
    ("lead_new", "leads", "created_at", "owner_id", "{r}.deleted_at IS NULL"),
    ("interaction", "interactions", "occurred_at", "author_id", "{r}.deleted_at IS NULL"),
    ("followup_done", "followups", "completed_at", "owner_id", "{r}.status = 'done' AND {r}.deleted_at IS NULL"),
    ("followup_due", "followups", "due_at", "owner_id",
     "{r}.status IN ('open', 'done') AND {r}.deleted_at IS NULL"),
)
TABLES = ("customers", "leads", "interactions", "followups")
UPSERT = "ON CONFLICT (metric, hour, staff_id) DO UPDATE SET n = activity_counts.n + excluded.n"


def _hour(dialect: str, column: str) -> str:
    if dialect == "sqlite":  # stored as naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff', the way SQLAlchemy writes it
        return f"substr({column}, 1, 13) || ':00:00.000000'"
    return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def _counted(dialect: str, table: str, row: str, sign: int) -> list[str]:
    """One SELECT per metric of ``table``: (metric, hour, person, ±1) for the rows of ``row`` that count."""
    return [f"SELECT '{metric}' AS metric, {_hour(dialect, f'{row}.{at}')} AS hour, coalesce({row}.{who}, 0) "
            f"AS staff_id, {sign} AS d FROM {{source}} WHERE {row}.{at} IS NOT NULL AND {cond.format(r=row)}"
            for metric, name, at, who, cond in METRICS if name == table]


def _sqlite_triggers(table: str) -> list[str]:
    def change(row: str, sign: int) -> str:
        return "".join(
            f"INSERT INTO activity_counts (metric, hour, staff_id, n) "
            f"{select.replace(' FROM {source}', '').replace(' AS d', '')} {UPSERT};\n"
            for select in _counted("sqlite", table, row, sign))

    columns = sorted({c for _, name, at, who, _ in METRICS if name == table for c in (at, who, "deleted_at")}
                     | ({"status"} if table == "followups" else set()))
    return [
        f"CREATE TRIGGER {table}_counts_insert AFTER INSERT ON {table} BEGIN\n{change('NEW', 1)}END",
        f"CREATE TRIGGER {table}_counts_update AFTER UPDATE OF {', '.join(columns)} ON {table} BEGIN\n"
        f"{change('OLD', -1)}{change('NEW', 1)}END",
        f"CREATE TRIGGER {table}_counts_delete AFTER DELETE ON {table} BEGIN\n{change('OLD', -1)}END",
    ]


def _postgres_triggers(table: str) -> list[str]:
    # Statement triggers over transition tables: a bulk import or a handover of 10,000 customers adds one grouped
    # upsert, not 10,000. Sorted, so two transactions touching the same counters take their locks in one order.
    def upsert(parts: list[str]) -> str:
        return (f"INSERT INTO activity_counts (metric, hour, staff_id, n) SELECT metric, hour, staff_id, sum(d) "
                f"FROM ({' UNION ALL '.join(parts)}) AS changes GROUP BY metric, hour, staff_id "
                f"HAVING sum(d) <> 0 ORDER BY metric, hour, staff_id {UPSERT};")

    added = [s.replace("{source}", "new_rows") for s in _counted("postgresql", table, "new_rows", 1)]
    removed = [s.replace("{source}", "old_rows") for s in _counted("postgresql", table, "old_rows", -1)]
    return [
        f"CREATE FUNCTION {table}_counts() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"  IF TG_OP = 'INSERT' THEN\n    {upsert(added)}\n"
        f"  ELSIF TG_OP = 'DELETE' THEN\n    {upsert(removed)}\n"
        f"  ELSE\n    {upsert(added + removed)}\n  END IF;\n  RETURN NULL;\nEND\n$$",
        f"CREATE TRIGGER {table}_counts_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_counts()",
        f"CREATE TRIGGER {table}_counts_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_counts()",
        f"CREATE TRIGGER {table}_counts_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_counts()",
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table('activity_counts',
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('hour', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('metric', 'hour', 'staff_id', name=op.f('pk_activity_counts')),
    sqlite_with_rowid=False,
    )
    for table in TABLES:
        parts = [s.replace("{source}", f"{table} AS r") for s in _counted(dialect, table, "r", 1)]
        op.execute(f"INSERT INTO activity_counts (metric, hour, staff_id, n) SELECT metric, hour, staff_id, "
                   f"count(*) FROM ({' UNION ALL '.join(parts)}) AS rows GROUP BY metric, hour, staff_id")
        for statement in (_sqlite_triggers if dialect == "sqlite" else _postgres_triggers)(table):
            op.execute(statement)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_product_id_products'), 'products', ['product_id'], ['id'])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_product_id_products'), type_='foreignkey')
        batch_op.drop_column('product_id')
    for table in TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_counts_{event}" + ("" if dialect == "sqlite" else
                                                                             f" ON {table}"))
        if dialect != "sqlite":
            op.execute(f"DROP FUNCTION IF EXISTS {table}_counts()")
    op.drop_table('activity_counts')
