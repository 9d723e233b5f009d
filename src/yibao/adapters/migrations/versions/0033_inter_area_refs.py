"""inter_area_ref: a cross-area bill's reference, settled or barred in the insured area's book

Revision ID: 0033
Revises: 0032

A bill across areas (异地就医) is written in the insured area A's book first, then in the
treating area B's; a 2601 reversing its msgid found neither side and barred the msgid in B's
database alone. A 2102 already past B's msgid check could then commit in A after the bar: A's
book paid a bill whose institution was answered "reversed". Now the settlement and the
reversal both claim the reference in A's database, keyed by (treating area, institution,
reference): the settlement in the transaction that writes A's bill and moves its money, the
reversal before it bars the msgid in B. Whichever commits first decides; the other waits for it
on the key, then settles nothing (barred) or bars nothing (settled). A new table: nothing is
rewritten. A bill settled before this migration has no row and needs none: its retry, its
cancellation (2103) and its reversal (2601) find A's bill itself.
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inter_area_ref",
        sa.Column("id", Id, nullable=False),
        sa.Column("other_area", sa.String(6), nullable=False),
        sa.Column("institution_code", sa.String(40), nullable=False),
        sa.Column("ref", sa.String(80), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inter_area_ref"),
        sa.UniqueConstraint(
            "other_area", "institution_code", "ref", name="uq_inter_area_ref_other_area"
        ),
    )


def downgrade() -> None:
    op.drop_table("inter_area_ref")
