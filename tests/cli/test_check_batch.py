"""`hegui check --batch`: both file forms, both stages, stdin, bad lines, blank lines, order, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hegui import pipelines
from hegui.cli import app
from hegui.guard.batch import BatchError, detect_format, parse_batch, split_lines
from hegui.guard.types import Action, Context, Finding, Stage

runner = CliRunner()

BLOCKED = "演示违禁词"


class PromptProbe:
    """Refuses an answer when the question (``ctx.prompt``) holds 禁问, and fails on 爆炸 in the text:
    a test check that makes the context and the failure path visible."""

    name = "prompt-probe"
    stages = frozenset({Stage.INPUT, Stage.OUTPUT})
    horizon = None
    version = "1"

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        if "爆炸" in text:
            raise RuntimeError("probe exploded")
        if ctx.prompt is not None and "禁问" in ctx.prompt:
            return [Finding(self.name, "A.1h", 0, len(text), text, Action.REFUSE)]
        return []


PROBE_POLICY = """
[[upstreams]]
name = "demo"
type = "demo"
models = ["m"]

[[checks]]
name = "demo-denylist"
type = "denylist"
terms = ["演示违禁词"]

[[checks]]
name = "probe"
type = "prompt_probe"
"""


@pytest.fixture
def probe_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    types = pipelines.builtin_check_types()
    monkeypatch.setattr(
        pipelines, "builtin_check_types", lambda: types | {"prompt_probe": lambda *_: PromptProbe()}
    )
    path = tmp_path / "policy.toml"
    path.write_text(PROBE_POLICY, encoding="utf-8")
    return path


def run(args: list[str], stdin: str | bytes | None = None) -> tuple[int, list[dict[str, Any]], str]:
    result = runner.invoke(app, ["check", *args], input=stdin, env={"HEGUI_POLICY_FILE": ""})
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_whole_lines_in_order_with_line_numbers(tmp_path: Path) -> None:
    texts = [f"第{i}句话" for i in range(40)]
    texts[17] = f"这里有{BLOCKED}"
    code, out, err = run(["--batch", write(tmp_path, "t.txt", "\n".join(texts) + "\n")])
    assert code == 1  # one line is refused
    assert [v["line"] for v in out] == list(range(1, 41))
    # Line 18 alone stops. The bundled prompt model may *label* a short neutral line (evidence that does not
    # stop it: "第5句话" scores P(harmful) 0.17 against the balanced evidence threshold 0.14), so every other
    # line is allowed or labelled, never refused.
    assert out[17]["action"] == "refuse"
    assert all(v["action"] in ("allow", "label") for i, v in enumerate(out) if i != 17)
    (finding,) = out[17]["findings"]
    assert (finding["start"], finding["end"], finding["evidence"]) == (3, 8, BLOCKED)
    assert err == ""  # no progress bar when stderr is not a terminal


def test_same_fields_as_json_plus_line(tmp_path: Path) -> None:
    single = runner.invoke(app, ["check", "--json", BLOCKED], env={"HEGUI_POLICY_FILE": ""})
    _, out, _ = run(["--batch", write(tmp_path, "t.txt", BLOCKED + "\n")])
    assert out == [{"line": 1, **json.loads(single.stdout)}]


def test_all_allowed_exits_zero_and_crlf_is_removed(tmp_path: Path) -> None:
    code, out, _ = run(["--batch", write(tmp_path, "t.txt", "你好\r\n今天天气\r\n")])
    assert code == 0
    assert [v["action"] for v in out] == ["allow", "allow"]


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    code, out, _ = run(["--batch", write(tmp_path, "t.txt", "\n你好\n   \n\n" + BLOCKED + "\n\n")])
    assert code == 1
    assert [(v["line"], v["action"]) for v in out] == [(2, "allow"), (5, "refuse")]


def test_jsonl_input_stage(tmp_path: Path) -> None:
    rows = [{"text": "你好", "id": 1}, {"text": BLOCKED}, {"prompt": "只有问题的对象"}]
    path = write(tmp_path, "t.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    code, out, _ = run(["--batch", path])
    assert code == 1
    passes = ("allow", "label")  # label: evidence recorded (the bundled prompt model), the text passes
    assert [v["line"] for v in out] == [1, 2, 3]
    assert [v["action"] in passes for v in out] == [True, False, True]


def test_stdin_jsonl(tmp_path: Path) -> None:
    stdin = '  {"text": "你好"}\n\n{"text": "hegui-forbidden-demo"}\n'
    code, out, _ = run(["--batch", "-"], stdin=stdin)
    assert code == 1  # the bundled policy's demo deny-list
    assert [(v["line"], v["action"]) for v in out] == [(1, "allow"), (3, "refuse")]


def test_stdin_whole_lines() -> None:
    code, out, _ = run(["--batch", "-"], stdin="你好\n" + BLOCKED)
    assert (code, [v["action"] for v in out]) == (1, ["allow", "refuse"])


def test_output_stage_prompt_reaches_the_checks(probe_policy: Path, tmp_path: Path) -> None:
    rows = [
        {"prompt": "普通问题", "response": "普通回答"},
        {"prompt": "这是禁问", "response": "普通回答"},
        {"response": "没有问题的回答"},
        {"prompt": "普通问题", "response": BLOCKED},
    ]
    path = write(tmp_path, "pairs.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    code, out, _ = run(["--batch", path, "--stage", "output", "--policy", str(probe_policy)])
    assert code == 1
    assert [v["action"] for v in out] == ["allow", "refuse", "allow", "refuse"]
    assert out[1]["findings"][0]["check"] == "prompt-probe"


def test_output_stage_whole_lines_have_no_prompt(probe_policy: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "answers.txt", "禁问\n回答\n")
    code, out, _ = run(["--batch", path, "--stage", "output", "--policy", str(probe_policy)])
    assert (code, [v["action"] for v in out]) == (0, ["allow", "allow"])


def test_a_failing_check_refuses_its_line_and_the_run_goes_on(probe_policy: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", "你好\n会爆炸的句子\n再见\n")
    code, out, err = run(["--batch", path, "--policy", str(probe_policy)])
    assert code == 3
    assert [(v["line"], v["action"]) for v in out] == [(1, "allow"), (2, "refuse"), (3, "allow")]
    assert out[1]["findings"] == []
    assert "probe exploded" in out[1]["error"] and "prompt-probe" in out[1]["error"]
    assert "error" not in out[0]
    assert "1 of 3 line(s)" in err and "line 2" in err


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.jsonl", '{"text": "你好"}\n\n{"text": "没有结尾"\n{"text": "x"}\n')
    code, out, err = run(["--batch", path])
    assert (code, out) == (2, [])  # nothing is judged from a file that cannot be read whole
    assert f"{path} line 3: not valid JSON" in err


@pytest.mark.parametrize(
    ("text", "stage", "message"),
    [
        ('{"text": "a"}\n[1, 2]\n', "input", "line 2: expected a JSON object, got list"),
        ('{"text": "a"}\n{"response": "b"}\n', "input", "line 2: the object has no 'text' or 'prompt'"),
        ('{"prompt": "a"}\n', "output", "line 1: the object has no 'response' or 'text'"),
        ('{"text": 3}\n', "input", "line 1: 'text' must be a string, not int"),
        ('{"response": "a", "prompt": null}\n', "output", "line 1: 'prompt' must be a string"),
    ],
)
def test_malformed_objects(tmp_path: Path, text: str, stage: str, message: str) -> None:
    code, out, err = run(["--batch", write(tmp_path, "t.jsonl", text), "--stage", stage])
    assert (code, out) == (2, [])
    assert message in err


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes("你好\n".encode() + b"\xff\n")
    code, _, err = run(["--batch", str(path)])
    assert code == 2 and "line 2: not valid UTF-8" in err


def test_text_and_batch_are_exclusive(tmp_path: Path) -> None:
    assert run(["你好", "--batch", write(tmp_path, "t.txt", "a\n")])[0] == 2
    code, _, err = run([])
    assert code == 2 and "either TEXT" in err
    code, _, err = run(["--batch", str(tmp_path / "missing.txt")])
    assert code == 2 and "cannot read the batch file" in err


def test_forced_lines_format_judges_braces_as_text(tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", '{"text": "not json for once"\n')
    code, out, _ = run(["--batch", path, "--batch-format", "lines"])
    assert (code, out[0]["line"], out[0]["action"]) == (0, 1, "allow")
    assert run(["--batch", path, "--batch-format", "yaml"])[0] == 2


def test_lexicon_tags_needs_a_lexicon(tmp_path: Path) -> None:
    code, _, err = run(["--batch", write(tmp_path, "t.txt", "a\n"), "--lexicon-tags", "tags.txt"])
    assert code == 2 and "--lexicon-tags needs --lexicon" in err


def test_lexicon_with_tags_gives_categories(tmp_path: Path) -> None:
    lexicon = write(tmp_path, "words.txt", "甲乙丙丁\n")
    tags = write(tmp_path, "tags.txt", "甲乙丙丁 2\n")
    args = ["--lexicon", lexicon, "--lexicon-format", "plain", "--lexicon-tags", tags]
    code, out, _ = run(["--batch", write(tmp_path, "t.txt", "说甲乙丙丁\n"), *args])
    (finding,) = out[0]["findings"]
    assert (finding["check"], finding["category"], finding["evidence"]) == ("cli-lexicon", "A.1f", "甲乙丙丁")
    # whether a lexicon hit refuses depends on its tier (topic terms only label): the exit code follows
    assert code == (1 if out[0]["action"] == "refuse" else 0)


def test_parse_batch_rules() -> None:
    assert split_lines("\ufeffa\r\nb\u2028c\n") == ["a", "b\u2028c"]
    assert detect_format(["", "  {x"]) == "jsonl"
    assert detect_format(["x {", "{"]) == "lines"
    items = parse_batch('{"prompt": "q", "response": "r"}\n', Stage.OUTPUT)
    assert [(i.line, i.text, i.prompt) for i in items] == [(1, "r", "q")]
    with pytest.raises(BatchError, match=r"f\.jsonl line 1"):
        parse_batch("{oops\n", Stage.INPUT, name="f.jsonl")
