"""SQLAlchemy 2 models: the registry, contributions and the ledger. Migrations mirror these."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Area(Base):
    __tablename__ = "area"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class AreaPolicy(Base):
    """One effective-dated policy of an area, kept as the document that was loaded."""

    __tablename__ = "area_policy"
    __table_args__ = (UniqueConstraint("area_code", "effective_from"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    effective_from: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    document: Mapped[str] = mapped_column(Text)  # JSON of the policy block


class Employer(Base):
    __tablename__ = "employer"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    registered_on: Mapped[dt.date | None] = mapped_column(Date)


class Institution(Base):
    """A designated (定点) hospital, clinic or pharmacy."""

    __tablename__ = "institution"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    level: Mapped[int] = mapped_column(Integer, server_default="1")  # grade 1, 2 or 3


class Person(Base):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))


class Employment(Base):
    __tablename__ = "employment"
    __table_args__ = (Index("ix_employment_person", "person_id", "hired_on"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"))
    hired_on: Mapped[dt.date] = mapped_column(Date)
    registered_on: Mapped[dt.date | None] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)


class Enrollment(Base):
    """A person's scheme from `starts_on` until `ends_on` (exclusive), or open."""

    __tablename__ = "enrollment"
    __table_args__ = (
        Index("ix_enrollment_person", "person_id", "starts_on"),
        # the columns a crediting run reads of each retiree, so it reads the index alone
        Index(
            "ix_enrollment_scheme",
            "area_code",
            "scheme",
            "ends_on",
            postgresql_include=["starts_on", "person_id", "id"],
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    scheme: Mapped[str] = mapped_column(String(12))
    tier: Mapped[str | None] = mapped_column(String(40))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)


class Contribution(Base):
    """One payment for one person and month (or a resident's year), listing its insurances.

    The medical amounts and the personal account credit are computed on receipt from the policy
    of the contribution's own month, so the crediting run only posts them (set-based).
    """

    __tablename__ = "contribution"
    __table_args__ = (
        Index("ix_contribution_person", "person_id", "month"),
        Index("ix_contribution_received", "area_code", "received_on"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # idempotency key of the payment
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM: first month paid for
    through_month: Mapped[str] = mapped_column(String(7))  # last month covered (a resident's year)
    received_on: Mapped[dt.date] = mapped_column(Date)
    scheme: Mapped[str] = mapped_column(String(12))
    tier: Mapped[str | None] = mapped_column(String(40))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"))
    base_fen: Mapped[int | None] = mapped_column(BigInteger)
    insurances: Mapped[str] = mapped_column(String(80))  # comma-separated, sorted
    medical_employer_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    medical_person_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerAccount(Base):
    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("book", "code"),
        Index("ix_ledger_account_owner", "owner_person_id", "book"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    book: Mapped[str] = mapped_column(String(40))  # "medical:420100" or "bank"
    code: Mapped[str] = mapped_column(String(80))  # "pooled_fund", "personal:17", ...
    kind: Mapped[str] = mapped_column(String(30))
    allow_negative: Mapped[bool] = mapped_column(Boolean)
    owner_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # Kept where the account may not overdraw (ledger.balances), else NULL: moved by every
    # posting but the bulk credits of batches after `folded_batch_id`, which a sale folds in.
    balance_fen: Mapped[int | None] = mapped_column(BigInteger)
    last_posted_on: Mapped[dt.date | None] = mapped_column(Date)
    folded_batch_id: Mapped[int] = mapped_column(BigInteger, server_default="0")


class LedgerCreditBatch(Base):
    """One bulk posting statement's transfers in a book (a crediting run's), each marked with
    the batch's id, and the range of their value dates (NULL until the statement has run).

    Written in the statement's transaction; a book's batches are written one transaction at a
    time (`ledger.balances.lock_batches`), so their ids follow the order they commit in.
    """

    __tablename__ = "ledger_credit_batch"
    __table_args__ = (Index("ix_ledger_credit_batch_book", "book", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    book: Mapped[str] = mapped_column(String(40))
    first_value_date: Mapped[dt.date | None] = mapped_column(Date)
    last_value_date: Mapped[dt.date | None] = mapped_column(Date)


class LedgerTransfer(Base):
    """One movement of money from the debit account to the credit account of the same book.

    Never updated or deleted: a mistake is corrected by a transfer that reverses it.
    """

    __tablename__ = "ledger_transfer"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="positive_amount"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        Index("ix_ledger_transfer_credit", "credit_account_id"),
        Index("ix_ledger_transfer_debit", "debit_account_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)  # idempotency key
    book: Mapped[str] = mapped_column(String(40))
    # No foreign keys to ledger_account (migration 0006): `yibao ledger check` finds dangling ones.
    debit_account_id: Mapped[int] = mapped_column(Id)
    credit_account_id: Mapped[int] = mapped_column(Id)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    value_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    memo: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    # The bulk posting that wrote it (ledger_credit_batch), else NULL: its credit is kept by
    # the credited account's row only once the account's next debit folds the batch in.
    batch_id: Mapped[int | None] = mapped_column(BigInteger)


class CreditingRun(Base):
    """One month-end crediting run of an area; completed_at is set when every batch is done."""

    __tablename__ = "crediting_run"
    __table_args__ = (UniqueConstraint("area_code", "month"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    month: Mapped[str] = mapped_column(String(7))
    run_date: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    credited_count: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # where a resumed run starts: the last contribution / enrolment id of its committed batches
    contributions_done_through: Mapped[int | None] = mapped_column(BigInteger)
    retirees_done_through: Mapped[int | None] = mapped_column(BigInteger)
    # how its retirees' credits are keyed (migration 0032): `by_month` for every run made now;
    # `by_person`, the server's default, for the runs made before and kept as they were keyed
    retiree_keys: Mapped[str] = mapped_column(
        String(10), default="by_month", server_default="by_person"
    )


class CreditingRunRow(Base):
    """One credit a crediting run will post, found in its first transaction: the contribution
    (kind 1) or the retiree's enrolment (kind 2), its person, their personal account, the
    amount, and the batch that posts it. Unlogged on PostgreSQL: a server crash empties it, and
    a resumed run finds its rows again. No primary key: the rows are written once, in batch
    order, and read by batch through a BRIN index (a few pages, where a B-tree cost the run
    an entry a row); the run, kind and source id name a row.
    """

    __tablename__ = "crediting_run_row"
    __table_args__ = (Index(None, "run_id", "kind", "batch", postgresql_using="brin"),)
    __mapper_args__ = {"primary_key": ("run_id", "kind", "source_id")}  # noqa: RUF012
    run_id: Mapped[int] = mapped_column(BigInteger)  # crediting_run.id
    kind: Mapped[int] = mapped_column(Integer)
    batch: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[int | None] = mapped_column(BigInteger)  # NULL: opened by the run
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    month: Mapped[str] = mapped_column(String(7))


class Card(Base):
    """A social security card; a person's current card is their newest one not replaced."""

    __tablename__ = "card"
    __table_args__ = (Index("ix_card_person", "person_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    card_no: Mapped[str] = mapped_column(String(40), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(String(12))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    medical_activated_on: Mapped[dt.date | None] = mapped_column(Date)
    financial_activated_on: Mapped[dt.date | None] = mapped_column(Date)
    lost_on: Mapped[dt.date | None] = mapped_column(Date)
    replaced_on: Mapped[dt.date | None] = mapped_column(Date)
    replaced_by_card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"))
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    failed_pin_tries: Mapped[int] = mapped_column(Integer, default=0)


class FamilyBinding(Base):
    """`payer` may pay for `member` from the personal account (family mutual aid, 家庭共济)."""

    __tablename__ = "family_binding"
    __table_args__ = (Index("ix_family_binding_pair", "payer_person_id", "member_person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    payer_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    member_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    relation: Mapped[str] = mapped_column(String(20))
    bound_on: Mapped[dt.date] = mapped_column(Date)
    unbound_on: Mapped[dt.date | None] = mapped_column(Date)


class Settlement(Base):
    """One purchase settled at a designated institution; unique by institution and reference."""

    __tablename__ = "settlement"
    __table_args__ = (
        UniqueConstraint("institution_id", "ref"),
        Index("ix_settlement_day", "institution_id", "settled_on"),
        Index("ix_settlement_payer", "payer_person_id", "settled_on"),
        Index("ix_settlement_patient", "patient_person_id", "settled_on"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # No foreign keys (migration 0028): the ledger check's `references_exist` stands for them.
    institution_id: Mapped[int] = mapped_column(Id)
    ref: Mapped[str] = mapped_column(String(80))
    payer_person_id: Mapped[int] = mapped_column(Id)
    patient_person_id: Mapped[int] = mapped_column(Id)
    card_id: Mapped[int | None] = mapped_column(Id)
    settled_on: Mapped[dt.date] = mapped_column(Date)
    fingerprint: Mapped[str] = mapped_column(String(64))  # of the request, for idempotency
    total_fen: Mapped[int] = mapped_column(BigInteger)
    eligible_fen: Mapped[int] = mapped_column(BigInteger)
    personal_fen: Mapped[int] = mapped_column(BigInteger)  # paid by the personal account
    own_fen: Mapped[int] = mapped_column(BigInteger)  # paid by the person (cash)
    balance_after_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # on the receipt
    refunded_on: Mapped[dt.date | None] = mapped_column(Date)
    visit: Mapped[str] = mapped_column(String(12), server_default="pharmacy")
    fund_fen: Mapped[int] = mapped_column(BigInteger, server_default="0")  # the pooled fund's
    deductible_fen: Mapped[int] = mapped_column(BigInteger, server_default="0")  # applied
    ratio: Mapped[str] = mapped_column(String(12), server_default="0")  # the fund's, as written
    # the national interface's codes (domain.national_codes); no insutype without a scheme
    insutype: Mapped[str | None] = mapped_column(String(3))
    psn_type: Mapped[str | None] = mapped_column(String(4))
    med_type: Mapped[str] = mapped_column(String(2), server_default="41")
    clr_type: Mapped[str] = mapped_column(String(2), server_default="41")


class PooledUsage(Base):
    """A patient's pooled-fund usage in one calendar year, refunded bills taken back.

    Its row is the patient's lock: a bill at a hospital or clinic locks it before reading it,
    so two bills of one patient never both use the same deductible or the same room under a
    cap. The ledger check recomputes it from the settlements.
    """

    __tablename__ = "pooled_usage"
    person_id: Mapped[int] = mapped_column(Id, primary_key=True)  # no foreign key: see Settlement
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    outpatient_eligible_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    outpatient_fund_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    inpatient_fund_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class Evoucher(Base):
    """A person's medical insurance e-voucher (医保电子凭证): its own status, not the card's.

    Every person on record holds one, active, until it is suspended; a row exists once it was
    issued or its status changed.
    """

    __tablename__ = "evoucher"
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    since: Mapped[dt.date] = mapped_column(Date)


class SettlementLine(Base):
    __tablename__ = "settlement_line"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(Id, index=True)  # no foreign key: see Settlement
    catalogue_code: Mapped[str] = mapped_column(String(60))
    quantity: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    account_may_pay: Mapped[bool] = mapped_column(Boolean)


class AuditChain(Base):
    """The head of one of the audit trail's hash chains: its last position and hash."""

    __tablename__ = "audit_chain"
    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    head: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    """Who read or wrote whose data, through which channel, when, and the outcome.

    Append-only (on PostgreSQL the database refuses UPDATE and DELETE, migration 0015) and
    hash-chained (domain.audit): `yibao audit verify` finds an entry changed, removed or moved.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_audit_entry_person", "person", "id"),
        Index("ix_audit_entry_actor", "actor_user", "id"),
        Index("ix_audit_entry_recorded", "recorded_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chain: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor_user: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(20))
    person: Mapped[str | None] = mapped_column(String(40))  # the ID number, as given
    resource: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(60))
    hash: Mapped[str] = mapped_column(String(64))


class RecordLink(Base):
    """Two person records the agency found to be one human (seed 002: two numbers to merge)."""

    __tablename__ = "record_link"
    __table_args__ = (UniqueConstraint("person_id", "other_person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))  # the record that stays
    other_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))  # merged into it
    found_on: Mapped[dt.date] = mapped_column(Date)
    merged_on: Mapped[dt.date | None] = mapped_column(Date)


class InterAreaBill(Base):
    """One bill settled across planning areas (异地就医), as this area's book sees it.

    The insured area's row (`side` "insured") names its person and what their personal account
    paid, owed to the treating area; the treating area's row ("treating") names its institution
    and the same amount, owed to it by the insured area. Each database holds only its side.
    """

    __tablename__ = "inter_area_bill"
    __table_args__ = (
        UniqueConstraint("side", "other_area", "institution_code", "ref"),
        Index("ix_inter_area_bill_clearing", "other_area", "side", "cleared_in"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    side: Mapped[str] = mapped_column(String(8))  # insured or treating
    area_code: Mapped[str] = mapped_column(String(6))  # this book's area
    other_area: Mapped[str] = mapped_column(String(6))
    institution_code: Mapped[str] = mapped_column(String(40))  # of the treating area
    ref: Mapped[str] = mapped_column(String(80))  # the institution's bill reference
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # insured side only
    id_number: Mapped[str] = mapped_column(String(18))  # the insured person's
    settled_on: Mapped[dt.date] = mapped_column(Date)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    personal_fen: Mapped[int] = mapped_column(BigInteger)  # paid by the personal account
    fund_fen: Mapped[int] = mapped_column(BigInteger, server_default="0")  # the insured fund
    deductible_fen: Mapped[int] = mapped_column(BigInteger, server_default="0")
    eligible_fen: Mapped[int | None] = mapped_column(BigInteger)  # what fund and account may pay
    visit: Mapped[str | None] = mapped_column(String(12))  # pharmacy, outpatient, inpatient
    refunded_on: Mapped[dt.date | None] = mapped_column(Date)  # the whole bill given back
    cleared_in: Mapped[str | None] = mapped_column(String(7))  # the period that cleared it


class InterAreaRef(Base):
    """A treating institution's bill reference (the msgid), claimed in the insured area's book
    by the first of its settlement, which writes the bill in the same transaction, and its
    reversal, which bars it: the one key on which the two wait for each other (migration 0033).
    """

    __tablename__ = "inter_area_ref"
    __table_args__ = (UniqueConstraint("other_area", "institution_code", "ref"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    other_area: Mapped[str] = mapped_column(String(6))  # the treating area
    institution_code: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(8))  # settled or barred
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())


class ElectronicCardUse(Base):
    """The sale an electronic card payload paid for: a payload is spent once (by its nonce)."""

    __tablename__ = "electronic_card_use"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(Id)  # no foreign keys: see Settlement
    institution_id: Mapped[int] = mapped_column(Id)
    ref: Mapped[str] = mapped_column(String(80))
    used_on: Mapped[dt.date] = mapped_column(Date)


class ApiUser(Base):
    """A login of the API: one role, and the scope it may see (a person, employer, ...)."""

    __tablename__ = "api_user"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    # the ID number, employer, institution or area code the role is limited to, if any
    scope: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # login attempts: wrong passwords in a row, and when the last one was tried
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ApiToken(Base):
    """An access token issued to a user, by its id (`jti`): revoked here, it stops working."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_user", "user_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("api_user.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class IdempotencyRecord(Base):
    """The first answer to a money-moving request, by the caller's Idempotency-Key."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("api_user.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)  # the JSON body answered
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())


# -- the national institution interface (国家医保信息平台 protocol) ---------------------------
class CatalogueItem(Base):
    """One line of an area's medical insurance catalogue, in force from `from_month` until
    the area's next load."""

    __tablename__ = "catalogue_item"
    __table_args__ = (
        UniqueConstraint("area_code", "from_month", "code"),
        Index("ix_catalogue_item_code", "area_code", "code", "from_month"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    from_month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    item_class: Mapped[str] = mapped_column(String(1))  # A, B or C
    selfpay_prop: Mapped[str] = mapped_column(String(12))  # as written, e.g. "0.10"


class InstitutionCredential(Base):
    """The gateway's credential of a designated institution: its paasid and token.

    The token is kept as issued: verifying a signature needs it. It is never logged.
    """

    __tablename__ = "institution_credential"
    paasid: Mapped[str] = mapped_column(String(40), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), unique=True)
    token: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)


class GatewayNonce(Base):
    """A nonce a signed request used, with its timestamp: it cannot sign another request."""

    __tablename__ = "gateway_nonce"
    __table_args__ = (Index("ix_gateway_nonce_time", "signed_at"),)
    paasid: Mapped[str] = mapped_column(String(40), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    signed_at: Mapped[int] = mapped_column(BigInteger)  # Unix seconds, as signed


class NationalSignIn(Base):
    """An operator's sign-in (9001) at an institution; its sign_no goes with every message."""

    __tablename__ = "national_sign_in"
    sign_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    opter_no: Mapped[str] = mapped_column(String(30))
    signed_in_at: Mapped[dt.datetime] = mapped_column(DateTime)
    signed_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class NationalMessage(Base):
    """The first answer to a message, by the institution's msgid: a repeat gets it again."""

    __tablename__ = "national_message"
    __table_args__ = (UniqueConstraint("institution_id", "msgid"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    msgid: Mapped[str] = mapped_column(String(30))
    infno: Mapped[str] = mapped_column(String(4))
    response: Mapped[str] = mapped_column(Text)  # the JSON `output` answered
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime)


class NationalVisit(Base):
    """An outpatient registration (2201) or an admission (2401): the `mdtrt_id` of the
    protocol, its fee lines and, once settled, its settlement."""

    __tablename__ = "national_visit"
    __table_args__ = (Index("ix_national_visit_person", "person_id", "begins_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    mdtrt_id: Mapped[str] = mapped_column(String(30), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    # the person's insured area where it is another area's database (异地就医): its
    # person_id and settlement_id (and its lines') are numbers of that database; NULL: this one.
    # No foreign keys on them (migration 0030): the ledger check's `references_exist` stands
    # for them where the visit is of this database.
    insured_area: Mapped[str | None] = mapped_column(String(6))
    person_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(12))  # outpatient or inpatient
    status: Mapped[str] = mapped_column(String(12))  # open, discharged, settled, cancelled
    insutype: Mapped[str] = mapped_column(String(3))
    med_type: Mapped[str] = mapped_column(String(6))
    begins_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    details: Mapped[str] = mapped_column(Text)  # the registration's other fields, as JSON
    settlement_id: Mapped[int | None] = mapped_column(Id)  # an inter_area_bill of insured_area's
    # the msgid settling the visit across areas, from before both books are written until its
    # lines are linked: another msgid may not settle it meanwhile (`visits.claim`)
    settling_msgid: Mapped[str | None] = mapped_column(String(30))


class NationalFeeLine(Base):
    """An uploaded fee detail line of a visit (2204, 2301), cut by the catalogue on upload."""

    __tablename__ = "national_fee_line"
    __table_args__ = (UniqueConstraint("visit_id", "feedetl_sn"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("national_visit.id"))
    feedetl_sn: Mapped[str] = mapped_column(String(30))
    chrg_bchno: Mapped[str] = mapped_column(String(30))
    med_list_codg: Mapped[str] = mapped_column(String(60))
    quantity: Mapped[str] = mapped_column(String(20))  # `cnt` as written (may be 0.5)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    item_class: Mapped[str] = mapped_column(String(1))
    selfpay_prop: Mapped[str] = mapped_column(String(12))
    preselfpay_fen: Mapped[int] = mapped_column(BigInteger)
    fulamt_ownpay_fen: Mapped[int] = mapped_column(BigInteger)
    settlement_id: Mapped[int | None] = mapped_column(Id)  # no foreign key: see NationalVisit


class ImportBatch(Base):
    """A file applied by `yibao import`: its kind and content hash, so the same file applied
    again is recognised and changes nothing. Written in the transaction that applies the file:
    an import that died left no row, and simply runs again."""

    __tablename__ = "import_batch"
    __table_args__ = (UniqueConstraint("kind", "content_sha256"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    content_sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(BigInteger)
    applied: Mapped[int] = mapped_column(BigInteger)  # rows that wrote something new
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
