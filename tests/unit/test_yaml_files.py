"""Policy and scenario YAML is bounded before PyYAML builds it: size, nesting, aliases, encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from yibao.adapters.yaml_files import MAX_DEPTH, UnreadableYaml, check_shape, load_yaml_file


def test_an_ordinary_document_with_aliases_loads() -> None:
    check_shape("base: &b {floor: 4000}\npolicies: [*b, *b]\n")


def test_nesting_just_within_the_bound_loads_and_one_more_level_is_refused() -> None:
    check_shape("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(UnreadableYaml, match="deeper"):
        check_shape("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_five_thousand_levels_are_refused_without_exhausting_the_stack() -> None:
    with pytest.raises(UnreadableYaml, match="deeper") as caught:
        check_shape("a: " + "{b: " * 5000 + "1" + "}" * 5000)
    assert caught.value.line == 1


def test_a_billion_laughs_is_refused_by_its_expanded_size() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    with pytest.raises(UnreadableYaml, match="aliases"):
        check_shape("\n".join(lines))


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "area.yaml"
    path.write_bytes(b"code: '420100'\nname: Caf\xe9\n")
    with pytest.raises(UnreadableYaml, match="UTF-8") as caught:
        load_yaml_file(path)
    assert caught.value.line == 2


def test_a_date_that_does_not_exist_is_refused_not_raised_as_value_error(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text("date: 2024-02-30\n", encoding="utf-8")
    with pytest.raises(UnreadableYaml, match="bad YAML"):
        load_yaml_file(path)
