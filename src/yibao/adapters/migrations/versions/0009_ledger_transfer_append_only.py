"""ledger transfers append-only on PostgreSQL

Revision ID: 0009
Revises: 0008

A posting is never updated or deleted: a mistake is corrected by a reversing posting. On
PostgreSQL the database itself now refuses an UPDATE, DELETE or TRUNCATE of ledger_transfer,
whoever sends it, so the history `yibao ledger check` reconciles cannot be rewritten through the
application's connection. Only the table's owner or a superuser can switch the triggers off
(`ALTER TABLE ledger_transfer DISABLE TRIGGER ...`), which is itself a visible act. SQLite has
no roles to keep apart: there the check is what finds a rewritten posting.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REFUSE = """
CREATE FUNCTION ledger_transfer_append_only() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION 'ledger_transfer is append-only: % refused; post a reversal instead', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$body$
"""
TRIGGERS = {
    "ledger_transfer_no_update_or_delete": "BEFORE UPDATE OR DELETE ON ledger_transfer "
    "FOR EACH ROW",
    "ledger_transfer_no_truncate": "BEFORE TRUNCATE ON ledger_transfer FOR EACH STATEMENT",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(REFUSE)
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION ledger_transfer_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON ledger_transfer")
    op.execute("DROP FUNCTION ledger_transfer_append_only()")
