"""the rows a sale writes carry no foreign keys to the rows every sale shares

Revision ID: 0028
Revises: 0027

A foreign key is checked on every insert by a query that locks the referenced row FOR KEY
SHARE: a lock written into that row (and its WAL), and, when other transactions hold one on the
same row, a MultiXact. Every sale at a pharmacy names that pharmacy, so its concurrent sales
queued on one institution row: with 32 clients, the two statements of a card sale cost the
server 12 % more CPU with the keys than without them, and pgbench ran them 14 % slower.

So settlement (institution, payer, patient, card), settlement_line (settlement),
electronic_card_use (person, institution) and pooled_usage (person) lose their foreign keys,
as ledger_transfer lost its account keys (migration 0006). Nothing is deleted from the tables
they referenced (persons, cards, institutions and settlements are never deleted: a merge links
records, a card is replaced), every writer takes the ids from the rows it has just read, and
`yibao ledger check` reports any row whose reference does not exist (`references_exist`).
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

# (table, column, referenced table)
REFERENCES = (
    ("settlement", "institution_id", "institution"),
    ("settlement", "payer_person_id", "person"),
    ("settlement", "patient_person_id", "person"),
    ("settlement", "card_id", "card"),
    ("settlement_line", "settlement_id", "settlement"),
    ("electronic_card_use", "person_id", "person"),
    ("electronic_card_use", "institution_id", "institution"),
    ("pooled_usage", "person_id", "person"),
)


def _by_table() -> dict[str, list[tuple[str, str]]]:
    """(column, referenced table) of each table's keys, so each table is altered once."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for table, column, referenced in REFERENCES:
        grouped.setdefault(table, []).append((column, referenced))
    return grouped


def upgrade() -> None:
    for table, keys in _by_table().items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referenced in keys:
                batch_op.drop_constraint(
                    op.f(f"fk_{table}_{column}_{referenced}"), type_="foreignkey"
                )


def downgrade() -> None:
    for table, keys in _by_table().items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referenced in keys:
                batch_op.create_foreign_key(
                    op.f(f"fk_{table}_{column}_{referenced}"), referenced, [column], ["id"]
                )
