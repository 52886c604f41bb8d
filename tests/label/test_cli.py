"""`hegui label add|read|verify` through the real CLI, on good files and on hand-crafted bad ones."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from hegui.cli import app
from hegui.label import images, video, visible
from hegui.label.implicit import AigcLabel
from hegui.policy import bundled_policy_text

PRODUCER = "001191110102MACQD9K64010000"
runner = CliRunner()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "hegui.toml"
    path.write_text(bundled_policy_text() + f'\n[labels]\nproducer = "{PRODUCER}"\n', encoding="utf-8")
    return path


def _json(**changes: str) -> str:
    values = AigcLabel.first_write(PRODUCER, "bad-0001").as_dict()
    values.update(changes)
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _png(size: tuple[int, int] = (320, 240), ratio: float | None = 0.06) -> bytes:
    img = Image.new("RGB", size, (90, 160, 220))
    if ratio is not None:
        img = visible.draw_label(img, "AI生成", ratio=ratio, corner="bottom-right")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _second_text_chunk(png: bytes, text: str) -> bytes:
    """A hand-made tEXt chunk named AIGC inserted after IHDR: a second label in the same file."""
    body = b"AIGC\x00" + text.encode()
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    end_of_ihdr = 8 + 12 + 13
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


def _verify(path: Path, policy_file: Path) -> tuple[int, dict[str, bool]]:
    result = runner.invoke(app, ["label", "verify", "--json", "--policy", str(policy_file), str(path)])
    report = json.loads(result.stdout.splitlines()[0])
    outcome: dict[str, bool] = {}
    for r in report["results"]:
        outcome[r["requirement"]] = outcome.get(r["requirement"], True) and r["passed"]
    return result.exit_code, outcome


BAD_IMAGES = [
    (
        "two-blocks",
        lambda: _second_text_chunk(images.png_write(_png(), _json()), _json(ProduceID="other")),
        "LBL-05",
    ),
    ("label-AIGC", lambda: images.png_write(_png(), _json(Label="AIGC")), "LBL-03"),
    (
        "label-number",
        lambda: images.png_write(_png(), _json().replace('"Label":"1"', '"Label":1')),
        "LBL-02 LBL-03",
    ),
    ("space-in-value", lambda: images.png_write(_png(), _json(ProduceID="id with space")), "LBL-04"),
    (
        "cjk-in-value",
        lambda: images.png_write(_png(), _json(ContentProducer="某某科技有限公司")),
        "LBL-04 LBL-07",
    ),
    ("code-26-chars", lambda: images.png_write(_png(), _json(ContentProducer=PRODUCER[:-1])), "LBL-07"),
    ("code-28-chars", lambda: images.png_write(_png(), _json(ContentProducer=PRODUCER + "0")), "LBL-07"),
    ("label-3-percent", lambda: images.png_write(_png((640, 640), ratio=0.03), _json()), "LBL-11"),
    ("no-visible-label", lambda: images.png_write(_png(ratio=None), _json()), "LBL-11"),
    (
        "propagator-empty",
        lambda: images.png_write(_png(), _json(ContentPropagator="", PropagateID="")),
        "LBL-06",
    ),
]


@pytest.mark.parametrize(("name", "make", "requirement"), BAD_IMAGES, ids=[b[0] for b in BAD_IMAGES])
def test_verify_fails_crafted_images_with_the_right_id(
    name: str, make: object, requirement: str, tmp_path: Path, policy_file: Path
) -> None:
    path = tmp_path / f"{name}.png"
    path.write_bytes(make())  # type: ignore[operator]
    code, outcome = _verify(path, policy_file)
    assert code == 1
    failing = {k for k, ok in outcome.items() if not ok}
    assert failing == set(requirement.split()), failing


def test_verify_passes_a_good_image(tmp_path: Path, policy_file: Path) -> None:
    path = tmp_path / "good.png"
    path.write_bytes(images.png_write(_png(), _json()))
    code, outcome = _verify(path, policy_file)
    assert code == 0
    assert all(outcome.values())


def test_verify_fails_a_video_label_shorter_than_two_seconds(
    tmp_path: Path, policy_file: Path, media: dict[str, bytes]
) -> None:
    short = video.add_visible(media["mp4"], "AI生成", ratio=0.06, corner="top-left", seconds=1.0)
    path = tmp_path / "short.mp4"
    path.write_bytes(video.mp4_write(short, _json()))
    code, outcome = _verify(path, policy_file)
    assert code == 1
    assert {k for k, ok in outcome.items() if not ok} == {"LBL-12"}


def test_verify_without_a_policy_passes_another_providers_correct_file(tmp_path: Path) -> None:
    path = tmp_path / "good.png"
    path.write_bytes(images.png_write(_png(), _json()))
    result = runner.invoke(app, ["label", "verify", str(path)], env={"HEGUI_POLICY_FILE": ""})
    assert result.exit_code == 0, result.stdout
    assert f"{path} (png): PASS\n" in result.stdout
    assert "  LBL-07  pass  provider code well-formed\n" in result.stdout


def test_add_then_verify_a_directory(tmp_path: Path, policy_file: Path, media: dict[str, bytes]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for kind in ("png", "wav", "md"):
        (src / f"x.{kind}").write_bytes(media[kind])
    out = tmp_path / "out"
    out.mkdir()
    for kind in ("png", "wav", "md"):
        result = runner.invoke(
            app,
            [
                "label",
                "add",
                "--policy",
                str(policy_file),
                str(src / f"x.{kind}"),
                "-o",
                str(out / f"x.{kind}"),
                "--produce-id",
                f"cli-{kind}",
            ],
        )
        assert result.exit_code == 0, result.output
        assert f'"ProduceID":"cli-{kind}"' in result.stdout
    result = runner.invoke(app, ["label", "verify", "--policy", str(policy_file), str(out)])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.count("PASS") == 3
    assert runner.invoke(app, ["label", "verify", "--policy", str(policy_file), str(src)]).exit_code == 1


def test_add_without_a_producer_labels_with_the_demo_code_and_verify_warns(
    tmp_path: Path, media: dict[str, bytes]
) -> None:
    from hegui.label.producer import DEMO_PRODUCER

    path = tmp_path / "x.png"
    path.write_bytes(media["png"])
    added = runner.invoke(app, ["label", "add", str(path)], env={"HEGUI_POLICY_FILE": ""})
    assert added.exit_code == 0, added.output
    assert added.stderr.startswith(
        f"warning: labels.producer is not set: labels carry hegui's demo provider code {DEMO_PRODUCER}"
    )
    assert f'"ContentProducer":"{DEMO_PRODUCER}"' in added.stdout
    verified = runner.invoke(
        app, ["label", "verify", str(tmp_path / "x.aigc.png")], env={"HEGUI_POLICY_FILE": ""}
    )
    assert verified.exit_code == 0, verified.stdout
    assert "(png): PASS with warnings: LBL-07\n" in verified.stdout
    assert (
        f"  LBL-07  warn  ContentProducer {DEMO_PRODUCER} is hegui's demo code, not a real provider"
        in verified.stdout
    )
    as_json = runner.invoke(
        app, ["label", "verify", "--json", str(tmp_path / "x.aigc.png")], env={"HEGUI_POLICY_FILE": ""}
    )
    lbl07 = [r for r in json.loads(as_json.stdout)["results"] if r["requirement"] == "LBL-07"]
    assert lbl07 == [{"requirement": "LBL-07", "passed": True, "reason": lbl07[0]["reason"], "warning": True}]


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("demo", "4 characters, a provider code has 27"),
        ("11" + PRODUCER[2:], "starts with '11', a provider code starts with '00'"),
        (PRODUCER[:5] + "a" + PRODUCER[6:], "character 6 is 'a', only 0-9 and A-Z are allowed"),
        (PRODUCER[:22] + "7" + PRODUCER[23:], "position 23 (counting from 1) is '7', it must be 0, 1 or 2"),
    ],
)
def test_a_bad_producer_is_refused_in_one_line(
    tmp_path: Path, media: dict[str, bytes], code: str, problem: str
) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(media["png"])
    result = runner.invoke(
        app, ["label", "add", str(path), "--producer", code], env={"HEGUI_POLICY_FILE": ""}
    )
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"error: --producer {code!r} is not a provider code: {problem}\n"
    assert not (tmp_path / "x.aigc.png").exists()


def test_errors_name_the_file(tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_text("not an image", encoding="utf-8")
    env = {"HEGUI_POLICY_FILE": ""}
    result = runner.invoke(app, ["label", "add", str(fake), "--producer", PRODUCER], env=env)
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {fake}: not a readable PNG image (format not recognised)\n",
    )
    missing = tmp_path / "missing.png"
    result = runner.invoke(app, ["label", "add", str(missing), "--producer", PRODUCER], env=env)
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {missing}: cannot read: No such file or directory\n",
    )


def test_a_27_character_code_is_not_called_the_wrong_length(tmp_path: Path) -> None:
    code = PRODUCER[:22] + "9" + PRODUCER[23:]
    path = tmp_path / "bad.png"
    path.write_bytes(images.png_write(_png(), _json(ContentProducer=code, ContentPropagator=code)))
    result = runner.invoke(app, ["label", "verify", str(path)], env={"HEGUI_POLICY_FILE": ""})
    assert result.exit_code == 1
    assert (
        f"  LBL-07  FAIL  ContentProducer {code!r} is not a provider code: position 23 (counting from 1) "
        "is '9', it must be 0, 1 or 2\n" in result.stdout
    )
    assert "27 characters" not in result.stdout


def test_read_prints_every_label(tmp_path: Path) -> None:
    path = tmp_path / "two.png"
    path.write_bytes(_second_text_chunk(images.png_write(_png(), _json()), _json(ProduceID="other")))
    result = runner.invoke(app, ["label", "read", str(path)])
    assert result.exit_code == 0
    ids = [json.loads(line)["label"]["ProduceID"] for line in result.stdout.splitlines()]
    assert sorted(ids) == ["bad-0001", "other"]


@pytest.mark.parametrize(
    ("flags", "label", "notice"),
    [
        (["--declared"], "2", "possibly"),
        (["--detected"], "3", "suspected"),
    ],
)
def test_propagate_unlabelled_content(
    flags: list[str], label: str, notice: str, tmp_path: Path, policy_file: Path, media: dict[str, bytes]
) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(media["png"])
    platform = "001191440300708461136T2XGW3"
    result = runner.invoke(
        app,
        [
            "label",
            "add",
            "--policy",
            str(policy_file),
            str(path),
            "--no-explicit",
            "--propagate",
            platform,
            "--produce-id",
            "post-9",
            *flags,
        ],
    )
    assert result.exit_code == 0, result.output
    assert notice in result.stdout
    assert f'"Label":"{label}"' in result.stdout
    assert f'"ContentPropagator":"{platform}"' in result.stdout


def test_propagate_labelled_content_keeps_the_producer(tmp_path: Path, policy_file: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(images.png_write(_png(), _json()))
    platform = "001191440300708461136T2XGW3"
    result = runner.invoke(
        app,
        [
            "label",
            "add",
            "--policy",
            str(policy_file),
            str(path),
            "--no-explicit",
            "--propagate",
            platform,
            "--produce-id",
            "post-10",
        ],
    )
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout.split(": ", 1)[1].splitlines()[0])
    assert written["ContentProducer"] == PRODUCER and written["ProduceID"] == "bad-0001"
    assert written["ContentPropagator"] == platform and written["PropagateID"] == "post-10"
    assert "is AI-generated" in result.stdout


def test_the_demo_and_example_codes_are_well_formed() -> None:
    from hegui.label.producer import DEMO_PRODUCER, EXAMPLE_PRODUCER, PROVIDER_CODE, code_problem

    for code in (DEMO_PRODUCER, EXAMPLE_PRODUCER):
        assert PROVIDER_CODE.match(code) and code_problem(code) is None
    assert EXAMPLE_PRODUCER[23 - 1] == "1"  # position 23 counts from 1, as docs/labels.md says
    assert EXAMPLE_PRODUCER in Path(__file__).parents[2].joinpath("docs", "labels.md").read_text("utf-8")
