"""Every license in the knowledge base: its ids resolve to it, and its verdict under two profiles."""

from __future__ import annotations

import pytest

from hegui.licenses.evaluate import judge
from hegui.licenses.knowledge import load_knowledge_base
from hegui.licenses.lineage import LineageResolver
from hegui.licenses.types import Profile

from .conftest import comp

KB = load_knowledge_base()
SAAS = Profile("saas", commercial=True, mau=1000)
DIST = Profile("distributed", commercial=True, mau=1000)

# (license id, rules:severity as a commercial SaaS, as a commercial distributed product). The component is
# of the license's natural kind: a model for model licenses, a data set for CC/ODC, a Python package else.
EXPECTED = [
    ("0BSD", [], []),
    ("MIT", [], ["attribution:o"]),
    ("MIT-0", [], []),
    ("ISC", [], ["attribution:o"]),
    ("BSD-2-Clause", [], ["attribution:o"]),
    ("BSD-3-Clause", [], ["attribution:o"]),
    ("BSD", ["variant-unknown:r"], ["attribution:o", "variant-unknown:r"]),
    ("Zlib", [], ["attribution:o"]),
    ("PSF-2.0", [], ["attribution:o"]),
    ("HPND", [], ["attribution:o"]),
    ("BSL-1.0", [], ["attribution:o"]),
    ("Unlicense", [], []),
    ("CC0-1.0", [], []),
    ("Apache-2.0", [], ["attribution:o", "notice-file:o"]),
    ("MPL-2.0", [], ["weak-copyleft:o"]),
    ("LGPL-2.1-only", [], ["weak-copyleft:o"]),
    ("LGPL-2.1-or-later", [], ["weak-copyleft:o"]),
    ("LGPL-3.0-only", [], ["weak-copyleft:o"]),
    ("LGPL-3.0-or-later", [], ["weak-copyleft:o"]),
    ("LGPL", ["variant-unknown:r"], ["variant-unknown:r", "weak-copyleft:o"]),
    ("GPL-2.0-only", [], ["copyleft-conveyed:c"]),
    ("GPL-2.0-or-later", [], ["copyleft-conveyed:c"]),
    ("GPL-3.0-only", [], ["copyleft-conveyed:c"]),
    ("GPL-3.0-or-later", [], ["copyleft-conveyed:c"]),
    ("GPL", ["variant-unknown:r"], ["copyleft-conveyed:c", "variant-unknown:r"]),
    ("AGPL-3.0-only", ["agpl-network:c"], ["agpl-network:c", "copyleft-conveyed:c"]),
    ("AGPL-3.0-or-later", ["agpl-network:c"], ["agpl-network:c", "copyleft-conveyed:c"]),
    ("EPL-2.0", [], ["weak-copyleft:o"]),
    ("proprietary", ["commercial-authorization:b"], ["commercial-authorization:b"]),
    ("llama2", ["use-restrictions:o"], ["notice-file:o", "use-restrictions:o"]),
    (
        "llama3",
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
    ),
    (
        "llama3.1",
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
    ),
    (
        "llama3.2",
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
    ),
    (
        "llama3.3",
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
    ),
    (
        "llama4",
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
        ["built-with:o", "notice-file:o", "use-restrictions:o"],
    ),
    ("gemma", ["use-restrictions:o"], ["notice-file:o", "use-restrictions:o"]),
    ("qwen", ["use-restrictions:o"], ["notice-file:o", "use-restrictions:o"]),
    ("qwen-research", ["non-commercial:b"], ["non-commercial:b", "notice-file:o"]),
    ("tongyi-qianwen", ["use-restrictions:o"], ["notice-file:o", "use-restrictions:o"]),
    ("tongyi-qianwen-research", ["non-commercial:b"], ["non-commercial:b"]),
    ("deepseek", ["use-restrictions:o"], ["use-restrictions:o"]),
    ("mrl", ["non-commercial:b"], ["non-commercial:b", "notice-file:o"]),
    ("mnpl", ["non-commercial:b"], ["non-commercial:b"]),
    ("falcon-llm-license", ["use-restrictions:o"], ["use-restrictions:o"]),
    ("falcon-180b", ["hosting-restricted:b", "use-restrictions:o"], ["use-restrictions:o"]),
    (
        "yi-license",
        ["commercial-authorization:b", "use-restrictions:o"],
        ["commercial-authorization:b", "use-restrictions:o"],
    ),
    ("baichuan2", ["commercial-authorization:b"], ["commercial-authorization:b"]),
    (
        "chatglm3",
        ["commercial-authorization:b", "use-restrictions:o"],
        ["commercial-authorization:b", "use-restrictions:o"],
    ),
    (
        "glm-4",
        ["built-with:o", "commercial-authorization:b", "use-restrictions:o"],
        ["built-with:o", "commercial-authorization:b", "use-restrictions:o"],
    ),
    ("bigscience-openrail-m", ["use-restrictions:o"], ["use-restrictions:o"]),
    ("creativeml-openrail-m", ["use-restrictions:o"], ["use-restrictions:o"]),
    ("bigscience-bloom-rail-1.0", ["use-restrictions:o"], ["use-restrictions:o"]),
    ("openrail", ["use-restrictions:o", "variant-unknown:r"], ["use-restrictions:o", "variant-unknown:r"]),
    ("openrail++", ["use-restrictions:o"], ["use-restrictions:o"]),
    ("bigcode-openrail-m", ["use-restrictions:o"], ["use-restrictions:o"]),
    ("stability-ai-community", ["use-restrictions:o"], ["use-restrictions:o"]),
    ("tencent-hunyuan", ["use-restrictions:o"], ["use-restrictions:o"]),
    ("grok2-community", [], []),
    ("fair-noncommercial-research-license", ["non-commercial:b"], ["non-commercial:b"]),
    ("deepfloyd-if-license", ["non-commercial:b"], ["non-commercial:b"]),
    ("apple-amlr", ["non-commercial:b"], ["non-commercial:b"]),
    ("CC-BY-4.0", ["attribution:o"], ["attribution:o"]),
    ("CC-BY-3.0", ["attribution:o"], ["attribution:o"]),
    ("CC-BY-SA-4.0", ["attribution:o"], ["attribution:o"]),
    ("CC-BY-SA-3.0", ["attribution:o"], ["attribution:o"]),
    ("CC-BY-NC-4.0", ["attribution:o", "non-commercial:b"], ["attribution:o", "non-commercial:b"]),
    ("CC-BY-NC-SA-4.0", ["attribution:o", "non-commercial:b"], ["attribution:o", "non-commercial:b"]),
    ("CC-BY-ND-4.0", ["attribution:o"], ["attribution:o"]),
    ("CC-BY-NC-ND-4.0", ["attribution:o", "non-commercial:b"], ["attribution:o", "non-commercial:b"]),
    ("ODC-By-1.0", ["attribution:o"], ["attribution:o"]),
    ("ODbL-1.0", ["attribution:o"], ["attribution:o"]),
]


