"""crediting runs resume where they stopped

Revision ID: 0012
Revises: 0011

A crediting run remembers how far its committed batches went (`contributions_done_through`,
`retirees_done_through`: the last contribution and enrolment id), updated in each batch's own
transaction, so a run resumed after a crash starts at its first unfinished batch instead of
reading every batch again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WATERMARKS = ("contributions_done_through", "retirees_done_through")


def upgrade() -> None:
    with op.batch_alter_table("crediting_run", schema=None) as batch_op:
        for column in WATERMARKS:
            batch_op.add_column(sa.Column(column, sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crediting_run", schema=None) as batch_op:
        for column in reversed(WATERMARKS):
            batch_op.drop_column(column)
