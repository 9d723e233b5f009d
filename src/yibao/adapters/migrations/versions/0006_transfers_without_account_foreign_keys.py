"""transfers without foreign keys to their accounts

Revision ID: 0006
Revises: 0005

Checking the two account references of every posting row by row cost about as much as writing
the posting itself in a month-end crediting run (issue 3's bound). Accounts are never deleted,
every writer takes the account ids from ledger_account, and `yibao ledger check` reports any
transfer whose debit or credit account does not exist (invariant `accounts_exist`).
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ACCOUNT_REFERENCES = ("debit_account_id", "credit_account_id")


def upgrade() -> None:
    with op.batch_alter_table("ledger_transfer", schema=None) as batch_op:
        for column in ACCOUNT_REFERENCES:
            batch_op.drop_constraint(
                op.f(f"fk_ledger_transfer_{column}_ledger_account"), type_="foreignkey"
            )


def downgrade() -> None:
    with op.batch_alter_table("ledger_transfer", schema=None) as batch_op:
        for column in ACCOUNT_REFERENCES:
            batch_op.create_foreign_key(
                op.f(f"fk_ledger_transfer_{column}_ledger_account"),
                "ledger_account",
                [column],
                ["id"],
            )
