"""A card sale on PostgreSQL in one statement: the credential's read and the sale posted together.

The common sale (card + PIN, or an electronic card's payload, at a pharmacy of the holder's own
area, no family aid, no catalogue to price by) needs nothing from the read that SQL cannot find
or compute: the PIN's hash is the PIN keyed with the card's number (`cards.presented_pin_hash`),
an electronic card's nonce is known from its verified payload, the accounts' codes follow the
ledger's own form around the holder's id and area, the fingerprint is text around the holder's
id, and a pharmacy bill's terms are the fund's NOTHING with the national codes of the holder's
scheme. So the read and `post_settlement` go in one statement
(`settlement_function.called_after`): one round trip, not two. Where any condition does not
hold of the row the read finds (another area, a wrong or locked PIN, a hash with another salt,
a resident, whose codes depend on age, a card not yet activated on the day, a suspended
electronic card or a lost card, a person not of the area an electronic card's payload claims,
...) nothing is written, and the caller goes on from the row the old way, at no more round trips
than before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import String, Table, and_, bindparam, case, func, literal, or_, select
from sqlalchemy import cast as sql_cast

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import Card, Evoucher, Institution, Person
from yibao.domain.cards import CardStatus
from yibao.domain.national_codes import NationalCodes, national_codes
from yibao.domain.pooled import NOTHING, Visit
from yibao.domain.schemes import Scheme
from yibao.domain.settlement import LineItem, eligible_fen, line_fingerprint, line_values
from yibao.domain.settlement import total_fen as lines_total_fen
from yibao.ledger import accounts, settlement_function
from yibao.ledger.kinds import TransferKind
from yibao.services import cards
from yibao.services.cards import electronic_card
from yibao.services.settlement import pooled

P = cast(Table, Person.__table__)
INST = cast(Table, Institution.__table__)
CARD = cast(Table, Card.__table__)
EVOUCHER = cast(Table, Evoucher.__table__)

AT_INSTITUTION = INST.c.code == bindparam("institution")

# The card presented, its holder, the institution and the fund's facts, in one read without a
# lock (the sale tries the PIN under the card's lock: `cards.PresentedPin`).
CARD_FOR_SALE = HotStatement(
    select(
        CARD.c.id, CARD.c.card_no, CARD.c.status, CARD.c.financial_activated_on,
        CARD.c.failed_pin_tries, CARD.c.pin_hash, P.c.id, P.c.id_number, P.c.area_code,
        INST.c.id, INST.c.code, INST.c.area_code, CARD.c.medical_activated_on,
        *pooled.FACT_COLUMNS,
    )
    .select_from(CARD)
    .join(P, P.c.id == CARD.c.person_id)
    .outerjoin(INST, AT_INSTITUTION)
    .where(CARD.c.card_no == bindparam("card_no"))
)  # fmt: skip


def _width(read: HotStatement) -> int:
    """The columns a read returns: in a one-statement sale, the outcome's columns follow them
    (`settlement_function.OUTCOME`)."""
    return len(cast(Any, read.statement("postgresql")).selected_columns)


READ_COLUMNS = _width(CARD_FOR_SALE)

_CURRENT_CARD_STATUS = (  # as `cards.current_card` finds it
    select(CARD.c.status)
    .where(CARD.c.person_id == P.c.id, CARD.c.status != str(CardStatus.REPLACED))
    .order_by(CARD.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
_EVOUCHER_STATUS = select(EVOUCHER.c.status).where(EVOUCHER.c.person_id == P.c.id).scalar_subquery()

# A person identified without a card (an electronic card's payload, an ID card read at the
# counter), the status of their card and of their electronic card, the institution and the
# fund's facts, in one read.
PERSON_FOR_SALE = HotStatement(
    select(
        P.c.id, P.c.id_number, P.c.area_code, INST.c.id, INST.c.code, INST.c.area_code,
        _CURRENT_CARD_STATUS, _EVOUCHER_STATUS, *pooled.FACT_COLUMNS,
    )
    .select_from(P)
    .outerjoin(INST, AT_INSTITUTION)
    .where(P.c.id == bindparam("id"))
)  # fmt: skip
PERSON_READ_COLUMNS = _width(PERSON_FOR_SALE)


@dataclass(frozen=True, slots=True)
class _Shape:
    """Where a read's row keeps what the sale's gate and arguments need (column positions)."""

    person: int
    person_area: int
    institution: int
    institution_area: int
    facts: int  # the first of pooled.FACT_COLUMNS: birth date, scheme, paid, kind, level,
    # policy, catalogue


_CARD_READ = _Shape(person=6, person_area=8, institution=9, institution_area=11, facts=13)
_PERSON_READ = _Shape(person=0, person_area=2, institution=3, institution_area=5, facts=8)

_PLACE = "{}"  # where the row's id or area goes in a code's form


def settle_key(institution_code: str, ref: str) -> str:
    """The key of the personal account's transfer of the sale `ref` at the institution."""
    return f"settle:{institution_code}:{ref}"


