"""`yibao catalogue load`: an area's medical insurance catalogue from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yibao.domain.errors import InvalidInput
from yibao.entrypoints.cli.common import DbOption, console, in_one_transaction, reported_errors
from yibao.services import catalogue

app = typer.Typer(help="The medical insurance catalogue of each area.", no_args_is_help=True)


@app.command("load")
def load(
    file: Path,
    area: Annotated[str, typer.Option("--area", help="Planning area code.")],
    from_month: Annotated[str, typer.Option("--from", help="First month in force, YYYY-MM.")],
    db: DbOption = None,
) -> None:
    """Load FILE.csv (header code,name,class,selfpay_prop): all rows or none."""
    with reported_errors():
        try:
            content = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidInput("FILE", str(file), f"cannot be read ({error})") from None
        entries = catalogue.parse_csv(content)
    count = in_one_transaction(
        db,
        lambda uow: catalogue.load(uow=uow, area_code=area, from_month=from_month, entries=entries),
    )
    console.print(f"catalogue of area {area} from {from_month}: {count} items loaded")
