"""The ``unregistered_persons`` check: voice and likeness requests naming a person the registry does not
know are refused; registered persons are the ``persona`` check's; other mentions pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hegui.errors import ConfigError
from hegui.guard.types import Action, Context, Stage
from hegui.persons.model import Kind, Person, RegistrySnapshot
from hegui.persons.unregistered import UnregisteredPersonsCheck
from hegui.pipelines import build_pipeline
from hegui.policy import parse_policy

CHECK = UnregisteredPersonsCheck(
    "unregistered", RegistrySnapshot((Person("chen", "陈思远", Kind.LICENSED),), ())
)


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("用张伟的声音读这段话", ["张伟"]),  # voice
        ("画一张张伟的照片", ["张伟"]),  # likeness
        ("模仿李明的音色说一句生日快乐", ["李明"]),
        ("用陈思远的声音读这段话", []),  # registered: the persona check decides
        ("张伟是谁？", []),  # a question about a person is not a depiction
        ("给我推荐一家餐馆", []),
    ],
)
def test_requests(text: str, flagged: list[str]) -> None:
    found = CHECK.inspect(text, Context())
    assert [f.evidence for f in found] == flagged
    assert all(f.category in ("A.4b", "A.4g") and f.action.stops for f in found)


def test_the_policy_builds_it(tmp_path: Path) -> None:
    (tmp_path / "persons.json").write_text(
        json.dumps(RegistrySnapshot((Person("chen", "陈思远", Kind.LICENSED),), ()).to_json()),
        encoding="utf-8",
    )
    policy = (
        '[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["m"]\n[[checks]]\nname = "u"\n'
        'type = "unregistered_persons"\nregistry = "persons.json"\n'
    )
    pipeline = build_pipeline(parse_policy(policy, str(tmp_path / "t.toml")))
    assert pipeline.run(Stage.INPUT, "用张伟的声音读这段话", Context()).action == Action.REFUSE
    assert pipeline.run(Stage.INPUT, "用陈思远的声音读这段话", Context()).action == Action.ALLOW
    with pytest.raises(ConfigError, match="stages"):
        build_pipeline(parse_policy(policy + 'stages = ["output"]\n', str(tmp_path / "t.toml")))
