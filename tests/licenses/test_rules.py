"""One table row (at least) per rule: the component(s), the profile, the finding expected — and a
near miss that must not fire."""

from __future__ import annotations

import pytest

from hegui.licenses.rules import OTHER_RULES, RULES
from hegui.licenses.types import Component, Profile

from .conftest import comp, rules_of, run

SAAS = Profile("saas", commercial=True, mau=1000)
CASES: list[tuple[str, list[Component], Profile, tuple[str, str], bool]] = [
    # (rule, components, profile, (rule, severity) expected, expected present?)
    (
        "non-commercial",
        [comp(license="cc-by-nc-4.0", kind="dataset")],
        SAAS,
        ("non-commercial", "blocked"),
        True,
    ),
    (
        "non-commercial",
        [comp(license="cc-by-nc-4.0", kind="dataset")],
        Profile("saas", commercial=False),
        ("non-commercial", "blocked"),
        False,
    ),
    (
        "commercial-authorization",
        [comp(license="baichuan2")],
        SAAS,
        ("commercial-authorization", "blocked"),
        True,
    ),
    (
        "commercial-authorization",
        [comp(license="baichuan2", authorization="BC-2025-7")],
        SAAS,
        ("commercial-authorization", "obligation"),
        True,
    ),
    (
        "user-threshold",
        [comp(license="llama3.1")],
        Profile("saas", True, mau=700_000_001),
        ("user-threshold", "blocked"),
        True,
    ),
    (
        "user-threshold",
        [comp(license="llama3.1")],
        Profile("saas", True, mau=700_000_000),
        ("user-threshold", "blocked"),
        False,
    ),
    (
        "user-threshold",
        [comp(license="qwen")],
        Profile("saas", True, mau=100_000_001),
        ("user-threshold", "blocked"),
        True,
    ),
    (
        "user-threshold",
        [comp(license="qwen")],
        Profile("saas", False, mau=100_000_001),
        ("user-threshold", "blocked"),
        False,
    ),
    (
        "user-threshold",
        [comp(license="baichuan2", authorization="ok")],
        Profile("saas", True, dau=1_000_000),
        ("user-threshold", "blocked"),
        True,
    ),
    (
        "user-threshold",
        [comp(license="stability-ai-community")],
        Profile("saas", True, revenue=2_000_000),
        ("user-threshold", "blocked"),
        True,
    ),
    (
        "cloud-provider-excluded",
        [comp(license="baichuan2", authorization="ok")],
        Profile("saas", True, is_cloud_provider=True),
        ("cloud-provider-excluded", "blocked"),
        True,
    ),
    (
        "region-excluded",
        [comp(name="meta-llama/Llama-3.2-11B-Vision-Instruct", license="llama3.2")],
        Profile("saas", True, licensee_region="DE"),
        ("region-excluded", "blocked"),
        True,
    ),
    (
        "region-excluded",
        [comp(name="meta-llama/Llama-3.2-3B-Instruct", license="llama3.2")],
        Profile("saas", True, licensee_region="DE"),
        ("region-excluded", "blocked"),
        False,
    ),
    (
        "region-excluded",
        [comp(license="tencent-hunyuan")],
        Profile("saas", True, licensee_region="UK"),
        ("region-excluded", "blocked"),
        True,
    ),
    ("hosting-restricted", [comp(license="falcon-180b")], SAAS, ("hosting-restricted", "blocked"), True),
    (
        "hosting-restricted",
        [comp(license="falcon-180b")],
        Profile("on_device", True),
        ("hosting-restricted", "blocked"),
        False,
    ),
    (
        "no-derivatives",
        [
            comp(name="ft", license="MIT", datasets=("nd",)),
            comp(name="nd", kind="dataset", license="cc-by-nd-4.0"),
        ],
        SAAS,
        ("no-derivatives", "blocked"),
        True,
    ),
    (
        "outputs-non-compete",
        [
            comp(
                license="Apache-2.0",
                base_models=("Qwen/Qwen2.5-7B",),
                trained_on_outputs_of=("meta-llama/Llama-2-70b-chat-hf",),
            )
        ],
        SAAS,
        ("outputs-non-compete", "blocked"),
        True,
    ),
    (
        "outputs-non-compete",
        [
            comp(
                name="Llama-2-ft",
                license="llama2",
                base_models=("meta-llama/Llama-2-7b-hf",),
                trained_on_outputs_of=("meta-llama/Llama-2-70b-chat-hf",),
            )
        ],
        SAAS,
        ("outputs-non-compete", "blocked"),
        False,
    ),
    (
        "relabelled-model-license",
        [comp(license="apache-2.0", base_models=("google/gemma-2-9b",))],
        SAAS,
        ("relabelled-model-license", "conflict"),
        True,
    ),
    (
        "name-prefix",
        [comp(name="my-chat", license="llama3.1", base_models=("meta-llama/Llama-3.1-8B",))],
        SAAS,
        ("name-prefix", "conflict"),
        True,
    ),
    (
        "name-prefix",
        [comp(name="my-chat", license="llama3.1", base_models=("meta-llama/Llama-3.1-8B",))],
        Profile("internal", True),
        ("name-prefix", "conflict"),
        False,
    ),
    (
        "name-prefix",
        [
            comp(
                name="x",
                license="Apache-2.0",
                base_models=("Qwen/Qwen2.5-7B",),
                trained_on_outputs_of=("meta-llama/Llama-3.3-70B-Instruct",),
            )
        ],
        SAAS,
        ("name-prefix", "conflict"),
        True,
    ),
    (
        "merge-naming-clash",
        [comp(name="m", license="llama3.1", base_models=("meta-llama/Llama-3.1-8B", "THUDM/glm-4-9b"))],
        SAAS,
        ("merge-naming-clash", "conflict"),
        True,
    ),
    ("built-with", [comp(license="llama3.1")], SAAS, ("built-with", "obligation"), True),
    ("built-with", [comp(license="qwen")], SAAS, ("built-with", "obligation"), False),
    ("notice-file", [comp(license="llama3.1")], SAAS, ("notice-file", "obligation"), True),
    ("notice-file", [comp(license="gemma")], SAAS, ("notice-file", "obligation"), False),
    ("use-restrictions", [comp(license="gemma")], SAAS, ("use-restrictions", "obligation"), True),
    (
        "copyleft-conveyed",
        [comp(kind="npm", license="GPL-3.0-only", layer="frontend")],
        SAAS,
        ("copyleft-conveyed", "conflict"),
        True,
    ),
    (
        "copyleft-conveyed",
        [comp(kind="python", license="GPL-3.0-only")],
        SAAS,
        ("copyleft-conveyed", "conflict"),
        False,
    ),
    (
        "weak-copyleft",
        [comp(kind="npm", license="LGPL-3.0-only", layer="frontend")],
        SAAS,
        ("weak-copyleft", "obligation"),
        True,
    ),
    (
        "agpl-network",
        [comp(kind="code", license="AGPL-3.0-only", modified=True, linkage="network")],
        SAAS,
        ("agpl-network", "conflict"),
        True,
    ),
    (
        "agpl-network",
        [comp(kind="service", license="AGPL-3.0-only", linkage="network")],
        SAAS,
        ("agpl-network", "conflict"),
        False,
    ),
    (
        "share-alike",
        [
            comp(name="ft", license="MIT", datasets=("wiki",)),
            comp(name="wiki", kind="dataset", license="cc-by-sa-4.0"),
        ],
        SAAS,
        ("share-alike", "review"),
        True,
    ),
    (
        "share-alike",
        [
            comp(name="ft", license="MIT", datasets=("wiki",)),
            comp(name="wiki", kind="dataset", license="cc-by-sa-4.0"),
        ],
        Profile("distributed", True),
        ("share-alike", "obligation"),
        True,
    ),
    (
        "attribution",
        [comp(kind="npm", license="MIT", layer="frontend")],
        SAAS,
        ("attribution", "obligation"),
        True,
    ),
    ("attribution", [comp(kind="python", license="MIT")], SAAS, ("attribution", "obligation"), False),
    (
        "variant-unknown",
        [comp(kind="python", license="BSD License")],
        SAAS,
        ("variant-unknown", "review"),
        True,
    ),
    ("gated-repo", [comp(license="gemma", gated=True)], SAAS, ("gated-repo", "review"), True),
    (
        "lineage-unresolved",
        [comp(license="MIT", base_models=("someone/unknown-model",))],
        SAAS,
        ("lineage-unresolved", "review"),
        True,
    ),
    ("missing-license", [comp(license=None)], SAAS, ("missing-license", "blocked"), True),
    ("missing-license", [comp(kind="python", license=None)], SAAS, ("missing-license", "review"), True),
    ("unknown-license", [comp(license="my-own-license")], SAAS, ("unknown-license", "review"), True),
    (
        "dual-license-choice",
        [comp(kind="npm", license="(GPL-3.0-only OR MIT)", layer="frontend")],
        SAAS,
        ("dual-license-choice", "obligation"),
        True,
    ),
    (
        "dual-license-choice",
        [comp(kind="npm", license="(GPL-3.0-only OR MIT)", layer="frontend")],
        SAAS,
        ("copyleft-conveyed", "conflict"),
        False,
    ),
    (
        "unresolved-dependencies",
        [comp(kind="python", license=None, notes=("unresolved",))],
        SAAS,
        ("unresolved-dependencies", "review"),
        True,
    ),
    (
        "gpl2-incompatible",
        [
            comp(name="a", kind="npm", license="GPL-2.0-only", layer="frontend"),
            comp(name="b", kind="npm", license="Apache-2.0", layer="frontend"),
        ],
        SAAS,
        ("gpl2-incompatible", "conflict"),
        True,
    ),
    (
        "gpl2-incompatible",
        [
            comp(name="a", kind="npm", license="GPL-2.0-or-later", layer="frontend"),
            comp(name="b", kind="npm", license="Apache-2.0", layer="frontend"),
        ],
        SAAS,
        ("gpl2-incompatible", "conflict"),
        False,
    ),
]
SCANNER_RULES = {
    "unreadable-input",
    "card-without-metadata",
    "license-other-without-name",
    "private-data-provenance",
    "ownership-undeclared",
}  # tested in test_scanners.py


def test_every_rule_has_a_case() -> None:
    assert {r.id for r in RULES} | set(OTHER_RULES) == {c[0] for c in CASES} | SCANNER_RULES


@pytest.mark.parametrize(
    ("rule", "components", "profile", "expected", "present"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_rule(
    rule: str, components: list[Component], profile: Profile, expected: tuple[str, str], present: bool
) -> None:
    found = rules_of(run(components, profile))
    assert (expected in found) is present, found


def test_findings_name_evidence_and_remedy() -> None:
    report = run([comp(kind="code", license="AGPL-3.0-only", modified=True)], SAAS)
    (finding,) = [f for f in report.findings if f.rule == "agpl-network"]
    assert str(finding.evidence) == "test.yaml:license"
    assert "publish that service's source" in finding.remedy


def test_model_terms_say_isolation_cannot_cure() -> None:
    report = run([comp(license="cc-by-nc-4.0", kind="dataset")], SAAS)
    (finding,) = [f for f in report.findings if f.rule == "non-commercial"]
    assert "cannot cure" in finding.remedy