def fund_key(institution_code: str, ref: str) -> str:
    """The key of the pooled fund's transfer of the sale."""
    return f"fund:{institution_code}:{ref}"


def sale_memo(institution_code: str, ref: str) -> str:
    return f"{institution_code} {ref}"


def fingerprint_parts(lines: Sequence[LineItem], visit: Visit | None) -> tuple[str, str, str]:
    """The text a sale's fingerprint hashes, around the patient's id and the payer's (in that
    order): `json.dumps` of lines, patient, payer and visit, keys sorted, written out so that
    SQL can put the ids in."""
    head = json.dumps([line_fingerprint(line) for line in lines], sort_keys=True)
    tail = "}" if visit is None else f', "visit": {json.dumps(str(visit))}}}'
    return '{"lines": ' + head + ', "patient": ', ', "payer": ', tail


def fingerprint(lines: Sequence[LineItem], visit: Visit | None, payer: int, patient: int) -> str:
    before, between, after = fingerprint_parts(lines, visit)
    text = f"{before}{patient}{between}{payer}{after}"
    return hashlib.sha256(text.encode()).hexdigest()


_AGELESS = [scheme for scheme in Scheme if scheme is not Scheme.RESIDENT]


def _pharmacy_codes(scheme: Scheme) -> NationalCodes:
    """A pharmacy bill's national codes for a scheme whose codes do not depend on the
    patient's age (every scheme but the residents'): any birth date gives them."""
    day = dt.date(2000, 1, 1)
    return national_codes(scheme=scheme, birth_date=day, visit=Visit.PHARMACY, on=day)


def _code_by_scheme(column: Any, which: str) -> Any:
    return case({str(s): getattr(_pharmacy_codes(s), which) for s in _AGELESS}, value=column)


def _read(statement: HotStatement, dialect: str) -> Any:
    assert dialect == "postgresql"  # the settlement function is PostgreSQL's
    # OFFSET 0: read once, not pulled up into the statement, where each use of a column that is
    # a subquery (the scheme's, the policy's) would run that subquery again.
    return cast(Any, statement.statement(dialect)).offset(0).subquery("credential_read")


def _own_pharmacy_sale(shape: _Shape, columns: Sequence[Any]) -> list[Any]:
    """What both gates ask: a known pharmacy of the holder's own area, a policy, no catalogue,
    and a scheme whose codes do not depend on the holder's age."""
    scheme, kind, policy, catalogue = (columns[shape.facts + i] for i in (1, 3, 5, 6))
    return [
        columns[shape.institution].is_not(None),
        columns[shape.person_area] == columns[shape.institution_area],
        kind == "pharmacy",
        policy.is_not(None),
        catalogue.is_(None),
        or_(*(scheme == str(s) for s in _AGELESS)),
    ]


