"""inter_area_bill: the pooled fund's share of a cross-area bill, and the clearing that paid it

Revision ID: 0024
Revises: 0023

A bill settled in another area is paid by the insured area's pooled fund too (`fund_fen`, with
the part the deductible took), may be refunded whole (`refunded_on`), and the areas clear what
they owe each other by period: each side's bills are marked with the period that cleared them
(`cleared_in`, YYYY-MM). Columns added with defaults: the rows are not rewritten on PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inter_area_bill") as table:
        table.add_column(sa.Column("fund_fen", sa.BigInteger(), nullable=False, server_default="0"))
        table.add_column(
            sa.Column("deductible_fen", sa.BigInteger(), nullable=False, server_default="0")
        )
        table.add_column(sa.Column("eligible_fen", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("visit", sa.String(12), nullable=True))
        table.add_column(sa.Column("refunded_on", sa.Date(), nullable=True))
        table.add_column(sa.Column("cleared_in", sa.String(7), nullable=True))
        table.create_index("ix_inter_area_bill_clearing", ["other_area", "side", "cleared_in"])


def downgrade() -> None:
    with op.batch_alter_table("inter_area_bill") as table:
        table.drop_index("ix_inter_area_bill_clearing")
        for column in (
            "cleared_in",
            "refunded_on",
            "visit",
            "eligible_fen",
            "deductible_fen",
            "fund_fen",
        ):
            table.drop_column(column)
