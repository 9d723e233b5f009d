"""`yibao employer|institution|person ...`: the registry, for agency clerks."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.cli.audited import Audited
from yibao.entrypoints.cli.common import DbOption, console, in_one_transaction, parse_day
from yibao.services import registry
from yibao.services.registry import record_links

employer_app = typer.Typer(help="Employers.", no_args_is_help=True)
institution_app = typer.Typer(
    help="Designated hospitals, clinics and pharmacies.", no_args_is_help=True
)
person_app = typer.Typer(help="Insured persons, employment and schemes.", no_args_is_help=True)

AreaOption = Annotated[str, typer.Option("--area", help="Planning area code.")]
OnOption = Annotated[str, typer.Option("--on", help="Effective date, YYYY-MM-DD.")]
EmployerOption = Annotated[str, typer.Option("--employer", help="Employer code.")]


@employer_app.command("add")
def employer_add(code: str, name: str, area: AreaOption, db: DbOption = None) -> None:
    """Record an employer of an area."""
    in_one_transaction(
        db, lambda uow: registry.add_employer(uow=uow, code=code, name=name, area_code=area)
    )
    console.print(f"employer {code} recorded")


@employer_app.command("register")
def employer_register(code: str, on: OnOption, db: DbOption = None) -> None:
    """The employer registers with the agency (Social Insurance Law art. 57)."""
    day = parse_day(on)
    in_one_transaction(db, lambda uow: registry.register_employer(uow=uow, code=code, on=day))
    console.print(f"employer {code} registered on {day}")


@institution_app.command("add")
def institution_add(
    code: str,
    name: str,
    kind: str,
    area: AreaOption,
    level: Annotated[str, typer.Option("--level", help="Grade 1, 2 or 3.")] = "1",
    db: DbOption = None,
) -> None:
    """Record a designated institution: KIND is pharmacy, hospital or clinic, of a grade."""
    in_one_transaction(
        db,
        lambda uow: registry.add_institution(
            uow=uow, code=code, name=name, kind=kind, area_code=area, level=level
        ),
    )
    console.print(f"institution {code} recorded")


@person_app.command("add")
def person_add(id_number: str, name: str, area: AreaOption, db: DbOption = None) -> None:
    """Record an insured person; the ID number is the social security number."""
    in_one_transaction(
        db,
        lambda uow: registry.add_person(uow=uow, id_number=id_number, name=name, area_code=area),
        audit=Audited("person.add", f"person:{area}", id_number),
    )
    console.print(f"person {mask(id_number.upper())} recorded")


@person_app.command("hire")
def person_hire(
    id_number: str, employer: EmployerOption, on: OnOption, db: DbOption = None
) -> None:
    """Employment starts."""
    day = parse_day(on)
    in_one_transaction(
        db,
        lambda uow: registry.hire(uow=uow, id_number=id_number, employer_code=employer, on=day),
        audit=Audited("person.hire", f"employment:{employer}:{day}", id_number),
    )
    console.print(f"hired on {day}")


@person_app.command("register")
def person_register(
    id_number: str,
    employer: EmployerOption,
    on: OnOption,
    pooled_only: Annotated[
        bool, typer.Option("--pooled-only", help="Hospitalization-only cover, no account.")
    ] = False,
    db: DbOption = None,
) -> None:
    """The employer registers the employee (art. 58: within 30 days of hiring)."""
    day = parse_day(on)
    in_one_transaction(
        db,
        lambda uow: registry.register_employee(
            uow=uow, id_number=id_number, employer_code=employer, on=day, pooled_only=pooled_only
        ),
        audit=Audited("person.register", f"employee scheme:{employer}:{day}", id_number),
    )
    console.print(f"registered in the employee scheme from {day}")


@person_app.command("leave")
def person_leave(
    id_number: str, employer: EmployerOption, on: OnOption, db: DbOption = None
) -> None:
    """Employment ends, and the employee scheme through that employer with it."""
    day = parse_day(on)
    in_one_transaction(
        db,
        lambda uow: registry.leave(uow=uow, id_number=id_number, employer_code=employer, on=day),
        audit=Audited("person.leave", f"employment:{employer}:{day}", id_number),
    )
    console.print(f"left on {day}")


@person_app.command("enroll")
def person_enroll(
    id_number: str,
    scheme: Annotated[str, typer.Option("--scheme", help="flexible, resident or retiree.")],
    on: OnOption,
    tier: Annotated[str | None, typer.Option("--tier", help="Flexible tier code.")] = None,
    db: DbOption = None,
) -> None:
    """The person's own scheme changes from a day."""
    day = parse_day(on)
    in_one_transaction(
        db,
        lambda uow: registry.enroll(uow=uow, id_number=id_number, scheme=scheme, tier=tier, on=day),
        audit=Audited("person.enroll", f"scheme:{scheme}:{day}", id_number),
    )
    console.print(f"enrolled in the {scheme} scheme from {day}")


@person_app.command("link")
def person_link(id_number: str, other: str, on: OnOption, db: DbOption = None) -> None:
    """Record that OTHER holds records of the same person (two numbers or areas)."""
    day = parse_day(on)
    in_one_transaction(
        db,
        lambda uow: record_links.link(uow=uow, id_number=id_number, other_id_number=other, on=day),
        audit=Audited("person.link", f"record link:{mask(other)}", id_number),
    )
    console.print("records linked; merge them with `yibao person merge`")


@person_app.command("merge")
def person_merge(id_number: str, other: str, on: OnOption, db: DbOption = None) -> None:
    """Merge OTHER's records and personal account balance into ID_NUMBER's (once)."""
    day = parse_day(on)
    moved = in_one_transaction(
        db,
        lambda uow: record_links.merge(uow=uow, id_number=id_number, other_id_number=other, on=day),
        audit=Audited("person.merge", f"record merge:{mask(other)}", id_number),
    )
    console.print(f"records merged; {fen_to_yuan(moved)} yuan moved")


@institution_app.command("credentials")
def institution_credentials(
    code: str,
    rotate: Annotated[bool, typer.Option("--rotate", help="Issue a new token.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print {paasid, token} as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """The institution's gateway credentials for the national interface (x-tif-paasid and
    the token its client signs with); issued on first use, renewed with --rotate."""
    from yibao.services.national import gateway

    found = in_one_transaction(
        db, lambda uow: gateway.credentials(uow=uow, institution_code=code, rotate=rotate)
    )
    if as_json:
        typer.echo(json.dumps({"paasid": found.paasid, "token": found.token}))
    else:
        console.print(f"paasid {found.paasid}\ntoken  {found.token}", highlight=False)
