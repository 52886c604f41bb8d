"""The data-set node of `hegui assess` from the data register (aibom.yaml): sources with a licence or
agreement, models training only on listed data, private data with owner and warranty; a register that
is absent or cannot be read is a finding for each item, never a silence or a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from hegui.filing.assess_register import PRIVATE, REGISTER, SOURCES, register_findings
from hegui.filing.findings import COMPLIANT, GAP, NON_COMPLIANT, NOT_APPLICABLE, Finding

GOOD = """
models:
  - {name: support-7b, license: Apache-2.0, base_model: Qwen/Qwen2.5-7B-Instruct, datasets: [faq, tickets]}
data_sources:
  - {name: faq, license: CC-BY-4.0}
  - {name: crawl-2025, agreement: DPA-2025-014}
private_data:
  - {name: tickets, owner: Example Ltd, warranty: collected with consent under the 2024 agreement}
"""


def _by_item(tmp_path: Path, text: str | None) -> dict[str, Finding]:
    path = None
    if text is not None:
        path = tmp_path / "aibom.yaml"
        path.write_text(text, encoding="utf-8")
    found = register_findings(path)
    assert [f.item for f in found] == [REGISTER, SOURCES, PRIVATE]
    for f in found:
        assert f.detail and (f.verdict == GAP or f.evidence == str(path)), f
    return {f.item: f for f in found}


def test_a_complete_register(tmp_path: Path) -> None:
    found = _by_item(tmp_path, GOOD)
    assert {f.verdict for f in found.values()} == {COMPLIANT}
    assert found[REGISTER].detail.startswith("2 data source(s), 1 private data set(s), 1 model(s)")


@pytest.mark.parametrize(
    ("change", "item", "named"),
    [
        (("{name: faq, license: CC-BY-4.0}", "{name: faq}"), SOURCES, "no licence or agreement for faq"),
        (("datasets: [faq, tickets]", "datasets: [faq, scraped]"), SOURCES, "support-7b ← scraped"),
        (("owner: Example Ltd, ", ""), PRIVATE, "tickets (no owner)"),
        (("warranty: collected with consent under the 2024 agreement", "owner2: x"), PRIVATE, "no warranty"),
    ],
)
def test_each_shortfall_is_named(tmp_path: Path, change: tuple[str, str], item: str, named: str) -> None:
    assert change[0] in GOOD
    found = _by_item(tmp_path, GOOD.replace(*change))
    assert found[item].verdict == NON_COMPLIANT and named in found[item].detail, found[item]
    others = [f for k, f in found.items() if k != item]
    assert {f.verdict for f in others} == {COMPLIANT}


def test_no_own_training_data(tmp_path: Path) -> None:
    found = _by_item(tmp_path, "models:\n  - {name: served, license: Apache-2.0}\n")
    assert found[REGISTER].verdict == COMPLIANT
    assert found[SOURCES].verdict == found[PRIVATE].verdict == NOT_APPLICABLE
    assert _by_item(tmp_path, "{}\n")[REGISTER].verdict == NON_COMPLIANT  # declares nothing


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("data_sources: [unclosed\n", "does not parse"),
        ("- a list\n", "is not a mapping"),
        ("data_sources: {name: x}\n", "data_sources must be a list"),
        ("private_data:\n  - {owner: x}\n", "private_data[0] needs a 'name'"),
    ],
)
def test_an_unreadable_register(tmp_path: Path, text: str, why: str) -> None:
    found = _by_item(tmp_path, text)
    assert found[REGISTER].verdict == NON_COMPLIANT and why in found[REGISTER].detail
    assert found[SOURCES].verdict == found[PRIVATE].verdict == GAP


def test_absent_and_missing(tmp_path: Path) -> None:
    none = _by_item(tmp_path, None)
    assert {f.verdict for f in none.values()} == {GAP}
    assert "--data-register" in none[REGISTER].detail
    gone = register_findings(tmp_path / "nowhere.yaml")
    assert gone[0].verdict == NON_COMPLIANT and "does not exist" in gone[0].detail
