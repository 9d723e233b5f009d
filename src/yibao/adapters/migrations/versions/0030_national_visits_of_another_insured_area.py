"""a national visit may be of a person insured in another planning area

Revision ID: 0030
Revises: 0029

Where each area has its own database, a hospital of area B registers (2201, 2401) a person
insured in area A (异地就医): the person is read in A's database, the visit and its fee lines are
recorded in B's. `national_visit.insured_area` names A (NULL: the institution's own area), and
with it the database the visit's `person_id` and `settlement_id`, and its fee lines'
`settlement_id`, are numbers of: a person and a cross-area bill (`inter_area_bill`) of A's
database, which B's foreign keys cannot name. So those three columns lose their foreign keys, as
the sale's records did (migration 0028); `yibao ledger check` reports a home visit or fee line
whose reference does not exist (`references_exist`). `national_visit.settling_msgid` is the
msgid settling such a visit while its two books are written, which no lock of one database can
cover: another msgid is refused meanwhile. New columns, nullable, no rewrite.

Downgrading fails while a visit of another insured area is recorded (its keys name nothing).
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# (table, column, referenced table)
REFERENCES = (
    ("national_visit", "person_id", "person"),
    ("national_visit", "settlement_id", "settlement"),
    ("national_fee_line", "settlement_id", "settlement"),
)


def upgrade() -> None:
    with op.batch_alter_table("national_visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("insured_area", sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column("settling_msgid", sa.String(length=30), nullable=True))
    for table in ("national_visit", "national_fee_line"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for holder, column, referenced in REFERENCES:
                if holder == table:
                    batch_op.drop_constraint(
                        op.f(f"fk_{table}_{column}_{referenced}"), type_="foreignkey"
                    )


def downgrade() -> None:
    for table in ("national_visit", "national_fee_line"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for holder, column, referenced in REFERENCES:
                if holder == table:
                    batch_op.create_foreign_key(
                        op.f(f"fk_{table}_{column}_{referenced}"), referenced, [column], ["id"]
                    )
    with op.batch_alter_table("national_visit", schema=None) as batch_op:
        batch_op.drop_column("settling_msgid")
        batch_op.drop_column("insured_area")
