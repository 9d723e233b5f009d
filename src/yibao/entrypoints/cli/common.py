"""What every CLI command shares: the --db option, error reporting, and yuan formatting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from yibao.bootstrap import App, bootstrap
from yibao.domain.cards import UnknownCard
from yibao.domain.errors import InvalidInput, NotFound, YibaoError
from yibao.domain.months import parse_date
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
    """Turn a domain error into one clear line on stderr and the matching exit code."""
    try:
        yield
    except YibaoError as error:
        err_console.print(
            f"[bold red]error[/] {escape(f'[{error.code}] {error.message}')}", highlight=False
        )
        raise typer.Exit(exit_code_for(error)) from None


def open_app(db: str | None) -> App:
    with reported_errors():
        return bootstrap(db)


def run(db: str | None, action: Callable[[App], None]) -> None:
    """Open the database and run `action`, reporting domain errors cleanly."""
    app = open_app(db)
    try:
        with reported_errors():
            action(app)
    finally:
        app.engine.dispose()


def in_one_transaction(db: str | None, work: Callable[[UnitOfWork], T]) -> T:
    """Run one service call in one unit of work and return its result (errors reported)."""
    results: list[T] = []

    def action(app: App) -> None:
        with app.uow() as uow:
            results.append(work(uow))

    run(db, action)
    return results[0]


def parse_day(text: str | None, *, field: str = "on") -> dt.date:
    """A date option (default today), refused with exit 2 if it does not exist."""
    with reported_errors():
        return parse_date(text, field=field) if text else dt.date.today()
