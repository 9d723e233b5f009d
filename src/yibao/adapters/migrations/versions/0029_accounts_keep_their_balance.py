"""accounts that may not overdraw keep their balance and last value date on their row

Revision ID: 0029
Revises: 0028

A debit of a personal or financial account was checked against the sum of the account's
transfers: on the partitioned ledger a probe of two indexes in every month's partition, at every
sale, growing with the account's history and the ledger's months. These accounts now keep
`balance_fen` and `last_posted_on` on their ledger_account row, moved by every posting in the
statement or transaction that writes it (`ledger.balances`); the row is what a debit locks
already. Accounts that may overdraw (funds, payables) keep NULL: every sale credits them, and a
stored balance would make their row a queue; their balance is summed. `yibao ledger check`
compares each kept balance with the sum (`kept_balance_matches`).

A bulk posting (the crediting run) does not move the rows of the accounts it credits: updating
265k of them cost more than posting (bench/crediting.py, ratio 3.86 against a target of 2.2).
It records a batch in `ledger_credit_batch` and marks the transfers it wrote with it
(`ledger_transfer.batch_id`, a column added without rewriting the table); an account's balance
is what it keeps plus its credits in its book's batches after `folded_batch_id`, and a sale
folds them into the row it locks.

`post_settlement` (ledger/sql/post_settlement.sql) reads the kept balance from the row it locks
and moves it with the sale's transfer; same arguments and results.
"""

import sqlalchemy as sa
from alembic import op

from yibao.ledger import settlement_function

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# Every kept balance counted from the transfers, set-based: one pass over the ledger.
ZERO = "UPDATE ledger_account SET balance_fen = 0 WHERE NOT allow_negative"
RECOUNT = """
UPDATE ledger_account SET balance_fen = moved.balance, last_posted_on = moved.last
  FROM (SELECT account_id, sum(amount) AS balance, max(value_date) AS last
          FROM (SELECT credit_account_id AS account_id, amount_fen AS amount, value_date
                  FROM ledger_transfer
                UNION ALL
                SELECT debit_account_id, -amount_fen, value_date FROM ledger_transfer) AS legs
         GROUP BY account_id) AS moved
 WHERE ledger_account.id = moved.account_id AND NOT ledger_account.allow_negative
"""