def test_table_covers_every_license() -> None:
    assert [row[0] for row in EXPECTED] == list(KB.licenses)


def _kind(category: str) -> str:
    return {"model": "model", "data": "dataset", "share-alike": "dataset"}.get(category, "python")


@pytest.mark.parametrize(("license_id", "saas", "distributed"), EXPECTED)
def test_verdict_per_license(license_id: str, saas: list[str], distributed: list[str]) -> None:
    lic = KB.get(license_id)
    component = comp(kind=_kind(lic.category), license=license_id)
    resolver = LineageResolver(KB, [])
    for profile, expected in ((SAAS, saas), (DIST, distributed)):
        verdict = judge(component, profile, KB, resolver)
        assert sorted({f"{f.rule}:{f.severity.name[0]}" for f in verdict.findings}) == expected, profile


@pytest.mark.parametrize("license_id", list(KB.licenses))
def test_every_id_and_alias_resolves_to_its_license(license_id: str) -> None:
    lic = KB.get(license_id)
    for name in (lic.id, lic.name, *lic.hf, *lic.aliases, *(n for n in (lic.spdx, lic.scancode) if n)):
        resolution = KB.resolve(name)
        assert resolution.alternatives == ((lic,),), name


@pytest.mark.parametrize(
    ("raw", "alternatives", "unknown"),
    [
        ("MIT", [["MIT"]], []),
        ("(MIT OR GPL-3.0) AND Apache-2.0", [["MIT", "Apache-2.0"], ["GPL-3.0-only", "Apache-2.0"]], []),
        ("MIT/Apache-2.0", [["MIT"], ["Apache-2.0"]], []),
        ("Apache-2.0 WITH LLVM-exception", [["Apache-2.0"]], []),
        ("LicenseRef-scancode-llama-3.1-license-2024", [["llama3.1"]], []),
        ("License :: OSI Approved :: MIT License", [["MIT"]], []),
        ("BSD, Public Domain", [["BSD", "Unlicense"]], []),
        ("GPL-2.0", [["GPL-2.0-only"]], []),
        ("my-own-license", [], ["my-own-license"]),
        ("MIT AND my-own-license", [], ["my-own-license"]),
        ("", [], ["(missing)"]),
        ("other", [], ["other"]),
        ("Permission is hereby granted, free of charge, to any person obtaining a copy\n" * 3, [["MIT"]], []),
    ],
)
def test_resolve_expressions(raw: str, alternatives: list[list[str]], unknown: list[str]) -> None:
    resolution = KB.resolve(raw)
    assert [[lic.id for lic in alt] for alt in resolution.alternatives] == alternatives
    assert list(resolution.unknown) == unknown


@pytest.mark.parametrize(
    ("repo", "license_id", "base"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3.1", ()),
        ("meta-llama/Llama-3.2-11B-Vision-Instruct", "llama3.2", ()),
        ("google/gemma-2-9b-it", "gemma", ()),
        ("google/gemma-4-31b", "Apache-2.0", ()),
        ("Qwen/Qwen2.5-72B-Instruct", "qwen", ()),
        ("Qwen/Qwen2.5-3B-Instruct", "qwen-research", ()),
        ("Qwen/Qwen2.5-7B-Instruct", "Apache-2.0", ()),
        ("Qwen/Qwen-72B", "tongyi-qianwen", ()),
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "MIT", ("meta-llama/Llama-3.3-70B-Instruct",)),
        ("DeepSeek-R1-Distill-Qwen-32B", "MIT", ("Qwen/Qwen2.5-32B",)),
        ("deepseek-ai/deepseek-coder-6.7b-instruct", "deepseek", ()),
        ("tiiuae/falcon-180B", "falcon-180b", ()),
        ("01-ai/Yi-34B", "yi-license", ()),
        ("THUDM/glm-4-9b-chat", "glm-4", ()),
    ],
)
def test_known_models(repo: str, license_id: str, base: tuple[str, ...]) -> None:
    known = KB.known_model(repo)
    assert known is not None
    assert (known.license, known.base) == (license_id, base)
