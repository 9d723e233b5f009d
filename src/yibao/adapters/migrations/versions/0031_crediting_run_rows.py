"""the credits a crediting run will post, found once and kept for its batches

Revision ID: 0031
Revises: 0030

A crediting run found its pending contributions in its first transaction only to cut them into
batches; each batch then found its rows again and joined each to its person's personal account,
one index probe per row, after the first transaction had probed the accounts once already to
open the missing ones: at 5M persons the accounts' pages no longer stay in memory, and those
probes took 0.85 s of a 2 s batch and 4.4 s to open a month's few new accounts.
`crediting_run_row` keeps what the first transaction found, accounts included (one hash join
for the run), each row numbered with its batch, so a batch posts its rows as they are.
Unlogged on PostgreSQL: the rows are written once and read once, never a record to recover; a
server crash empties the table and the resumed run finds its rows again. Read by batch through
a BRIN index; no primary key, whose B-tree would cost an entry a row. A new table: no rewrite.
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    unlogged = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "crediting_run_row",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        prefixes=["UNLOGGED"] if unlogged else [],
    )
    op.create_index(
        op.f("ix_crediting_run_row_run_id"),
        "crediting_run_row",
        ["run_id", "kind", "batch"],
        postgresql_using="brin",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_crediting_run_row_run_id"), table_name="crediting_run_row")
    op.drop_table("crediting_run_row")