# The function as 0027 installed it, restored by the downgrade.
PREVIOUS = r"""
-- One POS sale on PostgreSQL, in one server call: at a hospital or clinic lock the patient's
-- pooled usage of the year and compute the fund's share (domain.pooled.fund_share), lock the
-- paying personal account, read where it stands, split the rest of the bill
-- (domain.settlement.split_bill), check the value date (ledger.rules.value_date_refusal) and
-- write the settlement, its lines, the ledger transfers (the account's and the fund's) and the
-- usage: all of them or none. Each statement takes a fresh snapshot, so what is read after a
-- lock is granted includes what the lock waited for. The usage row is always locked before
-- the account, so bills of one patient paid by different accounts cannot deadlock. The outcome
-- is reported, not raised:
--   posted                 written
--   settled_before         a retry: nothing written, the caller reads the first settlement
--   value_date_refused     nothing written: after p_today, or (if the account pays) before
--                          last_posted_on; the caller builds the refusal
--   no_payable_account     nothing written: the caller opens the payable and the pooled fund
--                          and calls again
--   evoucher_used          nothing written: the electronic card payload p_evoucher_nonce paid
--                          for another sale (institution and reference)
-- The fund's terms come resolved from the policy (p_visit, p_ratio as written, p_deductible_fen,
-- p_cap_fen; ratio 0 when the fund pays nothing); the national codes are stored as given.
-- An electronic card sale passes its payload's nonce: its use is recorded with the sale, and a
-- retry of that sale finds it spent by itself. A card sale passes NULL, and its card with the
-- PIN entered, hashed by the caller as the card's stored hash was, with its salt
-- (services.cards.presented_pin), and the policy's number of tries. Before anything else, the
-- right PIN on an active card with no wrong tries is compared by a read: nothing to count,
-- nothing written to the card. Any other try is counted and compared by one UPDATE under the
-- card's row lock: a right PIN clears the count, a wrong one is counted and the sale stops (its
-- try commits with the call). Two more outcomes, before anything is written:
--   wrong_pin              the try counted: pin_tries wrong tries now
--   pin_not_tried          nothing counted: the card is locked, no longer active, or its PIN
--                          was changed since the caller read it; the caller reads it again
-- Each transfer's key is claimed in ledger_key by the statement that posts it (migration 0025:
-- ledger_transfer is partitioned by month, the key unique across all of them). A key another
-- posting holds is not looked for first: its claim fails on ledger_key's primary key
-- (pk_ledger_key), and the call with it, so nothing is written; the caller names the key.
-- The ledger owns this file (ledger/settlement_function.py); migrations 0008, 0013, 0017, 0014,
-- 0021, 0025 and 0027 install it and a test compares it with the function the database holds.
CREATE OR REPLACE FUNCTION post_settlement(
    p_book text, p_account_code text, p_payable_code text,
    p_institution_id bigint, p_ref text, p_payer_person_id bigint, p_patient_person_id bigint,
    p_card_id bigint, p_settled_on date, p_fingerprint text,
    p_total_fen bigint, p_eligible_fen bigint, p_lines json,
    p_transfer_key text, p_transfer_kind text, p_memo text, p_today date, p_evoucher_nonce text,
    p_visit text, p_ratio text, p_deductible_fen bigint, p_cap_fen bigint,
    p_pool_code text, p_fund_key text, p_fund_kind text,
    p_insutype text, p_psn_type text, p_med_type text, p_clr_type text,
    p_pin_hash text, p_pin_max_tries integer,
    OUT outcome text, OUT new_settlement_id bigint, OUT new_personal_fen bigint,
    OUT new_balance_after_fen bigint, OUT last_posted_on date,
    OUT new_fund_fen bigint, OUT new_deductible_fen bigint, OUT pin_tries integer)
LANGUAGE plpgsql VOLATILE AS $body$
DECLARE
    v_payable bigint;
    v_pool bigint;
    v_account bigint;
    v_balance bigint := 0;
    v_use bigint;
    v_year integer := extract(year FROM p_settled_on)::integer;
    v_ratio numeric := p_ratio::numeric;
    v_eligible_used bigint := 0;
    v_cap_used bigint := 0;
BEGIN
    IF p_pin_hash IS NOT NULL THEN
        -- The right PIN on a card with no wrong tries counts nothing: read, not written. Any
        -- other try is counted under the card's row lock: tries on one card wait here.
        PERFORM FROM card c
         WHERE c.id = p_card_id AND c.status = 'active' AND c.failed_pin_tries = 0
           AND c.pin_hash = p_pin_hash;
        IF FOUND THEN
            pin_tries := 0;
        ELSE
            UPDATE card c
               SET failed_pin_tries = CASE WHEN c.pin_hash = p_pin_hash THEN 0
                                           ELSE c.failed_pin_tries + 1 END
             WHERE c.id = p_card_id AND c.status = 'active'
               AND c.failed_pin_tries < p_pin_max_tries
               AND starts_with(c.pin_hash, regexp_replace(p_pin_hash, '[^$]*$', ''))
            RETURNING c.failed_pin_tries INTO pin_tries;
            IF NOT FOUND THEN
                outcome := 'pin_not_tried';
                RETURN;
            END IF;
            IF pin_tries > 0 THEN
                outcome := 'wrong_pin';
                RETURN;
            END IF;
        END IF;
    END IF;
    SELECT max(a.id) FILTER (WHERE a.code = p_payable_code),
           max(a.id) FILTER (WHERE a.code = p_pool_code)
      INTO v_payable, v_pool
      FROM ledger_account a
     WHERE a.book = p_book AND a.code IN (p_payable_code, p_pool_code);
    IF v_payable IS NULL OR (v_pool IS NULL AND v_ratio > 0) THEN
        outcome := 'no_payable_account';
        RETURN;
    END IF;
    new_fund_fen := 0;
    new_deductible_fen := 0;
    IF p_visit <> 'pharmacy' THEN  -- the patient's bills of the year wait here for each other
        INSERT INTO pooled_usage (person_id, year, outpatient_eligible_fen, outpatient_fund_fen,
                                  inpatient_fund_fen)
        VALUES (p_patient_person_id, v_year, 0, 0, 0)
        ON CONFLICT DO NOTHING;
        SELECT u.outpatient_eligible_fen,
               CASE WHEN p_visit = 'outpatient' THEN u.outpatient_fund_fen
                    ELSE u.inpatient_fund_fen END
          INTO v_eligible_used, v_cap_used
          FROM pooled_usage u
         WHERE u.person_id = p_patient_person_id AND u.year = v_year
           FOR UPDATE;
        -- domain.pooled.fund_share
        IF v_ratio > 0 AND p_eligible_fen > 0 THEN
            new_deductible_fen := least(
                CASE WHEN p_visit = 'outpatient'
                     THEN greatest(p_deductible_fen - v_eligible_used, 0)
                     ELSE p_deductible_fen END,
                p_eligible_fen);
            new_fund_fen := least(round(v_ratio * (p_eligible_fen - new_deductible_fen)),
                                  greatest(p_cap_fen - v_cap_used, 0));
        END IF;
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
    -- domain.settlement.split_bill
    new_personal_fen := least(p_eligible_fen - new_fund_fen, greatest(v_balance, 0));
    new_balance_after_fen := v_balance - new_personal_fen;

    IF p_settled_on > p_today OR (new_personal_fen > 0 AND p_settled_on < last_posted_on) THEN
        IF NOT EXISTS (SELECT 1 FROM settlement s
                        WHERE s.institution_id = p_institution_id AND s.ref = p_ref) THEN
            outcome := 'value_date_refused';
            RETURN;
        END IF;
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
            new_fund_fen := NULL;
            new_deductible_fen := NULL;
            RETURN;
        END IF;
    END IF;
    INSERT INTO settlement (institution_id, ref, payer_person_id, patient_person_id, card_id,
                            settled_on, fingerprint, total_fen, eligible_fen, personal_fen,
                            own_fen, balance_after_fen, visit, fund_fen, deductible_fen, ratio,
                            insutype, psn_type, med_type, clr_type)
    VALUES (p_institution_id, p_ref, p_payer_person_id, p_patient_person_id, p_card_id,
            p_settled_on, p_fingerprint, p_total_fen, p_eligible_fen, new_personal_fen,
            p_total_fen - new_fund_fen - new_personal_fen, new_balance_after_fen, p_visit,
            new_fund_fen, new_deductible_fen, p_ratio, p_insutype, p_psn_type, p_med_type,
            p_clr_type)
    ON CONFLICT DO NOTHING
    RETURNING id INTO new_settlement_id;
    IF new_settlement_id IS NULL THEN  -- a new payload on a retry is not spent by it
        DELETE FROM electronic_card_use u WHERE u.id = v_use;
        outcome := 'settled_before';
        new_personal_fen := NULL;
        new_balance_after_fen := NULL;
        new_fund_fen := NULL;
        new_deductible_fen := NULL;
        RETURN;
    END IF;

    INSERT INTO settlement_line (settlement_id, catalogue_code, quantity, amount_fen,
                                 account_may_pay)
    SELECT new_settlement_id, l.catalogue_code, l.quantity, l.amount_fen, l.account_may_pay
      FROM json_to_recordset(p_lines)
        AS l(catalogue_code text, quantity integer, amount_fen bigint, account_may_pay boolean);
    IF new_personal_fen > 0 THEN
        WITH claimed AS (  -- the key, unique across every month's partition
            INSERT INTO ledger_key (key, transfer_id, value_date)
            VALUES (p_transfer_key, nextval('ledger_transfer_id_seq'), p_settled_on)
            RETURNING transfer_id)
        INSERT INTO ledger_transfer (id, key, book, debit_account_id, credit_account_id,
                                     amount_fen, value_date, kind, memo)
        SELECT claimed.transfer_id, p_transfer_key, p_book, v_account, v_payable,
               new_personal_fen, p_settled_on, p_transfer_kind, left(p_memo, 200)
          FROM claimed;
    END IF;
    IF p_visit <> 'pharmacy' THEN
        UPDATE pooled_usage u
           SET outpatient_eligible_fen = u.outpatient_eligible_fen
                   + CASE WHEN p_visit = 'outpatient' THEN p_eligible_fen ELSE 0 END,
               outpatient_fund_fen = u.outpatient_fund_fen
                   + CASE WHEN p_visit = 'outpatient' THEN new_fund_fen ELSE 0 END,
               inpatient_fund_fen = u.inpatient_fund_fen
                   + CASE WHEN p_visit = 'inpatient' THEN new_fund_fen ELSE 0 END
         WHERE u.person_id = p_patient_person_id AND u.year = v_year;
    END IF;
    IF new_fund_fen > 0 THEN
        WITH claimed AS (
            INSERT INTO ledger_key (key, transfer_id, value_date)
            VALUES (p_fund_key, nextval('ledger_transfer_id_seq'), p_settled_on)
            RETURNING transfer_id)
        INSERT INTO ledger_transfer (id, key, book, debit_account_id, credit_account_id,
                                     amount_fen, value_date, kind, memo)
        SELECT claimed.transfer_id, p_fund_key, p_book, v_pool, v_payable, new_fund_fen,
               p_settled_on, p_fund_kind, left(p_memo, 200)
          FROM claimed;
    END IF;
    outcome := 'posted';
END
$body$
"""


def upgrade() -> None:
    with op.batch_alter_table("ledger_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("balance_fen", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_posted_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("folded_batch_id", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.create_table(
        "ledger_credit_batch",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("book", sa.String(length=40), nullable=False),
        sa.Column("first_value_date", sa.Date(), nullable=True),
        sa.Column("last_value_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_credit_batch")),
    )
    op.create_index("ix_ledger_credit_batch_book", "ledger_credit_batch", ["book", "id"])
    op.add_column("ledger_transfer", sa.Column("batch_id", sa.BigInteger(), nullable=True))
    op.execute(ZERO)
    op.execute(RECOUNT)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(settlement_function.definition())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS)
    # In place on both (SQLite 3.35+): a batch copy would drop a table others reference.
    op.execute("ALTER TABLE ledger_transfer DROP COLUMN batch_id")
    op.drop_index("ix_ledger_credit_batch_book", table_name="ledger_credit_batch")
    op.drop_table("ledger_credit_batch")
    with op.batch_alter_table("ledger_account", schema=None) as batch_op:
        batch_op.drop_column("folded_batch_id")
        batch_op.drop_column("last_posted_on")
        batch_op.drop_column("balance_fen")
