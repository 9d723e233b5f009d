"""`yibao user ...`: passwords only on stdin, scopes checked, disabled users listed as such."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import PERSON, yibao, yibao_with_input


def test_users_are_added_listed_disabled_and_reset(city: Path) -> None:
    added = yibao_with_input(
        city,
        "a long password\n",
        "user",
        "add",
        "li",
        "--role",
        "person",
        "--person",
        PERSON,
        "--password-stdin",
    )
    clerk = yibao_with_input(
        city,
        "a long password\n",
        "user",
        "add",
        "wang",
        "--role",
        "clerk",
        "--area",
        "420100",
        "--password-stdin",
    )
    disabled = yibao(city, "user", "disable", "wang")
    listed = yibao(city, "user", "list")
    reset = yibao_with_input(
        city, "another long one\n", "user", "reset", "wang", "--password-stdin"
    )

    assert added.returncode == 0, added.stderr
    assert clerk.returncode == 0, clerk.stderr
    assert disabled.returncode == 0, disabled.stderr
    assert PERSON not in listed.stdout
    assert "4201**********1232" in listed.stdout
    assert "disabled" in listed.stdout
    assert reset.returncode == 0, reset.stderr


def test_a_password_is_never_taken_from_the_command_line(city: Path) -> None:
    refused = yibao(city, "user", "add", "li", "--role", "auditor")

    assert refused.returncode == 2
    assert "--password-stdin" in refused.stderr


def test_a_scope_that_is_not_on_record_is_refused_naming_it(city: Path) -> None:
    refused = yibao_with_input(
        city,
        "a long password\n",
        "user",
        "add",
        "e",
        "--role",
        "employer",
        "--employer",
        "E404",
        "--password-stdin",
    )

    assert refused.returncode == 2
    assert "E404" in refused.stderr
