"""What must hold after any run of faults, read from the database alone plus what the clients
were told: each finding is a violation (a string naming its row); a sound run has none.

- every acknowledged settlement is there exactly once, paid as its answer said;
- every settlement is whole: its row and its postings (personal account, pooled fund) are there
  together, with the row's amounts, or not at all; a refused one is wholly absent;
- every acknowledged contribution is there exactly once;
- no account that may not go negative closed a day below zero (the as-of replay);
- no patient's pooled fund paid more than the year's cap or used more than the deductible;
- `ledger check` reconciles, the audit chain verifies;
- the crediting run of the month it was given completed, each contribution credited once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Engine, text

from yibao.bootstrap import App
from yibao.domain.months import Month
from yibao.ledger.check import account_balances, check_ledger
from yibao.services.audit.reading import verify


@dataclass(frozen=True)
class Outcome:
    """What one client was finally told about one money-moving request."""

    kind: str  # "settlement" or "contribution"
    institution: str  # a settlement's institution code ("" for a contribution)
    ref: str  # a settlement's reference (msgid or API ref); a contribution's person and month
    acknowledged: bool  # a definite yes
    refused: bool  # a definite no; neither: the client gave up without a definite answer
    paid_fen: int | None = None  # what the answer said the personal account paid


@dataclass(frozen=True)
class Limits:
    """The pooled fund's outpatient limits a year, per patient."""

    deductible_fen: int
    cap_fen: int


def check(
    engine: Engine,
    outcomes: list[Outcome],
    *,
    limits: Limits | None = None,
    credited: tuple[str, Month] | None = None,
) -> list[str]:
    violations = _settlements(engine, [o for o in outcomes if o.kind == "settlement"])
    violations += _contributions(engine, [o for o in outcomes if o.kind == "contribution"])
    app = App(engine)
    with app.uow() as uow:
        _, below_zero = account_balances(uow.session)
        violations += [
            f"account {a.account_id} ({a.code}) closed {a.day} at {a.lowest_fen} fen"
            for a in below_zero
        ]
        violations += [f"ledger check: {p.invariant}: {p.detail}" for p in check_ledger(uow.ledger)]
        broken = verify(uow=uow)
        if broken is not None:
            violations.append(f"audit verify: {broken}")
    if limits is not None:
        violations += _pooled_limits(engine, limits)
    if credited is not None:
        violations += _crediting(engine, *credited)
    return violations


def _settlements(engine: Engine, outcomes: list[Outcome]) -> list[str]:
    found: list[str] = []
    with engine.connect() as connection:
        rows = {
            (str(code), str(ref)): (int(personal), int(fund))
            for code, ref, personal, fund in connection.execute(
                text(
                    "SELECT i.code, s.ref, s.personal_fen, s.fund_fen FROM settlement s "
                    "JOIN institution i ON i.id = s.institution_id"
                )
            )
        }
        postings: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for key, amount in connection.execute(
            text(
                "SELECT key, amount_fen FROM ledger_transfer "
                "WHERE key LIKE 'settle:%' OR key LIKE 'fund:%'"
            )
        ):
            leg, code, ref = _parse(str(key))
            postings[(leg, code, ref)].append(int(amount))
    for (code, ref), (personal, fund) in rows.items():
        for leg, amount in (("settle", personal), ("fund", fund)):
            posted = postings.pop((leg, code, ref), [])
            if posted != ([amount] if amount > 0 else []):
                found.append(f"settlement {code}/{ref}: {leg} {amount} fen, posted {posted}")
    for (leg, code, ref), posted in sorted(postings.items()):
        found.append(f"{leg} postings {posted} of {code}/{ref}, which has no settlement")
    for outcome in outcomes:
        there = rows.get((outcome.institution, outcome.ref))
        if outcome.acknowledged and there is None:
            found.append(f"acknowledged settlement {outcome.institution}/{outcome.ref} is missing")
        paid = None if there is None else there[0]
        if outcome.acknowledged and outcome.paid_fen not in (None, paid) and paid is not None:
            found.append(
                f"settlement {outcome.institution}/{outcome.ref}: answered "
                f"{outcome.paid_fen} fen from the account, recorded {paid}"
            )
        if outcome.refused and there is not None:
            found.append(f"refused settlement {outcome.institution}/{outcome.ref} is recorded")
    return found


def _parse(key: str) -> tuple[str, str, str]:
    """('settle' or 'fund', institution, ref) of a settlement's posting key; a doubled posting
    under a key of its own (`settle:P001:R1:again`) keeps its extra part in the ref."""
    leg, code, ref = key.split(":", 2)
    return leg, code, ref


def _contributions(engine: Engine, outcomes: list[Outcome]) -> list[str]:
    found: list[str] = []
    with engine.connect() as connection:
        counts = {
            f"{number}/{month}": int(count)
            for number, month, count in connection.execute(
                text(
                    "SELECT p.id_number, c.month, count(*) FROM contribution c "
                    "JOIN person p ON p.id = c.person_id GROUP BY p.id_number, c.month"
                )
            )
        }
    for outcome in outcomes:
        count = counts.get(outcome.ref, 0)
        if outcome.acknowledged and count != 1:
            found.append(f"acknowledged contribution {outcome.ref} is there {count} times")
        if outcome.refused and count:
            found.append(f"refused contribution {outcome.ref} is recorded")
    return found


def _pooled_limits(engine: Engine, limits: Limits) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT patient_person_id, settled_on, fund_fen, deductible_fen FROM settlement "
                "WHERE visit = 'outpatient' AND refunded_on IS NULL"
            )
        ).all()
    fund: dict[tuple[int, int], int] = defaultdict(int)
    deductible: dict[tuple[int, int], int] = defaultdict(int)
    for person, day, paid, applied in rows:
        year = int(str(day)[:4])
        fund[(int(person), year)] += int(paid)
        deductible[(int(person), year)] += int(applied)
    found = [
        f"person {person} {year}: pooled fund paid {paid} fen, cap {limits.cap_fen}"
        for (person, year), paid in sorted(fund.items())
        if paid > limits.cap_fen
    ]
    found += [
        f"person {person} {year}: deductible applied {applied} fen, of {limits.deductible_fen}"
        for (person, year), applied in sorted(deductible.items())
        if applied > limits.deductible_fen
    ]
    return found


def _crediting(engine: Engine, area: str, month: Month) -> list[str]:
    with engine.connect() as connection:
        completed = connection.execute(
            text("SELECT completed_at FROM crediting_run WHERE area_code = :a AND month = :m"),
            {"a": area, "m": str(month)},
        ).scalar_one_or_none()
        uncredited = connection.execute(
            text(
                "SELECT count(*) FROM contribution c WHERE c.month = :m AND c.credit_fen > 0 "
                "AND NOT EXISTS (SELECT 1 FROM ledger_transfer t WHERE t.key = 'credit:c' || c.id)"
            ),
            {"m": str(month)},
        ).scalar_one()
    found = []
    if completed is None:
        found.append(f"the crediting run of {area} {month} did not complete")
    if uncredited:
        found.append(f"{uncredited} contributions of {month} were not credited")
    return found
