"""PINs come from a hidden prompt or a line of stdin, never the command line (`ps` shows it)."""

from __future__ import annotations

import sys

import typer

from yibao.domain.errors import InvalidInput
from yibao.entrypoints.cli.common import reported_errors


def read_pin(label: str = "PIN", *, field: str = "pin") -> str:
    """Ask at a terminal without echo; read one line when stdin is a pipe (a script, a test)."""
    if sys.stdin.isatty():
        return str(typer.prompt(label, hide_input=True))
    line = sys.stdin.readline()
    with reported_errors():
        if not line:
            raise InvalidInput(field, None, "is missing: type it at the prompt or give it on stdin")
    return line.rstrip("\r\n")
