"""The code and model items of `hegui assess` from a real `hegui licenses scan --format json` of a
small declared stack (aibom.yaml): findings that need a change, the models' lineage, the NOTICE."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.filing.assess_code import licences, lineage, notice, read_scan, required_notices
from hegui.filing.findings import COMPLIANT, GAP, NON_COMPLIANT, NOT_APPLICABLE

STACK = """
models:
  - {name: Llama-support-7b, license: llama3.1, base_model: meta-llama/Llama-3.1-8B, datasets: [faq]}
data_sources:
  - {name: faq, license: CC-BY-4.0}
ownership: {model: Example Ltd, outputs: the user}
"""
UNKNOWN = "  - {name: mystery-ft, license: Apache-2.0, base_model: nobody/unknown-base-model}\n"


def _scan(tmp_path: Path, stack: str, *extra: str) -> Path:
    tree = tmp_path / f"tree{len(list(tmp_path.glob('tree*')))}"
    tree.mkdir()
    (tree / "aibom.yaml").write_text(stack, encoding="utf-8")
    out = tree.with_suffix(f".{extra[1] if extra else 'json'}")
    args = ["licenses", "scan", str(tree), "--format", "json", "-o", str(out), *extra]
    r = CliRunner().invoke(app, args)
    assert r.exit_code in (0, 1), r.output  # 1: findings at or above --fail-on
    return out


def test_a_clean_stack_with_its_notice(tmp_path: Path) -> None:
    path = _scan(tmp_path, STACK)
    scan = read_scan(path)
    assert licences(scan, str(path)).verdict == COMPLIANT
    found = lineage(scan, str(path))
    assert found.verdict == COMPLIANT and "base model meta-llama/Llama-3.1-8B" in found.detail
    needed = required_notices(scan)
    assert any("Llama 3.1 is licensed under the Llama 3.1 Community License" in t for t in needed)
    written = _scan(tmp_path, STACK, "--format", "notice")  # the NOTICE hegui writes carries them
    assert notice(written, scan).verdict == COMPLIANT and "carries all" in notice(written, scan).detail
    bare = tmp_path / "NOTICE"
    bare.write_text("NOTICE\n\nThis product includes faq (CC-BY-4.0).\n", encoding="utf-8")
    missing = notice(bare, scan)
    assert missing.verdict == NON_COMPLIANT and "Llama 3.1 is licensed" in missing.detail
    assert notice(None, scan).verdict == GAP and notice(tmp_path / "gone", scan).verdict == NON_COMPLIANT


def test_conflicts_and_unknown_ancestors_are_named(tmp_path: Path) -> None:
    relabelled = STACK.replace("license: llama3.1", "license: Apache-2.0").replace("Llama-support", "support")
    path = _scan(tmp_path, relabelled.replace("data_sources:", UNKNOWN + "data_sources:"))
    scan = read_scan(path)
    found = licences(scan, str(path))
    assert found.verdict == NON_COMPLIANT and "conflict name-prefix (model:support-7b)" in found.detail
    lin = lineage(scan, str(path))
    assert lin.verdict == NON_COMPLIANT and "nobody/unknown-base-model is not known" in lin.detail


def test_no_model_and_no_scan(tmp_path: Path) -> None:
    path = _scan(tmp_path, "data_sources:\n  - {name: faq, license: CC-BY-4.0}\n")
    assert lineage(read_scan(path), str(path)).verdict == NOT_APPLICABLE
    junk = tmp_path / "junk.json"
    junk.write_text(json.dumps({"findings": []}), encoding="utf-8")
    for bad in (junk, tmp_path / "absent.json"):
        with pytest.raises(ValueError, match=re.escape(str(bad))):
            read_scan(bad)
