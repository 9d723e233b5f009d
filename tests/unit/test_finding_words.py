"""Every finding the explainer can make has its evidence and legal basis in Chinese too, line
for line, with the values it computed: a Chinese page or the hotline never reads English."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.unit.test_findings import TRIGGERS
from yibao.domain.explain import explain

# An English word of three letters or more. A masked ID number, a card number, a month, an
# amount, an employer's name and a policy's tier name (quoted) stay as written; a sentence not.
ENGLISH_WORD = re.compile(r"\b[a-z]{3,}\b")
NAMES = re.compile(r"Employer E001|“[^”]*”")


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_each_findings_evidence_and_basis_have_chinese_words(code: str) -> None:
    found = next(f for f in explain(TRIGGERS[code]).findings if f.code == code)
    if code != "records_split":  # its lines come from the inquiry service, in both languages
        assert len(found.evidence_zh) == len(found.evidence), code
        for line in found.evidence_zh:
            assert not ENGLISH_WORD.search(NAMES.sub("", line)), (code, line)
    assert (found.legal_basis is None) == (found.legal_basis_zh is None), code
    if found.legal_basis_zh is not None:
        assert not ENGLISH_WORD.search(found.legal_basis_zh), (code, found.legal_basis_zh)


def test_the_values_are_carried_into_the_chinese_lines_as_computed() -> None:
    pending = next(
        f for f in explain(TRIGGERS["crediting_pending"]).findings if f.code == "crediting_pending"
    )
    assert pending.evidence_zh[0] == "2024-05：2024-05-15 到账，120.00 元将于 2024-05-31 划入"
    late = TRIGGERS["late_registration"]
    renamed = dataclasses.replace(
        late, jobs=(dataclasses.replace(late.jobs[0], employer_name="Acme: Ltd (Wuhan)"),)
    )
    finding = next(f for f in explain(renamed).findings if f.code == "late_registration")
    assert finding.evidence_zh == (
        "Acme: Ltd (Wuhan)：2024-01-02 入职，2024-02-11 登记（相隔 40 天）",
    )
    assert finding.legal_basis_zh == "《社会保险法》第五十八条"
