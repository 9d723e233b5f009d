"""`yibao demo ...`: a synthetic city (filled in by the demo generator work)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Synthetic demo city.", no_args_is_help=True)
