"""Tables of true and false cases for every personal-information recognizer, and the masking check."""

from __future__ import annotations

import pytest

from hegui.guard import Action, Context, Pipeline, Stage
from hegui.guard.pii import PIIAnalyzer, PIICheck, recognizers_for
from hegui.guard.pii.validators import luhn_valid, resident_id_valid, uscc_valid

CASES: list[tuple[str, str, list[str]]] = [
    # resident ID: checksum, birth date, separators
    ("resident_id", "身份证号110101199003071233。", ["110101199003071233"]),
    ("resident_id", "ID 44030419851231002X ok", ["44030419851231002X"]),
    ("resident_id", "号码 440304 19851231 002x", ["440304 19851231 002x"]),
    ("resident_id", "110101199003071234", []),  # wrong check character
    ("resident_id", "110101199002301236", []),  # 30 February
    ("resident_id", "1101011990030712331", []),  # 19 digits: part of something longer
    ("resident_id", "010101199003071233", []),  # region code cannot start with 0
    # mobile
    ("mobile", "电话13812345678", ["13812345678"]),
    ("mobile", "call +86 138-1234-5678 now", ["+86 138-1234-5678"]),
    ("mobile", "手机 159 0000 1111", ["159 0000 1111"]),
    ("mobile", "12812345678", []),  # no 12x mobile prefix
    ("mobile", "订单号138123456789", []),  # 12 digits
    ("mobile", "1381234567", []),  # 10 digits
    # landline
    ("landline", "座机010-62345678", ["010-62345678"]),
    ("landline", "(0755)82345678-123转", ["(0755)82345678-123"]),
    ("landline", "电话 0571 8765432", ["0571 8765432"]),
    ("landline", "01062345678", []),  # no separator: ambiguous, not taken
    ("landline", "010-12345678", []),  # local numbers do not start with 1
    ("landline", "2024-010-62345678", []),
    # bank card
    ("bank_card", "卡号6217000010001234569", ["6217000010001234569"]),
    ("bank_card", "card 4111 1111 1111 1111.", ["4111 1111 1111 1111"]),
    ("bank_card", "6222-0212-3456-7890-128", ["6222-0212-3456-7890-128"]),
    ("bank_card", "6217000010001234565", []),  # fails Luhn
    ("bank_card", "4111111111111", []),  # too short
    ("bank_card", "1111111111111117", []),  # no card network starts with 1
    # unified social credit code
    ("uscc", "代码91110108MA01ABCD1E。", ["91110108MA01ABCD1E"]),
    ("uscc", "121000004000000010", ["121000004000000010"]),
    ("uscc", "91110108MA01ABCD1F", []),  # wrong check character
    ("uscc", "91110108MA01ABCDIE", []),  # I is not in the code's alphabet
    # passport
    ("passport", "护照号E12345678", ["E12345678"]),
    ("passport", "新版护照EA1234567", ["EA1234567"]),
    ("passport", "Passport No. X1234567", ["X1234567"]),
    ("passport", "护照：K12345678", ["K12345678"]),
    ("passport", "型号E1234567", []),  # 7 digits after E
    ("passport", "SKU AE12345678", []),
    ("passport", "X1234567", []),  # no passport cue
    # email
    ("email", "邮箱zhang.san@example.com.cn。", ["zhang.san@example.com.cn"]),
    ("email", "mail a+b@mail.example.org.", ["a+b@mail.example.org"]),
    ("email", "not..valid@example.com", []),
    ("email", "user@localhost", []),
    ("email", "@example.com", []),
    # IPv4 / IPv6
    ("ipv4", "服务器192.168.1.10上", ["192.168.1.10"]),
    ("ipv4", "ip 8.8.8.8.", ["8.8.8.8"]),
    ("ipv4", "256.1.1.1", []),
    ("ipv4", "version 1.2.3.4.5", []),
    ("ipv6", "addr fe80::1ff:fe23:4567:890a.", ["fe80::1ff:fe23:4567:890a"]),
    ("ipv6", "2001:db8::8a2e:370:7334", ["2001:db8::8a2e:370:7334"]),
    ("ipv6", "时间12:30:45", []),
    ("ipv6", "std::vector", []),
    ("ipv6", "::", []),
    # licence plate
    ("licence_plate", "车牌京A12345停在", ["京A12345"]),
    ("licence_plate", "粤BD12345是新能源", ["粤BD12345"]),
    ("licence_plate", "沪C·8K2L9", ["沪C·8K2L9"]),
    ("licence_plate", "京ABCDEF", []),  # no digit
    ("licence_plate", "京I12345", []),  # I is not used
    ("licence_plate", "京A123456789", []),
    # address (heuristic)
    ("address", "我住在北京市朝阳区建国路88号2号楼3单元401室", ["北京市朝阳区建国路88号2号楼3单元401室"]),
    ("address", "寄到南京路100号。", ["南京路100号"]),
    ("address", "他一路走来3号选手", []),
    ("address", "我们在路上", []),
    # person name (heuristic)
    ("person_name", "我叫张三，", ["张三"]),
    ("person_name", "收件人：欧阳娜娜 电话", ["欧阳娜娜"]),
    ("person_name", "姓名 李小明", ["李小明"]),
    ("person_name", "我叫张三来自北京", ["张三"]),
    ("person_name", "我叫什么名字", []),  # 什 is not a surname
    ("person_name", "张三是个常见的例子", []),  # no cue
]


