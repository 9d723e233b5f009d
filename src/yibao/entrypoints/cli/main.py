"""The `yibao` command.

Each subcommand's module, and the application under it (SQLAlchemy, Alembic, the services), is
imported only when that subcommand runs: `yibao --help` lists the commands from the table below
without importing any of them, and a clerk's one-line command imports only what it uses.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# name: (module under yibao.entrypoints.cli, its Typer app or command function, one-line help),
# in the order `yibao --help` lists them
COMMANDS: dict[str, tuple[str, str, str]] = {
    "db": ("db", "app", "Database schema."),
    "backup": (
        "backup",
        "backup",
        "Back up the database: pg_dump -Fc on PostgreSQL, the online backup API on SQLite.",
    ),
    "restore": (
        "backup",
        "restore",
        "Restore a backup into a new, empty database (a non-empty one is refused).",
    ),
    "area": ("area", "app", "Planning areas and policies."),
    "areas": (
        "areas",
        "app",
        "Planning areas each in its own database: clearing what they owe each other.",
    ),
    "employer": ("people", "employer_app", "Employers."),
    "institution": ("people", "institution_app", "Designated hospitals, clinics and pharmacies."),
    "person": ("people", "person_app", "Insured persons, employment and schemes."),
    "contribution": ("contributions", "app", "Contributions per month and insurance type."),
    "import": (
        "imports",
        "import_file",
        "Employers, persons, employment or contributions from a CSV or .xlsx file.",
    ),
    "export": (
        "exports",
        "export_file",
        "An area's payment records, ledger transfers or yearly statements, streamed to a file.",
    ),
    "credit": ("credit", "app", "Monthly crediting of personal accounts."),
    "ledger": ("ledger", "app", "The double-entry ledger."),
    "scenario": ("scenario", "app", "Acceptance scenarios."),
    "card": ("card", "app", "Social security cards: issue, activation, PIN, loss, bank account."),
    "evoucher": ("evoucher", "app", "The medical insurance e-voucher."),
    "pos": ("pos", "app", "Point of sale at designated institutions."),
    "catalogue": ("catalogue", "app", "The medical insurance catalogue of each area."),
    "inquire": (
        "inquire",
        "inquire",
        "Balances of both accounts, what the channel shows, and the findings that explain it.",
    ),
    "hotline": (
        "hotline",
        "hotline",
        "Call the hotline: ID number, query password (the card PIN), then the menu.",
    ),
    "records": (
        "records",
        "records",
        "Which insurances were paid each month, by whom, on what base, and what was credited.",
    ),
    "statements": (
        "statements",
        "statements",
        "One PDF per person (Social Insurance Law art. 74: sent periodically, free of charge).",
    ),
    "audit": ("audit", "app", "The audit trail: who read or wrote whose data."),
    "demo": ("demo", "app", "Synthetic demo city."),
    "serve": ("serve", "serve", "Serve the REST API at /api/v1 (docs at /api/v1/docs)."),
    "user": ("users", "app", "API users, their roles and passwords."),
}


class LazyGroup(TyperGroup):
    """Resolves a subcommand by importing its module at that moment."""

    _listing = False  # while the help is written: placeholders carrying the one-line help

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, help_text = COMMANDS[cmd_name]
        if self._listing:
            return TyperCommand(name=cmd_name, help=help_text)
        target = getattr(importlib.import_module(f"yibao.entrypoints.cli.{module}"), attribute)
        holder = typer.Typer()  # as add_typer / command would have registered it on the root
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=cmd_name)
        else:
            holder.command(cmd_name)(target)
            holder.callback()(lambda: None)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        return group.commands[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup,
    name="yibao",
    help="Social medical insurance personal accounts: registry, crediting, ledger, inquiry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _yibao() -> None:
    """Social medical insurance personal accounts: registry, crediting, ledger, inquiry."""


if __name__ == "__main__":
    app()
