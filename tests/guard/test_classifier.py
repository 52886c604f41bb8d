"""The bundled offensive-language classifier: artifact, windows, and honest metrics on COLD dev."""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

import pytest

from hegui.guard import Action, Context, Pipeline, Stage
from hegui.guard.classifier import BUNDLED_ARTIFACT, ClassifierCheck, NgramModel

PKG = Path(__file__).resolve().parents[2] / "src/hegui/guard/classifier"
DOCS = Path(__file__).resolve().parents[2] / "docs/guard-checks.md"


@pytest.fixture(scope="module")
def model() -> NgramModel:
    return NgramModel.load()


def _dev(shared_data: Path) -> list[dict[str, str]]:
    with (shared_data / "COLDataset/COLDataset/dev.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_artifact_is_small_and_carries_its_licence_note(model: NgramModel) -> None:
    assert (PKG / BUNDLED_ARTIFACT).stat().st_size < 5_000_000
    assert "Apache License 2.0" in (PKG / "NOTICE.md").read_text(encoding="utf-8")
    assert "COLDataset" in model.trained_on
    assert model.version.startswith("hegui-char-ngram-lr/1:")


@pytest.mark.parametrize(
    "text",
    [
        "今天天气很好，我们去公园散步吧。",
        "请帮我写一封感谢老师的信。",
        "这个问题很有意思，谢谢你的回答。",
        "Python 的列表推导式怎么写？",
        "",
    ],
)
def test_benign_text_passes(text: str) -> None:
    check = ClassifierCheck("cls")
    assert check.inspect(text, Context()) == []


def test_dev_split_precision_and_recall_match_the_documented_figures(
    shared_data: Path, model: NgramModel
) -> None:
    rows = _dev(shared_data)
    tp = fp = fn = 0
    for r in rows:
        pred = model.score(r["TEXT"]).probability >= model.threshold
        gold = r["label"] == "1"
        tp += pred and gold
        fp += pred and not gold
        fn += (not pred) and gold
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    recorded = model.metrics["dev"]
    assert (round(precision, 4), round(recall, 4)) == (recorded["precision"], recorded["recall"])
    assert precision >= 0.85 and recall >= 0.85
    docs = DOCS.read_text(encoding="utf-8")
    assert f"{precision:.3f}" in docs and f"{recall:.3f}" in docs


def test_one_offensive_sentence_in_a_long_benign_text_is_found(shared_data: Path, model: NgramModel) -> None:
    # The offensive sentence comes from COLD dev and is never printed; only its position is checked.
    offensive = max(
        (r["TEXT"] for r in _dev(shared_data) if r["label"] == "1" and 30 <= len(r["TEXT"]) <= 60),
        key=lambda t: model.score(t).probability,
    )
    benign = "今天天气很好，我们去公园散步吧。请帮我写一封感谢老师的信。" * 12
    text = benign + offensive + benign
    check = ClassifierCheck("cls", model)
    (finding,) = check.inspect(text, Context())
    where = len(benign)
    assert finding.start <= where < finding.end or finding.start < where + len(offensive) <= finding.end
    assert finding.category == "A.2i" and finding.action == Action.REFUSE
    assert check.horizon is None
    verdict = Pipeline([check], policy_version="t").run(Stage.OUTPUT, text, Context())
    assert verdict.stops


def test_threshold_and_window_validation(model: NgramModel) -> None:
    with pytest.raises(ValueError, match="threshold"):
        ClassifierCheck("cls", model, threshold=1.5)
    with pytest.raises(ValueError, match="window"):
        ClassifierCheck("cls", model, window=4)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not gzip", "cannot load"),
        (gzip.compress(b"[1, 2]"), "not an object"),
        (gzip.compress(json.dumps({"format": "other"}).encode()), "unsupported format"),
        (
            gzip.compress(json.dumps({"format": "hegui-char-ngram-lr/1", "ngram_range": [1, 3]}).encode()),
            "malformed",
        ),
    ],
)
def test_malformed_artifacts_are_refused(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "model.json.gz"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=re.escape(message)):
        NgramModel.load(path)


def test_classifier_check_type_in_a_policy(tmp_path: Path) -> None:
    from hegui.errors import ConfigError
    from hegui.pipelines import build_pipeline
    from hegui.policy import parse_policy

    head = '[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["m"]\n[[checks]]\nname = "cls"\ntype = "classifier"\n'
    pipeline = build_pipeline(parse_policy(head + "threshold = 0.6\n", "t.toml"))
    (check,) = pipeline.checks
    assert isinstance(check, ClassifierCheck)
    assert (check.threshold, check.category, check.horizon) == (0.6, "A.2i", None)
    (tmp_path / "bad.json.gz").write_bytes(b"x")
    with pytest.raises(ConfigError) as err:
        build_pipeline(parse_policy(head + 'model_path = "bad.json.gz"\n', str(tmp_path / "t.toml")))
    assert err.value.key == "checks[0].model_path"
