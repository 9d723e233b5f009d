"""the national institution interface: credentials, nonces, sign-ins, messages, visits, fee
lines, and the medical insurance catalogue

Revision ID: 0018
Revises: 0016

`institution_credential` holds each designated institution's gateway paasid and token (the
token as issued: the x-tif signature is verified with it); `gateway_nonce` the nonces signed
requests used, kept for the 300 s window; `national_sign_in` the operators' sign-ins (9001);
`national_message` the first answer to each msgid of an institution; `national_visit` and
`national_fee_line` outpatient registrations and admissions with their uploaded fee lines;
`catalogue_item` each area's catalogue, effective-dated by month.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gateway_nonce",
        sa.Column("paasid", sa.String(length=40), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("paasid", "nonce", name=op.f("pk_gateway_nonce")),
    )
    op.create_index("ix_gateway_nonce_time", "gateway_nonce", ["signed_at"], unique=False)
    op.create_table(
        "catalogue_item",
        sa.Column("id", ID, nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("from_month", sa.String(length=7), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("item_class", sa.String(length=1), nullable=False),
        sa.Column("selfpay_prop", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_code"], ["area.code"], name=op.f("fk_catalogue_item_area_code_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_item")),
        sa.UniqueConstraint(
            "area_code", "from_month", "code", name=op.f("uq_catalogue_item_area_code")
        ),
    )
    op.create_index(
        "ix_catalogue_item_code",
        "catalogue_item",
        ["area_code", "code", "from_month"],
        unique=False,
    )
    op.create_table(
        "institution_credential",
        sa.Column("paasid", sa.String(length=40), nullable=False),
        sa.Column("institution_id", ID, nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_institution_credential_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("paasid", name=op.f("pk_institution_credential")),
        sa.UniqueConstraint(
            "institution_id", name=op.f("uq_institution_credential_institution_id")
        ),
    )
    op.create_table(
        "national_message",
        sa.Column("id", ID, nullable=False),
        sa.Column("institution_id", ID, nullable=False),
        sa.Column("msgid", sa.String(length=30), nullable=False),
        sa.Column("infno", sa.String(length=4), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_national_message_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_national_message")),
        sa.UniqueConstraint(
            "institution_id", "msgid", name=op.f("uq_national_message_institution_id")
        ),
    )
    op.create_table(
        "national_sign_in",
        sa.Column("sign_no", sa.String(length=30), nullable=False),
        sa.Column("institution_id", ID, nullable=False),
        sa.Column("opter_no", sa.String(length=30), nullable=False),
        sa.Column("signed_in_at", sa.DateTime(), nullable=False),
        sa.Column("signed_out_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_national_sign_in_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("sign_no", name=op.f("pk_national_sign_in")),
    )
    op.create_table(
        "national_visit",
        sa.Column("id", ID, nullable=False),
        sa.Column("mdtrt_id", sa.String(length=30), nullable=False),
        sa.Column("institution_id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("insutype", sa.String(length=3), nullable=False),
        sa.Column("med_type", sa.String(length=6), nullable=False),
        sa.Column("begins_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("settlement_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_national_visit_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_national_visit_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlement.id"],
            name=op.f("fk_national_visit_settlement_id_settlement"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_national_visit")),
        sa.UniqueConstraint("mdtrt_id", name=op.f("uq_national_visit_mdtrt_id")),
    )
    op.create_index(
        "ix_national_visit_person", "national_visit", ["person_id", "begins_at"], unique=False
    )
    op.create_table(
        "national_fee_line",
        sa.Column("id", ID, nullable=False),
        sa.Column("visit_id", ID, nullable=False),
        sa.Column("feedetl_sn", sa.String(length=30), nullable=False),
        sa.Column("chrg_bchno", sa.String(length=30), nullable=False),
        sa.Column("med_list_codg", sa.String(length=60), nullable=False),
        sa.Column("quantity", sa.String(length=20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("item_class", sa.String(length=1), nullable=False),
        sa.Column("selfpay_prop", sa.String(length=12), nullable=False),
        sa.Column("preselfpay_fen", sa.BigInteger(), nullable=False),
        sa.Column("fulamt_ownpay_fen", sa.BigInteger(), nullable=False),
        sa.Column("settlement_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlement.id"],
            name=op.f("fk_national_fee_line_settlement_id_settlement"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["national_visit.id"],
            name=op.f("fk_national_fee_line_visit_id_national_visit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_national_fee_line")),
        sa.UniqueConstraint("visit_id", "feedetl_sn", name=op.f("uq_national_fee_line_visit_id")),
    )


def downgrade() -> None:
    op.drop_table("national_fee_line")
    op.drop_index("ix_national_visit_person", table_name="national_visit")
    op.drop_table("national_visit")
    op.drop_table("national_sign_in")
    op.drop_table("national_message")
    op.drop_table("institution_credential")
    op.drop_index("ix_catalogue_item_code", table_name="catalogue_item")
    op.drop_table("catalogue_item")
    op.drop_index("ix_gateway_nonce_time", table_name="gateway_nonce")
    op.drop_table("gateway_nonce")
