"""a retiree's monthly credit keyed by its month first

Revision ID: 0032
Revises: 0031

A retiree's fixed credit was keyed `retiree:p<person>:<month>`: each month's keys fell between
the months before, one leaf page of the ledger's key index apiece all over the index (at 5M
persons 396,000 of them, in an index of gigabytes). Keyed `retiree:<month>:p<person>`, a month's
keys fill new pages side by side. The key is how a run credits each retiree once, and how the
ledger check finds each credit, so a month keeps the form it was first credited under:
`crediting_run.retiree_keys` names it, `by_person` for the runs made before this migration
(whose credits the check still finds under their old keys, and which a run resumed after the
upgrade keeps posting under them), `by_month` for every run made since. A new column with a
default: no rewrite of crediting_run, none of the ledger.
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crediting_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "retiree_keys", sa.String(length=10), nullable=False, server_default="by_person"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("crediting_run", schema=None) as batch_op:
        batch_op.drop_column("retiree_keys")
