"""`yibao user ...`: the API's logins. Passwords come on stdin, never on the command line."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import mask
from yibao.entrypoints.cli.common import DbOption, console, in_one_transaction, reported_errors
from yibao.services import accounts
from yibao.services.accounts import Role, User

app = typer.Typer(help="API users, their roles and passwords.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin (required)."
    ),
]


def _password(from_stdin: bool) -> str:
    with reported_errors():
        if not from_stdin:
            raise InvalidInput(
                "--password-stdin", None, "is required: a password never goes on a command line"
            )
        if sys.stdin.isatty():
            return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidInput("password", None, "is missing on stdin")
        return line


def _shown_scope(user: User) -> str:
    if user.scope is None:
        return "-"
    return mask(user.scope) if user.role is Role.PERSON else user.scope


@app.command("add")
def add(
    name: str,
    role: Annotated[str, typer.Option("--role", help=", ".join(Role))],
    password_stdin: PasswordStdin = False,
    person: Annotated[str | None, typer.Option("--person", help="person: their ID")] = None,
    employer: Annotated[str | None, typer.Option("--employer", help="employer: its code")] = None,
    institution: Annotated[
        str | None, typer.Option("--institution", help="institution: its code")
    ] = None,
    area: Annotated[str | None, typer.Option("--area", help="clerk: the area code")] = None,
    db: DbOption = None,
) -> None:
    """Add a login with one role; clerk, employer, institution and person need their scope."""
    given = [value for value in (person, employer, institution, area) if value is not None]
    with reported_errors():
        if len(given) > 1:
            raise InvalidInput("scope", ", ".join(given), "give at most one of the scope options")
    password = _password(password_stdin)
    user = in_one_transaction(
        db,
        lambda uow: accounts.add_user(
            uow=uow,
            name=name,
            role=role,
            password=password,
            scope=given[0] if given else None,
        ),
    )
    console.print(f"user {user.name} added ({user.role} {_shown_scope(user)})", highlight=False)


@app.command("list")
def list_users(db: DbOption = None) -> None:
    """Every login, its role and scope, and whether it is disabled."""
    found = in_one_transaction(db, lambda uow: accounts.users(uow=uow))
    table = Table(title="API users")
    for column in ("name", "role", "scope", "state"):
        table.add_column(column)
    for user in found:
        table.add_row(
            user.name, str(user.role), _shown_scope(user), "disabled" if user.disabled else "active"
        )
    console.print(table)


@app.command("disable")
def disable(name: str, db: DbOption = None) -> None:
    """The user can no longer log in; its tokens stop working at once."""
    in_one_transaction(db, lambda uow: accounts.disable_user(uow=uow, name=name))
    console.print(f"user {name} disabled")


@app.command("reset")
def reset(name: str, password_stdin: PasswordStdin = False, db: DbOption = None) -> None:
    """A new password (from stdin); the user is enabled and its login attempts cleared."""
    password = _password(password_stdin)
    in_one_transaction(
        db, lambda uow: accounts.reset_password(uow=uow, name=name, password=password)
    )
    console.print(f"user {name}: password reset")
