"""The seven-key AIGC object: construction, serialisation, parsing of both forms, requirement ids."""

from __future__ import annotations

import json

import pytest

from hegui.label.implicit import (
    KEYS,
    AigcLabel,
    LabelError,
    _value_issues,
    parse_label,
    provider_code_issue,
)

CODE = "001191110102MACQD9K64010000"


def test_first_write_copies_the_producer_into_the_propagator_fields() -> None:
    label = AigcLabel.first_write(CODE, "chatcmpl-1")
    assert label.ContentPropagator == CODE and label.PropagateID == "chatcmpl-1"
    assert label.issues(first_write=True) == []


def test_to_json_is_the_bare_compact_form_in_key_order() -> None:
    text = AigcLabel.first_write(CODE, "id-1").to_json()
    assert text == (
        '{"Label":"1","ContentProducer":"' + CODE + '","ProduceID":"id-1","ReservedCode1":"",'
        '"ContentPropagator":"' + CODE + '","PropagateID":"id-1","ReservedCode2":""}'
    )
    assert list(json.loads(text)) == list(KEYS)
    assert json.loads(AigcLabel.first_write(CODE, "id-1").to_wrapped_json())["AIGC"] == json.loads(text)


@pytest.mark.parametrize(
    ("changes", "requirement"),
    [
        ({"Label": "AIGC"}, "LBL-03"),
        ({"Label": "0"}, "LBL-03"),
        ({"ProduceID": "with space"}, "LBL-04"),
        ({"ProduceID": "中文"}, "LBL-04"),
        ({"ProduceID": "back\\slash"}, "LBL-04"),
        ({"ProduceID": ""}, "LBL-02"),
    ],
)
def test_construction_refuses_a_bad_label(changes: dict[str, str], requirement: str) -> None:
    values = AigcLabel.first_write(CODE, "id").as_dict() | changes
    with pytest.raises(LabelError, match=requirement):
        AigcLabel(**values)


@pytest.mark.parametrize("wrapped", [False, True])
def test_parse_reads_bare_and_wrapped(wrapped: bool) -> None:
    label = AigcLabel.first_write(CODE, "id-2")
    parsed = parse_label(label.to_wrapped_json() if wrapped else label.to_json(), "test")
    assert parsed.ok and parsed.label() == label


@pytest.mark.parametrize(
    ("raw", "requirements"),
    [
        ("not json", {"LBL-02"}),
        ('["AIGC"]', {"LBL-02"}),
        ('{"Label":"1"}', {"LBL-02"}),
        (
            '{"Label":1,"ContentProducer":"a","ProduceID":"b","ReservedCode1":"","ContentPropagator":"a",'
            '"PropagateID":"b","ReservedCode2":""}',
            {"LBL-02", "LBL-03"},
        ),
        (
            '{"Label":"AIGC","ContentProducer":"a","ProduceID":"b","ReservedCode1":"","ContentPropagator":"a",'
            '"PropagateID":"b","ReservedCode2":""}',
            {"LBL-03"},
        ),
        (
            '{"Label":"2","ContentProducer":"a b","ProduceID":"b","ReservedCode1":"","ContentPropagator":"a",'
            '"PropagateID":"b","ReservedCode2":"","Extra":"x"}',
            {"LBL-02", "LBL-04"},
        ),
    ],
)
def test_parse_reports_every_issue(raw: str, requirements: set[str]) -> None:
    assert {i.requirement for i in parse_label(raw, "test").issues} == requirements


def test_a_quote_in_a_value_is_allowed_escaped() -> None:
    label = AigcLabel.first_write(CODE, 'id"quoted')
    assert '\\"' in label.to_json()
    assert parse_label(label.to_json(), "t").ok


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        (CODE, True),
        ("001191440300708461136T1XGW3", True),
        (CODE[:-1], False),
        (CODE + "0", False),
        ("01" + CODE[2:], False),
        (CODE[:22] + "3" + CODE[23:], False),
        (CODE.lower(), False),
        (None, False),
    ],
)
def test_provider_code(code: object, ok: bool) -> None:
    issue = provider_code_issue(code)
    assert (issue is None) is ok
    if issue:
        assert issue.requirement == "LBL-07"


def test_propagate_writes_the_platform_fields() -> None:
    label = AigcLabel.first_write(CODE, "id-3").propagate("001191440300708461136T2XGW3", "post-1")
    assert (label.ContentProducer, label.ProduceID) == (CODE, "id-3")
    assert (label.ContentPropagator, label.PropagateID) == ("001191440300708461136T2XGW3", "post-1")


@pytest.mark.parametrize(
    "value", ["id-1", 'a"quote', "x\n", "~!@#$%^&*()_+{}|:<>?[];',./`", "a b", "a\\b", "演示", "\t", ""]
)
def test_construction_decides_as_the_full_rules_and_writes_what_json_dumps_writes(value: str) -> None:
    # __post_init__ tries a fast path first; what it accepts, the rules accept, and the rest they decide
    values = dict(AigcLabel.first_write(CODE, "id-1").as_dict(), ReservedCode2=value)
    refused = {i.requirement for i in _value_issues(values)} & {"LBL-02", "LBL-03", "LBL-04"}
    if refused:
        with pytest.raises(LabelError):
            AigcLabel(**values)
        return
    label = AigcLabel(**values)
    assert label.to_json() == json.dumps(label.as_dict(), ensure_ascii=False, separators=(",", ":"))