def _card_statement(dialect: str) -> Any:
    read = _read(CARD_FOR_SALE, dialect)
    columns = list(read.c)
    status, tries, pin_hash, activated_on = (columns[i] for i in (2, 4, 5, 12))
    day: Any = bindparam("settled_on")
    where = and_(
        status == str(CardStatus.ACTIVE),
        tries == 0,
        pin_hash == bindparam("pin_hash"),
        or_(activated_on.is_(None), activated_on <= day),
        *_own_pharmacy_sale(_CARD_READ, columns),
    )
    return settlement_function.called_after(
        read, where, lambda row: _arguments(_CARD_READ, row, card_id=row[0])
    )


def _electronic_card_statement(dialect: str) -> Any:
    read = _read(PERSON_FOR_SALE, dialect)
    columns = list(read.c)
    card_status, evoucher_status = columns[6], columns[7]
    where = and_(
        # a lost card stops an electronic card only where the policy says so: the old way reads it
        or_(card_status.is_(None), card_status != str(CardStatus.LOST)),
        or_(evoucher_status.is_(None), evoucher_status == electronic_card.ACTIVE),
        # the person the payload's id names is of the area the payload claims: the same id
        # signed by another area's database is another person here (the old way refuses it)
        columns[_PERSON_READ.person_area] == bindparam("claimed_area", type_=String),
        *_own_pharmacy_sale(_PERSON_READ, columns),
    )
    return settlement_function.called_after(
        read, where, lambda row: _arguments(_PERSON_READ, row, card_id=None)
    )


def _arguments(shape: _Shape, row: Sequence[Any], card_id: Any) -> dict[str, Any]:
    """`post_settlement`'s arguments: bound by name, but where they come from the read's row
    (`row`: its columns)."""
    person_id, institution_id = row[shape.person], row[shape.institution]
    institution_area, scheme = row[shape.institution_area], row[shape.facts + 1]
    holder = sql_cast(person_id, String)
    fingerprinted = (
        bindparam("fingerprint_before", type_=String) + holder
        + bindparam("fingerprint_between", type_=String) + holder
        + bindparam("fingerprint_after", type_=String)
    )  # fmt: skip
    codes = _pharmacy_codes(Scheme.EMPLOYEE)  # the visit's codes: the same for every scheme
    return {
        **{name: bindparam(name) for name in settlement_function.PARAMETERS},
        "book": func.replace(literal(accounts.medical_book(_PLACE)), _PLACE, institution_area),
        "account_code": func.replace(
            literal(accounts.AccountRef("", accounts.AccountKind.PERSONAL, _PLACE).code),
            _PLACE,
            holder,
        ),
        "institution_id": institution_id,
        "payer_person_id": person_id,
        "patient_person_id": person_id,
        **({} if card_id is None else {"card_id": card_id}),
        "fingerprint": func.encode(
            func.sha256(func.convert_to(fingerprinted, literal("UTF8"))), literal("hex")
        ),
        "insutype": _code_by_scheme(scheme, "insutype"),
        "psn_type": _code_by_scheme(scheme, "psn_type"),
        "med_type": literal(codes.med_type),
        "clr_type": literal(codes.clr_type),
    }


_CARD_SALE = HotStatement(_card_statement)
_ELECTRONIC_CARD_SALE = HotStatement(_electronic_card_statement)


