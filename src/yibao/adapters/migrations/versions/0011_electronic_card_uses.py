"""electronic card payloads spent once

Revision ID: 0011
Revises: 0009

Each electronic card (QR) payload carries a nonce; the sale it paid for records it here, in the
sale's own transaction. The unique nonce refuses a second sale with the same payload.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "electronic_card_use",
        sa.Column("id", Id, nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("institution_id", Id, nullable=False),
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("used_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_electronic_card_use_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_electronic_card_use_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_electronic_card_use")),
        sa.UniqueConstraint("nonce", name=op.f("uq_electronic_card_use_nonce")),
    )


def downgrade() -> None:
    op.drop_table("electronic_card_use")
