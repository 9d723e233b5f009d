"""inter_area_bill: bills settled across planning areas, one side per area's database

Revision ID: 0026
Revises: 0022

With one database per planning area, a person of area A who settles at an institution of area B
leaves a row in each: A's (its person's personal account paid, owed to B) and B's (its
institution is owed it, by A). Each is the cause of its book's posting through the inter-area
account. A new table: nothing is rewritten.
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0022"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inter_area_bill",
        sa.Column("id", Id, primary_key=True),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("area_code", sa.String(6), nullable=False),
        sa.Column("other_area", sa.String(6), nullable=False),
        sa.Column("institution_code", sa.String(40), nullable=False),
        sa.Column("ref", sa.String(80), nullable=False),
        sa.Column("person_id", Id, sa.ForeignKey("person.id"), nullable=True),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("personal_fen", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("side", "other_area", "institution_code", "ref"),
    )


def downgrade() -> None:
    op.drop_table("inter_area_bill")
