"""the pooled fund pays its share: institution levels, the three parts of a bill, usage, e-voucher

Revision ID: 0014
Revises: 0017

An institution has a level (1, 2, 3). A settlement keeps its visit kind, what the pooled fund
paid, the deductible applied and the ratio, and the national codes. `pooled_usage` holds each
patient's year-to-date usage (its row is the patient's lock); `evoucher` the e-voucher's own
status. On PostgreSQL `post_settlement` learns the fund's part: the old function is dropped and
the ledger's file installed.
"""

import sqlalchemy as sa
from alembic import op

from yibao.ledger import settlement_function

revision = "0014"
down_revision = "0017"  # assigned 0013; after 0017 once main had it
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

BEFORE = (
    "post_settlement(text, text, text, bigint, text, bigint, bigint, bigint, date, text, "
    "bigint, bigint, json, text, text, text, date, text)"
)


def _settlement_columns() -> tuple[sa.Column, ...]:  # type: ignore[type-arg]
    return (
        sa.Column("visit", sa.String(length=12), server_default="pharmacy", nullable=False),
        sa.Column("fund_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("deductible_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("ratio", sa.String(length=12), server_default="0", nullable=False),
        sa.Column("insutype", sa.String(length=3), nullable=True),
        sa.Column("psn_type", sa.String(length=4), nullable=True),
        sa.Column("med_type", sa.String(length=2), server_default="41", nullable=False),
        sa.Column("clr_type", sa.String(length=2), server_default="41", nullable=False),
    )


# The function as 0017 installed it, restored by the downgrade.
PREVIOUS = r"""
-- One POS sale on PostgreSQL, in one server call: lock the paying personal account, read where
-- it stands, split the bill (domain.settlement.personal_share), check the value date
-- (ledger.rules.value_date_refusal) and write the settlement, its lines and the ledger
-- transfer: all of them or none. Each statement takes a fresh snapshot, so the balance is read
-- after the account's lock is granted. The outcome is reported, not raised:
--   posted                 written
--   settled_before         a retry: nothing written, the caller reads the first settlement
--   value_date_refused     nothing written: after p_today, or (if the account pays) before
--                          last_posted_on; the caller builds the refusal
--   transfer_key_taken     nothing written: the key was used by another posting
--   no_payable_account     nothing written: the caller opens the account and calls again
--   evoucher_used          nothing written: the electronic card payload p_evoucher_nonce paid
--                          for another sale (institution and reference)
-- An electronic card sale passes its payload's nonce: its use is recorded with the sale, and a
-- retry of that sale finds it spent by itself. A card sale passes NULL, and its card: the PIN
-- was right, so the try counted before it was compared (services.cards.pin_counted_first) and
-- any wrong ones before it are cleared, whatever the outcome.
-- The ledger owns this file (ledger/settlement_function.py); migrations 0008, 0013 and 0017
-- install it and a test compares it with the function the database holds.
CREATE OR REPLACE FUNCTION post_settlement(
    p_book text, p_account_code text, p_payable_code text,
    p_institution_id bigint, p_ref text, p_payer_person_id bigint, p_patient_person_id bigint,
    p_card_id bigint, p_settled_on date, p_fingerprint text,
    p_total_fen bigint, p_eligible_fen bigint, p_lines json,
    p_transfer_key text, p_transfer_kind text, p_memo text, p_today date, p_evoucher_nonce text,
    OUT outcome text, OUT new_settlement_id bigint, OUT new_personal_fen bigint,
    OUT new_balance_after_fen bigint, OUT last_posted_on date)
LANGUAGE plpgsql VOLATILE AS $body$
DECLARE
    v_payable bigint;
    v_account bigint;
    v_balance bigint := 0;
    v_use bigint;
BEGIN
    IF p_card_id IS NOT NULL THEN
        UPDATE card SET failed_pin_tries = 0 WHERE id = p_card_id AND failed_pin_tries <> 0;
    END IF;
    SELECT a.id INTO v_payable FROM ledger_account a
     WHERE a.book = p_book AND a.code = p_payable_code;
    IF v_payable IS NULL THEN
        outcome := 'no_payable_account';
        RETURN;
    END IF;
    -- No overdraft: sales paid by one account wait here for each other.
    SELECT a.id INTO v_account FROM ledger_account a
     WHERE a.book = p_book AND a.code = p_account_code
       FOR UPDATE;
    IF v_account IS NOT NULL THEN  -- a fresh snapshot: it sees what the lock waited for
        SELECT coalesce(sum(CASE WHEN t.credit_account_id = v_account THEN t.amount_fen
                                 ELSE -t.amount_fen END), 0),
               max(t.value_date)
          INTO v_balance, last_posted_on
          FROM ledger_transfer t
         WHERE t.credit_account_id = v_account OR t.debit_account_id = v_account;
    END IF;
    -- domain.settlement.personal_share
    new_personal_fen := least(p_eligible_fen, greatest(v_balance, 0));
    new_balance_after_fen := v_balance - new_personal_fen;

    IF (p_settled_on > p_today OR (new_personal_fen > 0 AND p_settled_on < last_posted_on))
       AND NOT EXISTS (SELECT 1 FROM settlement s
                        WHERE s.institution_id = p_institution_id AND s.ref = p_ref) THEN
        outcome := 'value_date_refused';
        RETURN;
    END IF;
    IF new_personal_fen > 0
       AND EXISTS (SELECT 1 FROM ledger_transfer t WHERE t.key = p_transfer_key)
       AND NOT EXISTS (SELECT 1 FROM settlement s
                        WHERE s.institution_id = p_institution_id AND s.ref = p_ref) THEN
        outcome := 'transfer_key_taken';
        RETURN;
    END IF;
    IF p_evoucher_nonce IS NOT NULL THEN  -- a sale with the same payload waits here
        INSERT INTO electronic_card_use (nonce, person_id, institution_id, ref, used_on)
        VALUES (p_evoucher_nonce, p_patient_person_id, p_institution_id, p_ref, p_settled_on)
        ON CONFLICT DO NOTHING
        RETURNING id INTO v_use;
        IF v_use IS NULL AND NOT EXISTS (
               SELECT 1 FROM electronic_card_use u
                WHERE u.nonce = p_evoucher_nonce
                  AND u.institution_id = p_institution_id AND u.ref = p_ref) THEN
            outcome := 'evoucher_used';
            new_personal_fen := NULL;
            new_balance_after_fen := NULL;
            RETURN;
        END IF;
    END IF;
    INSERT INTO settlement (institution_id, ref, payer_person_id, patient_person_id, card_id,
                            settled_on, fingerprint, total_fen, eligible_fen, personal_fen,
                            own_fen, balance_after_fen)
    VALUES (p_institution_id, p_ref, p_payer_person_id, p_patient_person_id, p_card_id,
            p_settled_on, p_fingerprint, p_total_fen, p_eligible_fen, new_personal_fen,
            p_total_fen - new_personal_fen, new_balance_after_fen)
    ON CONFLICT DO NOTHING
    RETURNING id INTO new_settlement_id;
    IF new_settlement_id IS NULL THEN  -- a new payload on a retry is not spent by it
        DELETE FROM electronic_card_use u WHERE u.id = v_use;
        outcome := 'settled_before';
        new_personal_fen := NULL;
        new_balance_after_fen := NULL;
        RETURN;
    END IF;

    INSERT INTO settlement_line (settlement_id, catalogue_code, quantity, amount_fen,
                                 account_may_pay)
    SELECT new_settlement_id, l.catalogue_code, l.quantity, l.amount_fen, l.account_may_pay
      FROM json_to_recordset(p_lines)
        AS l(catalogue_code text, quantity integer, amount_fen bigint, account_may_pay boolean);
    IF new_personal_fen > 0 THEN
        INSERT INTO ledger_transfer (key, book, debit_account_id, credit_account_id, amount_fen,
                                     value_date, kind, memo)
        VALUES (p_transfer_key, p_book, v_account, v_payable, new_personal_fen,
                p_settled_on, p_transfer_kind, left(p_memo, 200));
    END IF;
    outcome := 'posted';
END
$body$
"""

# The function as this revision leaves it, dropped by the downgrade (0021 changed it since).
AFTER = (
    "post_settlement(text, text, text, bigint, text, bigint, bigint, bigint, date, text, "
    "bigint, bigint, json, text, text, text, date, text, text, text, bigint, bigint, text, "
    "text, text, text, text, text, text)"
)


def upgrade() -> None:
    with op.batch_alter_table("institution") as batch:
        batch.add_column(sa.Column("level", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("settlement") as batch:
        for column in _settlement_columns():
            batch.add_column(column)
        batch.create_index("ix_settlement_patient", ["patient_person_id", "settled_on"])
    # Sales before this revision: the fund paid nothing; a hospital or clinic was an outpatient
    # visit (FORMAT.md's default), a pharmacy a purchase.
    op.execute(
        "UPDATE settlement SET visit = 'outpatient', med_type = '11', clr_type = '11' "
        "WHERE institution_id IN (SELECT id FROM institution WHERE kind <> 'pharmacy')"
    )
    op.create_table(
        "pooled_usage",
        sa.Column("person_id", Id, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("outpatient_eligible_fen", sa.BigInteger(), nullable=False),
        sa.Column("outpatient_fund_fen", sa.BigInteger(), nullable=False),
        sa.Column("inpatient_fund_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_pooled_usage_person_id_person")
        ),
        sa.PrimaryKeyConstraint("person_id", "year", name=op.f("pk_pooled_usage")),
    )
    year = (
        "CAST(extract(year FROM settled_on) AS INTEGER)"
        if op.get_bind().dialect.name == "postgresql"
        else "CAST(strftime('%Y', settled_on) AS INTEGER)"
    )
    op.execute(  # the outpatient visits before this revision used the year's deductible
        "INSERT INTO pooled_usage (person_id, year, outpatient_eligible_fen, "
        "outpatient_fund_fen, inpatient_fund_fen) "
        f"SELECT patient_person_id, {year}, sum(eligible_fen), 0, 0 FROM settlement "
        f"WHERE visit = 'outpatient' AND refunded_on IS NULL GROUP BY patient_person_id, {year}"
    )
    op.create_table(
        "evoucher",
        sa.Column("person_id", Id, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_evoucher_person_id_person")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_evoucher")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {BEFORE}")
        op.execute(settlement_function.definition())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {AFTER}")
        op.execute(PREVIOUS)
    op.drop_table("evoucher")
    op.drop_table("pooled_usage")
    with op.batch_alter_table("settlement") as batch:
        batch.drop_index("ix_settlement_patient")
        for column in reversed(_settlement_columns()):
            batch.drop_column(column.name)
    with op.batch_alter_table("institution") as batch:
        batch.drop_column("level")
