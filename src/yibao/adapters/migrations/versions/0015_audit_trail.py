"""audit trail: hash-chained, append-only; the inquiry log moves into it

Revision ID: 0015
Revises: 0014

`audit_entry` holds who read or wrote whose data, through which channel, when, and the outcome;
`audit_chain` the head (last position and hash) of each of its hash chains (domain.audit). The
rows of `inquiry_log` become entries of chain 0 in their order (action `inquiry`, role
`legacy`: the old log knew no roles), and the old table goes. On PostgreSQL the database
refuses an UPDATE, DELETE or TRUNCATE of `audit_entry`, a DELETE or TRUNCATE of `audit_chain`
and any change of a head other than moving it one position on, as 0009 does for the ledger.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

from yibao.domain.audit import CHAINS, Actor, AuditEvent, content, genesis, next_hash

revision = "0015"
down_revision = "0014"  # assigned 0013; after the pooled fund (0014) on main
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

REFUSE = """
CREATE FUNCTION audit_entry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$body$
"""
HEAD_MOVES_ON = """
CREATE FUNCTION audit_chain_moves_on() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.chain <> OLD.chain OR NEW.seq <> OLD.seq + 1 THEN
        RAISE EXCEPTION 'audit_chain heads only move on by one entry: % refused', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$body$
"""
TRIGGERS = {
    "audit_entry_no_update_or_delete": (
        "BEFORE UPDATE OR DELETE ON audit_entry FOR EACH ROW",
        "audit_entry_append_only",
    ),
    "audit_entry_no_truncate": (
        "BEFORE TRUNCATE ON audit_entry FOR EACH STATEMENT",
        "audit_entry_append_only",
    ),
    "audit_chain_moves_on": (
        "BEFORE UPDATE OR DELETE ON audit_chain FOR EACH ROW",
        "audit_chain_moves_on",
    ),
    "audit_chain_no_truncate": (
        "BEFORE TRUNCATE ON audit_chain FOR EACH STATEMENT",
        "audit_entry_append_only",
    ),
}


def upgrade() -> None:
    chains = op.create_table(
        "audit_chain",
        sa.Column("chain", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chain")),
    )
    entries = op.create_table(
        "audit_entry",
        sa.Column("id", ID, nullable=False),
        sa.Column("chain", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("actor_user", sa.String(length=80), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("person", sa.String(length=40), nullable=True),
        sa.Column("resource", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=60), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
        sa.UniqueConstraint("chain", "seq", name=op.f("uq_audit_entry_chain")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entry_person", ["person", "id"], unique=False)
        batch_op.create_index("ix_audit_entry_actor", ["actor_user", "id"], unique=False)
        batch_op.create_index("ix_audit_entry_recorded", ["recorded_at"], unique=False)

    heads = {chain: (0, genesis(chain)) for chain in range(CHAINS)}
    heads[0] = _move_inquiry_log(entries, heads[0])
    op.bulk_insert(
        chains, [{"chain": c, "seq": seq, "head": head} for c, (seq, head) in heads.items()]
    )
    with op.batch_alter_table("inquiry_log", schema=None) as batch_op:
        batch_op.drop_index("ix_inquiry_log_person")
    op.drop_table("inquiry_log")

    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE)
        op.execute(HEAD_MOVES_ON)
        for name, (when, function) in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {function}()")


def _move_inquiry_log(entries: sa.Table, start: tuple[int, str]) -> tuple[int, str]:
    """Chain 0 receives the old log's rows in order; returns the chain's new head."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT p.id_number, l.actor, l.channel, l.as_of, l.asked_at FROM inquiry_log l "
            "JOIN person p ON p.id = l.person_id ORDER BY l.id"
        )
    )
    seq, head = start
    moved = []
    for id_number, actor, channel, as_of, asked_at in rows:
        recorded_at = _datetime(asked_at)
        event = AuditEvent(
            Actor(actor, "legacy"),
            "payment_records" if channel == "records" else "inquiry",
            channel,
            id_number,
            "payment records" if channel == "records" else f"balance:{_date(as_of)}",
        ).clipped()
        seq, head = seq + 1, next_hash(head, seq + 1, content(recorded_at, event))
        moved.append(
            {
                "chain": 0,
                "seq": seq,
                "recorded_at": recorded_at,
                "actor_user": event.actor.user,
                "actor_role": event.actor.role,
                "action": event.action,
                "channel": event.channel,
                "person": event.person,
                "resource": event.resource,
                "outcome": event.outcome,
                "hash": head,
            }
        )
    if moved:
        op.bulk_insert(entries, moved)
    return seq, head


def _datetime(value: object) -> dt.datetime:
    """SQLite hands back text; PostgreSQL a datetime. Stored without microseconds loss."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _date(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGGERS:
            table = "audit_entry" if name.startswith("audit_entry") else "audit_chain"
            op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute("DROP FUNCTION audit_chain_moves_on()")
        op.execute("DROP FUNCTION audit_entry_append_only()")
    op.create_table(
        "inquiry_log",
        sa.Column("id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "asked_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_inquiry_log_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_log")),
    )
    with op.batch_alter_table("inquiry_log", schema=None) as batch_op:
        batch_op.create_index("ix_inquiry_log_person", ["person_id", "asked_at"], unique=False)
    # the inquiries go back; every other entry had no place before this revision
    if op.get_bind().dialect.name == "postgresql":
        asked_for, asked_on = (
            "CAST(substr(e.resource, 9, 10) AS DATE)",
            "CAST(e.recorded_at AS DATE)",
        )
    else:
        asked_for, asked_on = "substr(e.resource, 9, 10)", "date(e.recorded_at)"
    op.execute(
        "INSERT INTO inquiry_log (person_id, actor, channel, as_of, asked_at) "
        "SELECT p.id, e.actor_user, e.channel, "
        f"CASE WHEN e.resource LIKE 'balance:%' THEN {asked_for} ELSE {asked_on} END, "
        "e.recorded_at "
        "FROM audit_entry e JOIN person p ON p.id_number = e.person "
        "WHERE e.action IN ('inquiry', 'payment_records') AND e.outcome = 'ok' ORDER BY e.id"
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_recorded")
        batch_op.drop_index("ix_audit_entry_actor")
        batch_op.drop_index("ix_audit_entry_person")
    op.drop_table("audit_entry")
    op.drop_table("audit_chain")
