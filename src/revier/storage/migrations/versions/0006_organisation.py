"""Organisation control: the audit log, resumable deactivations and room closures,
the last tenant policy seen (to audit its changes).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The audit log is append-only, enforced by the database itself: rows can't be
# deleted, and of a row only the source address may change (pseudonymisation).
# (Two statements: asyncpg prepares each, and a prepared statement holds one.)
_PG_GUARDS = [
    """
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_log is append-only';
    END IF;
    IF (NEW.id, NEW.ts, NEW.tenant, NEW.actor, NEW.action, NEW.target, NEW.details)
       IS DISTINCT FROM
       (OLD.id, OLD.ts, OLD.tenant, OLD.actor, OLD.action, OLD.target, OLD.details) THEN
        RAISE EXCEPTION 'audit_log is append-only: only source may be pseudonymised';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
]
_SQLITE_GUARDS = [
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_update
       BEFORE UPDATE OF id, ts, tenant, actor, action, target, details ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: only source may be pseudonymised');
       END""",
]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("source_pseudonymised", sa.Boolean(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("audit_log_tenant_id", "audit_log", ["tenant", "id"])
    op.create_index("audit_log_tenant_ts", "audit_log", ["tenant", "ts"])
    op.create_index("audit_log_target", "audit_log", ["tenant", "target"])
    op.create_index("audit_log_actor", "audit_log", ["tenant", "actor"])
    guards = _PG_GUARDS if op.get_bind().dialect.name == "postgresql" else _SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)

    op.create_table(
        "user_deactivations",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("requested_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "room_closures",
        sa.Column("room_id", sa.Text(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("closed_by", sa.Text(), nullable=False),
        sa.Column("closed_ts", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("purge", sa.Boolean(), nullable=False),
        sa.Column("completed_ts", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("room_id"),
    )
    op.create_table(
        "tenant_policies",
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("updated_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant"),
    )


def downgrade() -> None:
    op.drop_table("tenant_policies")
    op.drop_table("room_closures")
    op.drop_table("user_deactivations")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.execute("DROP TRIGGER audit_log_no_update")
    for name in ("audit_log_actor", "audit_log_target", "audit_log_tenant_ts"):
        op.drop_index(name, table_name="audit_log")
    op.drop_index("audit_log_tenant_id", table_name="audit_log")
    op.drop_table("audit_log")
