"""import_batch: the files `yibao import` applied, by kind and content hash

Revision ID: 0023
Revises: 0022

A file applied again (the same bytes) is recognised by its hash and changes nothing. The row is
written in the transaction that applies the file, so an import that died left none.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0026"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "import_batch",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("applied", sa.BigInteger(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_batch"),
        sa.UniqueConstraint("kind", "content_sha256", name="uq_import_batch_kind"),
    )


def downgrade() -> None:
    op.drop_table("import_batch")