def _sale_params(
    *,
    institution_code: str,
    ref: str,
    lines: Sequence[LineItem],
    visit: Visit | None,
    on: dt.date,
    today: dt.date,
) -> dict[str, object] | None:
    """What both statements bind of the sale, or None where it cannot be one (a visit other
    than a pharmacy's: the old way names it)."""
    if visit not in (None, Visit.PHARMACY):
        return None
    before, between, after = fingerprint_parts(lines, visit)
    return {
        **pooled.fact_params(on),
        "institution": institution_code,
        "ref": ref,
        "settled_on": on,
        "total_fen": lines_total_fen(lines),
        "eligible_fen": eligible_fen(lines),
        "lines": json.dumps([line_values(line) for line in lines]),
        "transfer_key": settle_key(institution_code, ref),
        "transfer_kind": str(TransferKind.SETTLEMENT),
        "memo": sale_memo(institution_code, ref),
        "today": today,
        "visit": str(NOTHING.visit),
        "ratio": str(NOTHING.ratio),
        "deductible_rule_fen": NOTHING.deductible_fen,
        "annual_cap_fen": NOTHING.annual_cap_fen,
        "payable_code": accounts.institution_payable(_PLACE, institution_code).code,
        "pool_code": accounts.pooled_fund(_PLACE).code,
        "fund_key": fund_key(institution_code, ref),
        "fund_kind": str(TransferKind.FUND_SETTLEMENT),
        # A right PIN on a card with no wrong tries is read, not counted; should the card
        # change between the statement's read and the sale's, no try can be counted
        # (`pin_not_tried`) and the old way tries it again.
        "pin_max_tries": 0,
        "fingerprint_before": before,
        "fingerprint_between": between,
        "fingerprint_after": after,
    }


def one_statement_params(
    *,
    institution_code: str,
    ref: str,
    card_no: str,
    pin: str,
    lines: Sequence[LineItem],
    visit: Visit | None,
    on: dt.date,
    today: dt.date,
) -> dict[str, object] | None:
    """The parameters of the one-statement card sale, or None where the sale cannot be one (a
    malformed PIN, or a visit other than a pharmacy's: the old way names it)."""
    presented = cards.presented_pin_hash(card_no, pin)
    sale = _sale_params(
        institution_code=institution_code, ref=ref, lines=lines, visit=visit, on=on, today=today
    )
    if presented is None or sale is None:
        return None
    return {**sale, "card_no": card_no, "pin_hash": presented, "evoucher_nonce": None}


def electronic_card_params(
    *,
    institution_code: str,
    ref: str,
    person_id: int,
    nonce: str,
    claimed_area: str,
    lines: Sequence[LineItem],
    visit: Visit | None,
    on: dt.date,
    today: dt.date,
) -> dict[str, object] | None:
    """The parameters of the one-statement sale paid with an electronic card's verified payload
    (its person, the area it claims the person is insured in, and its nonce), or None where the
    sale cannot be one."""
    sale = _sale_params(
        institution_code=institution_code, ref=ref, lines=lines, visit=visit, on=on, today=today
    )
    if sale is None:
        return None
    return {
        **sale,
        "id": person_id,
        "claimed_area": claimed_area,
        "card_id": None,
        "pin_hash": None,
        "evoucher_nonce": nonce,
    }


def read_and_post(runner: Any, params: dict[str, object]) -> tuple[Sequence[Any] | None, Any]:
    """(the card read's row or None if no card has the number, the sale's outcome columns or
    None where it was not posted). A sale refused by the function wrote nothing: the caller
    goes on the old way, which meets the refusal again and names it."""
    return _read_and_post(runner, _CARD_SALE, params, CARD_FOR_SALE, READ_COLUMNS)


def read_and_post_electronic(
    runner: Any, params: dict[str, object]
) -> tuple[Sequence[Any] | None, Any]:
    """As `read_and_post`, for an electronic card: the person read's row (`PERSON_FOR_SALE`)."""
    return _read_and_post(
        runner, _ELECTRONIC_CARD_SALE, params, PERSON_FOR_SALE, PERSON_READ_COLUMNS
    )


def _read_and_post(
    runner: Any,
    statement: HotStatement,
    params: dict[str, object],
    read_alone: HotStatement,
    read_columns: int,
) -> tuple[Sequence[Any] | None, Any]:
    row = settlement_function.called_after_rows(runner, statement, params)
    if isinstance(row, str):  # a transfer key taken: nothing written, the read alone again
        keys = ("card_no", "id", "institution", "day", "month")
        return read_alone.one_or_none(runner, {k: params[k] for k in keys if k in params}), None
    if row is None:
        return None, None
    read, outcome = row[:read_columns], row[read_columns:]
    return read, (outcome if outcome[0] == "posted" else None)
