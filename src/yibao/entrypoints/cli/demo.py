"""`yibao demo ...`: a synthetic city to try yibao on (and to benchmark it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from yibao.bootstrap import App
from yibao.demo import (
    DEFAULT_AREA,
    DEMO_MONTHS,
    DEMO_START,
    SHOWCASE_PIN,
    CityOverview,
    CitySummary,
    DemoPerson,
    city_overview,
    count_persons,
    credit_history,
    generate_city,
    load_demo_city,
)
from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month
from yibao.entrypoints.cli.common import DbOption, console, err_console, reported_errors, run
from yibao.ledger.check import check_ledger
from yibao.services.contributions.crediting import CreditingSummary

app = typer.Typer(help="Synthetic demo city.", no_args_is_help=True)

DEFAULT_START = str(DEMO_START)  # a year across the area's reform month (2023-02)
DEFAULT_MONTHS = DEMO_MONTHS

AreaOption = Annotated[str, typer.Option("--area", help="Planning area code of the demo city.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Same seed, same city.")]


@app.command("generate")
def generate(
    persons: Annotated[int, typer.Option("--persons", min=1, help="Insured persons.")],
    months: Annotated[int, typer.Option("--months", min=1, help="Months of payments.")] = (
        DEFAULT_MONTHS
    ),
    start: Annotated[str, typer.Option("--start", help="First month, YYYY-MM.")] = DEFAULT_START,
    seed: SeedOption = 1,
    area: AreaOption = DEFAULT_AREA,
    credit: Annotated[
        bool, typer.Option("--credit/--no-credit", help="Run each month's crediting afterwards.")
    ] = True,
    db: DbOption = None,
) -> None:
    """Generate a city: employers, institutions, persons in the national mix, and months of
    contributions with gaps, back payments and late registrations."""
    with reported_errors():
        first = Month.parse(start, field="--start")

    def action(app_: App) -> None:
        with _bar() as advance:
            summary = generate_city(
                engine=app_.engine,
                persons=persons,
                start=first,
                months=months,
                seed=seed,
                area_code=area,
                progress=advance("generating"),
            )
        _print_city(summary)
        if credit:
            with _bar() as advance:
                runs = credit_history(
                    uow_factory=app_.uow,
                    area_code=area,
                    start=first,
                    months=months,
                    progress=advance("crediting"),
                )
            _print_crediting(runs)

    run(db, action)


@app.command("run")
def run_demo(
    persons: Annotated[int, typer.Option("--persons", min=1, help="Persons of a new city.")] = 300,
    area: AreaOption = DEFAULT_AREA,
    seed: SeedOption = 1,
    db: DbOption = None,
) -> None:
    """The main job on a demo city: make one if the area has nobody yet (or reuse it), credit
    its history month by month, check the ledger and show what the accounts hold."""
    problems: list[str] = []

    def action(app_: App) -> None:
        with app_.uow() as uow:
            existing = count_persons(uow=uow, area_code=area)
        if existing:
            console.print(f"reusing the {existing} persons of area {area}")
        with _bar() as advance:
            city = load_demo_city(
                uow_factory=app_.uow,
                persons=persons,
                seed=seed,
                area_code=area,
                generating=None if existing else advance("generating"),
                crediting=advance("crediting"),
            )
        if city.span is None:
            return
        with app_.uow() as uow:
            problems.extend(f"{p.invariant}: {p.detail}" for p in check_ledger(uow.ledger))
            overview = city_overview(uow=uow, area_code=area, as_of=city.span[1].last_day)
        _print_overview(overview, list(city.runs))
        _print_showcase(city.showcase)

    run(db, action)
    for problem in problems:
        err_console.print(f"[red]FAIL[/] {problem}", highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print(
        "ledger check: OK (every book sums to zero, no account closed a day overdrawn, "
        "every posting matches its cause)"
    )


# -- output ----------------------------------------------------------------------------------
@contextmanager
def _bar() -> Iterator[Callable[[str], Callable[[int, int], None]]]:
    """A Rich progress bar; `advance(label)` gives a progress callback for one task."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:

        def advance(label: str) -> Callable[[int, int], None]:
            task = bar.add_task(label, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return update

        yield advance


def _print_city(summary: CitySummary) -> None:
    table = Table(
        title=f"demo city {summary.area_code}, from {summary.start}, "
        f"{summary.months} months ({summary.seconds:.1f} s)"
    )
    table.add_column("")
    table.add_column("count", justify="right")
    for label, count in summary.persons_by_kind:
        table.add_row(f"persons: {label}", f"{count:,}")
    table.add_row("persons", f"{summary.persons:,}", end_section=True)
    table.add_row("employers", f"{summary.employers:,}")
    table.add_row("designated institutions", f"{summary.institutions:,}")
    table.add_row("registered late (> 30 days)", f"{summary.late_registrations:,}")
    table.add_row("hired, not registered yet", f"{summary.not_registered:,}")
    table.add_row("left their employer", f"{summary.leavers:,}", end_section=True)
    payments = summary.payments
    table.add_row("contributions", f"{payments.contributions:,}")
    table.add_row("  of which back payments", f"{payments.back_payments:,}")
    table.add_row("  without medical insurance", f"{payments.without_medical:,}")
    table.add_row("medical income (yuan)", fen_to_yuan(payments.medical_fen))
    table.add_row("account credit due (yuan)", fen_to_yuan(payments.credit_fen))
    console.print(table)


def _print_crediting(runs: list[CreditingSummary]) -> None:
    contributions = sum(r.contributions_credited for r in runs)
    retirees = sum(r.retirees_credited for r in runs)
    total = sum(r.credited_fen for r in runs)
    console.print(
        f"crediting: {len(runs)} monthly runs, {contributions:,} contributions and {retirees:,} "
        f"retiree credits posted, {fen_to_yuan(total)} yuan credited to personal accounts",
        highlight=False,
    )


def _print_showcase(showcase: tuple[DemoPerson, ...]) -> None:
    if not showcase:
        return
    table = Table(title=f"persons to try (card PIN {SHOWCASE_PIN})")
    for column in ("name", "ID number", "ask as of", "channel", "shows"):
        table.add_column(column)
    for person in showcase:
        table.add_row(
            person.name, mask(person.id_number), str(person.as_of), person.channel, person.shows
        )
    console.print(table)


def _print_overview(overview: CityOverview, runs: list[CreditingSummary]) -> None:
    table = Table(title=f"area {overview.area_code} on {overview.as_of}")
    table.add_column("scheme")
    table.add_column("persons", justify="right")
    for label, count in overview.by_scheme:
        table.add_row(label, f"{count:,}")
    table.add_row("all", f"{overview.persons:,}")
    console.print(table)
    _print_crediting(runs)
    console.print(
        f"contributions: {overview.contributions:,}\n"
        f"total credited: {fen_to_yuan(overview.credited_fen)} yuan "
        f"in {overview.credit_transfers:,} credits\n"
        f"personal accounts with a positive balance: {overview.funded_accounts:,}",
        highlight=False,
    )
    examples = Table(title="example persons")
    for column in ("name", "ID number", "scheme", "medical balance (yuan)"):
        examples.add_column(column, justify="right" if column.startswith("medical") else "left")
    for person in overview.examples:
        examples.add_row(
            person.name, person.masked_id, person.scheme, fen_to_yuan(person.balance_fen)
        )
    console.print(examples)