@pytest.mark.parametrize(("entity", "text", "expected"), CASES)
def test_recognizer_table(entity: str, text: str, expected: list[str]) -> None:
    (recognizer,) = recognizers_for([entity])
    found = recognizer.find(text)
    assert [m.text for m in found] == expected
    for m in found:
        assert text[m.start : m.end] == m.text


@pytest.mark.parametrize(
    ("value", "fn", "ok"),
    [
        ("110101199003071233", resident_id_valid, True),
        ("11010119900307123X", resident_id_valid, False),
        ("4111111111111111", luhn_valid, True),
        ("4111111111111112", luhn_valid, False),
        ("91110108MA01ABCD1E", uscc_valid, True),
        ("91110108MA01ABCD1E0", uscc_valid, False),
    ],
)
def test_validators(value: str, fn: object, ok: bool) -> None:
    assert callable(fn)
    assert fn(value) is ok


def test_every_builtin_recognizer_has_a_table() -> None:
    from hegui.guard.pii import builtin_entities

    tested = {entity for entity, _, _ in CASES}
    assert set(builtin_entities()) == tested


def test_overlap_prefers_the_validated_id_over_a_bank_card() -> None:
    # An 18-digit resident ID that also passes Luhn and starts like a card number.
    value = "430102199001011051"
    assert resident_id_valid(value) and luhn_valid(value)
    (card,) = recognizers_for(["bank_card"])
    assert [m.text for m in card.find(value)] == [value]
    found = PIIAnalyzer().analyze(f"证件号 {value} 结束")
    assert [(m.entity, m.text) for m in found] == [("resident_id", value)]


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("partial", "电话138****5678，邮箱z********@example.com"),
        ("label", "电话[手机号]，邮箱[邮箱]"),
        ("full", "电话***********，邮箱*********************"),
    ],
)
def test_mask_styles_through_the_pipeline(style: str, expected: str) -> None:
    check = PIICheck("pii", mask_style=style)  # type: ignore[arg-type]
    pipeline = Pipeline([check], policy_version="t")
    verdict = pipeline.run(Stage.INPUT, "电话13812345678，邮箱zhang.san@example.com", Context())
    assert verdict.action == Action.MASK
    assert verdict.text == expected
    assert {f.category for f in verdict.findings} == {"A.4f"}


def test_refusing_pii_check_and_horizon() -> None:
    check = PIICheck("pii", PIIAnalyzer(recognizers_for(["mobile", "resident_id"])), action=Action.REFUSE)
    assert check.horizon == 22 + 22  # the longest match, and a candidate it overlaps before it
    verdict = Pipeline([check], policy_version="t").run(Stage.OUTPUT, "13812345678", Context())
    assert verdict.stops


def test_unknown_entity_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown personal-information entities"):
        recognizers_for(["social_security"])


POLICY_HEAD = """
[[upstreams]]
name = "demo"
type = "demo"
models = ["m"]
"""


@pytest.mark.parametrize(
    ("table", "text", "expected"),
    [
        ('type = "pii"', "电话13812345678", ("mask", "A.4f", "电话138****5678")),
        (
            'type = "pii"\nmask_style = "label"\nentities = ["mobile"]',
            "电话13812345678 a@b.cn",
            ("mask", "A.4f", "电话[手机号] a@b.cn"),
        ),
        ('type = "pii"\naction = "refuse"\ncategory = "A.4e"', "a@example.com", ("refuse", "A.4e", None)),
    ],
)
def test_pii_check_type_in_a_policy(table: str, text: str, expected: tuple[str, str, str | None]) -> None:
    from hegui.pipelines import build_pipeline
    from hegui.policy import parse_policy

    policy = parse_policy(POLICY_HEAD + f'[[checks]]\nname = "pii"\n{table}\n', "test.toml")
    verdict = build_pipeline(policy).run(Stage.INPUT, text, Context())
    action, category, rewritten = expected
    assert (verdict.action.value, verdict.findings[0].category) == (action, category)
    if rewritten is not None:
        assert verdict.text == rewritten


def test_pii_policy_errors_name_the_key() -> None:
    from hegui.errors import ConfigError
    from hegui.pipelines import build_pipeline
    from hegui.policy import parse_policy

    for table, key in [
        ('entities = ["ssn"]', "checks[0].entities"),
        ('mask_style = "blur"', "checks[0].mask_style"),
    ]:
        policy = parse_policy(POLICY_HEAD + f'[[checks]]\nname = "p"\ntype = "pii"\n{table}\n', "test.toml")
        with pytest.raises(ConfigError) as err:
            build_pipeline(policy)
        assert err.value.key == key
