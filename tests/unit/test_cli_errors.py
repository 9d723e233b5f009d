"""The CLI's error report: whatever refuses the input, one line and an exit code, no traceback."""

from __future__ import annotations

import pytest
import typer
from sqlalchemy.exc import DataError, IntegrityError

from yibao.entrypoints.cli.common import EXIT_BAD_INPUT, EXIT_REFUSED, reported_errors


@pytest.mark.parametrize(
    ("error", "code", "says"),
    [
        (
            DataError("INSERT", {}, Exception("value too long for type varchar(40)\nDETAIL")),
            EXIT_BAD_INPUT,
            "too long",
        ),
        (
            OverflowError("Python int too large to convert to SQLite INTEGER"),
            EXIT_BAD_INPUT,
            "too large",
        ),
        (
            IntegrityError("INSERT", {}, Exception("duplicate key value")),
            EXIT_REFUSED,
            "duplicate key",
        ),
    ],
)
def test_a_value_the_database_refuses_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str], error: Exception, code: int, says: str
) -> None:
    with pytest.raises(typer.Exit) as caught, reported_errors():
        raise error
    assert caught.value.exit_code == code
    shown = capsys.readouterr().err
    assert says in shown
    assert len(shown.strip().splitlines()) == 1
