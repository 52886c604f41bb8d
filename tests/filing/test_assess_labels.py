"""Label verification of sampled outputs for `hegui assess`: saved API responses and labelled files,
the newest N, each ProduceID traced to the audit chain."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from hegui.filing.assess_labels import DEMO, check_file, label_finding, sample_outputs
from hegui.filing.findings import COMPLIANT, GAP, NON_COMPLIANT
from hegui.label.config import LabelPolicy
from hegui.label.files import label_bytes
from hegui.label.implicit import AigcLabel
from hegui.label.producer import DEMO_PRODUCER

CODE = "001191110102MACQD9K64010000"
POLICY = LabelPolicy(producer=CODE)


def _response(produce_id: str, text: str, producer: str = CODE) -> dict[str, object]:
    return {
        "id": produce_id,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "AIGC": AigcLabel.first_write(producer, produce_id).as_dict(),
    }


def _write(path: Path, body: object, mtime: int) -> Path:
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 220, 240)).save(buf, "PNG")
    return label_bytes(
        buf.getvalue(), "a.png", AigcLabel.first_write(CODE, "img-1"), explicit=True, policy=POLICY
    )


LABELLED = "答案。\n\n【AI生成】"


def _refusal() -> dict[str, object]:
    """hegui's refusal as the gateway sends it: content_filter, no AIGC object."""
    message = {"role": "assistant", "content": "抱歉，我无法提供帮助。"}
    return {"id": "r", "choices": [{"index": 0, "finish_reason": "content_filter", "message": message}]}


@pytest.mark.parametrize(
    ("body", "failure"),
    [
        (_response("chatcmpl-1", LABELLED), None),
        (_response("chatcmpl-2", "答案。"), "LBL-14: choice 0 has no explicit label"),
        ({k: v for k, v in _response("chatcmpl-3", LABELLED).items() if k != "AIGC"}, "LBL-01"),
        (_response("chatcmpl-4", LABELLED, producer="demo"), "LBL-07"),
        (_response("chatcmpl-5", LABELLED, producer=DEMO_PRODUCER), DEMO),
        ([1, 2], "LBL-01: the saved response is not a JSON object"),
        (_refusal() | {"choices": [{"index": 0, "finish_reason": "stop", "message": {}}]}, "LBL-01"),
    ],
)
def test_saved_responses(tmp_path: Path, body: object, failure: str | None) -> None:
    check = check_file(_write(tmp_path / "r.json", body, 1_000), POLICY)
    if failure is None:
        assert check.passed and check.produce_id == "chatcmpl-1", check
    else:
        assert check.failed and check.failed[0].startswith(failure), check


def test_labelled_file_is_verified_with_its_produce_id(tmp_path: Path) -> None:
    png = tmp_path / "a.png"
    png.write_bytes(_png())
    check = check_file(png, POLICY)
    assert check.passed and check.produce_id == "img-1", check
    bare = tmp_path / "b.png"
    Image.new("RGB", (64, 64)).save(bare)
    assert "LBL-01" in check_file(bare, POLICY).failed[0]


def test_sample_takes_the_newest(tmp_path: Path) -> None:
    for i in range(5):
        _write(tmp_path / f"r{i}.json", _response(f"c{i}", LABELLED), 1_000 + i)
    (tmp_path / "notes.bin").write_bytes(b"\x00")  # not an output format: not sampled
    paths, total = sample_outputs(tmp_path, 2)
    assert total == 5 and [p.name for p in paths] == ["r4.json", "r3.json"]


def test_finding_over_the_sample(tmp_path: Path) -> None:
    assert label_finding(None, 10, POLICY).verdict == GAP
    assert label_finding(tmp_path, 10, POLICY).verdict == NON_COMPLIANT  # empty: nothing to show
    _write(tmp_path / "old.json", _response("c0", "没有标识"), 1_000)
    for i in (1, 2):
        _write(tmp_path / f"r{i}.json", _response(f"c{i}", LABELLED), 2_000 + i)
    assert label_finding(tmp_path, 2, POLICY).verdict == COMPLIANT  # the unlabelled one is older
    every = label_finding(tmp_path, 10, POLICY)
    assert every.verdict == NON_COMPLIANT and "1 unlabelled or mislabelled" in every.detail
    _write(tmp_path / "refused.json", _refusal(), 3_000)  # the newest: skipped, and said so
    with_refusal = label_finding(tmp_path, 3, POLICY)
    assert with_refusal.verdict == COMPLIANT and "(1 of them refusals" in with_refusal.detail
    (tmp_path / "refused.json").unlink()
    traced = label_finding(tmp_path, 2, POLICY, traced=lambda pid: pid == "c2")
    assert traced.verdict == NON_COMPLIANT and "r1.json: ProduceID not in the audit chain" in traced.detail
    assert label_finding(tmp_path, 2, POLICY, traced=lambda pid: True).verdict == COMPLIANT
