"""What every CLI command shares: the --db option, error reporting, and yuan formatting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import DataError, DBAPIError

from yibao.bootstrap import App, bootstrap
from yibao.domain.cards import UnknownCard
from yibao.domain.errors import InvalidInput, NotFound, YibaoError
from yibao.domain.months import parse_date
from yibao.entrypoints.cli.audited import Audited, record_in, recorded_within, recording
from yibao.ledger.errors import UnknownTransfer
from yibao.services.settlement import UnknownRef
from yibao.services.uow import UnitOfWork

T = TypeVar("T")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: YIBAO_DATABASE_URL or sqlite:///yibao.db)."),
]

EXIT_REFUSED = 1  # the request was understood and refused (insufficient funds, ...)
EXIT_BAD_INPUT = 2  # the request itself was wrong (invalid ID number, unknown area, ...)


# what the request names does not exist: bad input, like every NotFound (unknown person, ...)
_UNKNOWN = (NotFound, UnknownCard, UnknownRef, UnknownTransfer)


def exit_code_for(error: YibaoError) -> int:
    return EXIT_BAD_INPUT if isinstance(error, (InvalidInput, *_UNKNOWN)) else EXIT_REFUSED


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn a domain error into one clear line on stderr and the matching exit code.

    Services validate before they write; a value the database still refuses (DataError, an
    integer beyond SQLite's range) or a conflicting row is reported the same way, never as a
    traceback. The transaction has been rolled back by then.
    """
    try:
        yield
    except YibaoError as error:
        _report(error.code, error.message)
        raise typer.Exit(exit_code_for(error)) from None
    except (DataError, OverflowError) as error:
        _report("invalid_input", _first_line(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except DBAPIError as error:
        _report("storage", _first_line(error))
        raise typer.Exit(EXIT_REFUSED) from None


def _report(code: str, message: str) -> None:
    err_console.print(f"[bold red]error[/] {escape(f'[{code}] {message}')}", highlight=False)


def _first_line(error: Exception) -> str:
    cause = error.orig if isinstance(error, DBAPIError) else error
    return str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__


def open_app(db: str | None) -> App:
    with reported_errors():
        return bootstrap(db)


def run(db: str | None, action: Callable[[App], None], *, audit: Audited | None = None) -> None:
    """Open the database and run `action`, reporting domain errors cleanly.

    With `audit`, the command's success or refusal is recorded in the audit trail.
    """
    app = open_app(db)
    try:
        with reported_errors(), recording(app, audit):
            action(app)
    finally:
        app.dispose()


def in_one_transaction(
    db: str | None, work: Callable[[UnitOfWork], T], *, audit: Audited | None = None
) -> T:
    """Run one service call in one unit of work and return its result (errors reported).

    With `audit`, its success is recorded in that same unit of work, its refusal on its own.
    """
    results: list[T] = []

    def action(app: App) -> None:
        with app.uow() as uow:
            results.append(work(uow))
            if audit is not None:
                record_in(uow, audit)

    run(db, action, audit=recorded_within(audit) if audit is not None else None)
    return results[0]


def parse_day(text: str | None, *, field: str = "--on") -> dt.date:
    """A date option: left out, today; empty or a date that does not exist, refused (exit 2).

    An empty value (`--on ""`, an unset shell variable) is a mistake, not a request for today.
    """
    with reported_errors():
        if text is None:
            return dt.date.today()
        if not text.strip():
            raise InvalidInput(field, text, "is empty: give a YYYY-MM-DD date, or leave it out")
        return parse_date(text, field=field)
