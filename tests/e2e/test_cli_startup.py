"""`yibao` starts quickly: the help imports none of the application, a one-line command no
Alembic when the schema is current, and the command table says what each command says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from tests.scenario_files import EXAMPLES
from yibao.entrypoints.cli.main import COMMANDS, LazyGroup, app


def _imported(*args: str) -> set[str]:
    """The modules `python -X importtime -m yibao...` imports for `args`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "yibao.entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_help_lists_every_command_without_importing_the_application() -> None:
    modules = _imported("--help")
    assert "typer" in modules
    assert not {m for m in modules if m.startswith(("sqlalchemy", "alembic", "yibao.services"))}
    assert not {m for m in modules if m.startswith("yibao.entrypoints.cli.") and m != __name__}


def test_a_one_line_command_on_a_current_schema_does_not_load_alembic(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'story.db'}"
    story = str(EXAMPLES / "01_medical_left_out.yaml")
    assert _imported("scenario", "run", story, "--db", db)  # builds the schema with Alembic
    modules = _imported("inquire", "--person", "420104198806141239", "--db", db)
    assert not {m for m in modules if m.startswith("alembic")}
    assert "yibao.demo" not in modules


def test_the_command_table_says_what_each_command_says() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    for name, (_module, _attribute, short_help) in COMMANDS.items():
        command = group.get_command(None, name)
        assert command is not None
        assert (command.help or "").splitlines()[0] == short_help, name
