"""a card sale clears its PIN's tries inside the settlement function

Revision ID: 0017
Revises: 0013

On PostgreSQL a POS sale with card and PIN counts its try first, in the statement that reads
the card (`services.cards.pin_counted_first`), and compares the PIN after: no transaction is
held open around the comparison. The sale then clears the count in the same server call as
it is written: `post_settlement` sets the card's `failed_pin_tries` to 0 when it is given a
card. Its arguments do not change. SQLite takes the same steps from Python: nothing here.
"""

from alembic import op

from yibao.ledger import settlement_function

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None

# The function as 0013 installed it, restored by the downgrade.
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
-- retry of that sale finds it spent by itself. A card sale passes NULL.
-- The ledger owns this file (ledger/settlement_function.py); migrations 0008 and 0013 install
-- it and a test compares it with the function the database holds.
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(settlement_function.definition())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS)
