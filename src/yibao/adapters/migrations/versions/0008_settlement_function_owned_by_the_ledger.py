"""settlement function owned by the ledger, with the value-date rules

Revision ID: 0008
Revises: 0007

`post_settlement` now lives in one versioned file of the ledger (`ledger/sql/post_settlement.sql`)
and refuses a sale dated after today (a new `p_today` argument) or, when the personal account
pays, before the last posting on that account (reported with a new `last_posted_on` column).
Its arguments and result change, so the old function is dropped before the file installs the
new one. SQLite takes the same steps from Python: nothing here.
"""

import runpy
from pathlib import Path

from alembic import op

from yibao.ledger import settlement_function

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BEFORE = (
    "post_settlement(text, text, text, bigint, text, bigint, bigint, bigint, date, text, "
    "bigint, bigint, json, text, text, text)"
)
INSTALLED = (  # with p_today; 0013 changed the arguments since
    "post_settlement(text, text, text, bigint, text, bigint, bigint, bigint, date, text, "
    "bigint, bigint, json, text, text, text, date)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {BEFORE}")
        op.execute(settlement_function.definition())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {INSTALLED}")
        previous = Path(__file__).with_name("0007_settlement_posted_in_one_server_call.py")
        op.execute(runpy.run_path(str(previous))["POST_SETTLEMENT"])
