"""The bundled offensive-language classifier: artifact, windows, both artifact formats, and honest
figures on the dev split (COLD dev.csv, SWSR's dev groups, LCCC and KdConv dev turns)."""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from hegui.guard import Action, Context, Pipeline, Stage
from hegui.guard.classifier import BUNDLED_ARTIFACT, ClassifierCheck, NgramModel, TextModel, load_model

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "src/hegui/guard/classifier"
DOCS = REPO / "docs/guard-checks.md"


@pytest.fixture(scope="module")
def model() -> TextModel:
    return load_model()


@pytest.fixture(scope="module")
def guard_data(shared_data: Path) -> ModuleType:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import guard_data
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return guard_data


def _dev(shared_data: Path) -> list[dict[str, str]]:
    with (shared_data / "COLDataset/COLDataset/dev.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_artifact_is_small_and_carries_its_licence_note(model: TextModel) -> None:
    assert (PKG / BUNDLED_ARTIFACT).stat().st_size < 5_000_000
    notice = (PKG / "NOTICE.md").read_text(encoding="utf-8")
    assert "Apache License 2.0" in notice and "MIT" in notice and "SWSR" in notice
    assert "COLDataset" in model.trained_on and "SWSR" in model.trained_on
    assert model.version.startswith("hegui-comment-vocab-lr/1:")


def test_an_evasion_variant_scores_as_the_plain_comment(model: TextModel) -> None:
    # The featurizer folds traditional characters, full-width forms and separators (hegui.text.normalize).
    plain = model.score("这个地方的人素质真差").probability
    assert model.score("這個地方的人素質真差").probability == pytest.approx(plain, abs=1e-6)
    assert model.score("这 个 地 方 的 人 素 质 真 差").probability == pytest.approx(plain, abs=1e-6)


def test_a_vocabulary_artifact_of_the_older_format_still_loads(tmp_path: Path) -> None:
    artifact = {
        "format": "hegui-char-ngram-lr/1",
        "ngram_range": [1, 2],
        "bias": -1.0,
        "threshold": 0.5,
        "weights": {"坏": 4.0, "坏人": 2.0, "好": -2.0},
    }
    path = tmp_path / "own.json.gz"
    path.write_bytes(gzip.compress(json.dumps(artifact, ensure_ascii=False).encode()))
    own = load_model(path)
    assert isinstance(own, NgramModel) and own.version.startswith("hegui-char-ngram-lr/1:")
    check = ClassifierCheck("cls", own)
    (finding,) = check.inspect("坏人", Context())
    assert finding.action == Action.REFUSE and "坏" in finding.explanation
    assert check.inspect("好", Context()) == []


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


def test_dev_figures_match_the_recorded_and_documented_ones(
    guard_data: ModuleType, shared_data: Path, model: TextModel
) -> None:
    sources = ("cold", "swsr", "lccc", "kdconv")
    dev = [e for e in guard_data.load_inputs(shared_data) if e.split == "dev" and e.source in sources]
    flagged: dict[str, list[bool]] = {}
    for e in dev:
        hit = model.score(e.text).probability >= model.threshold
        flagged.setdefault(f"{e.source}/{e.label}", []).append(hit)
        if e.source in ("cold", "swsr"):
            flagged.setdefault(f"comments/{e.label}", []).append(hit)
    share = {k: round(sum(v) / len(v), 4) for k, v in flagged.items()}
    recorded = {k: row["flagged"] for k, row in model.metrics["dev"].items() if k in share}
    assert share == recorded
    # The threshold was chosen on the calibration part to flag at most 10 % of safe comments.
    assert model.metrics["calibration"]["comments/benign"]["flagged"] <= 0.10
    assert share["comments/benign"] <= 0.10 and share["cold/benign"] <= 0.10
    assert share["comments/harmful"] >= 0.75 and share["cold/harmful"] >= 0.80
    assert share["lccc/benign"] <= 0.02 and share["kdconv/benign"] <= 0.02  # everyday chat
    cold_tp = sum(flagged["cold/harmful"])
    assert cold_tp / (cold_tp + sum(flagged["cold/benign"])) >= 0.85  # precision on COLD dev
    docs = DOCS.read_text(encoding="utf-8")
    for key in ("comments/harmful", "comments/benign", "swsr/harmful", "swsr/benign"):
        assert f"{100 * share[key]:.1f} %" in docs, key


def test_one_offensive_sentence_in_a_long_benign_text_is_found(shared_data: Path, model: TextModel) -> None:
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


def test_threshold_and_window_validation(model: TextModel) -> None:
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
        (b"PK\x03\x04 not a whole zip", "malformed"),
    ],
)
def test_malformed_artifacts_are_refused(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "model.json.gz"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_model(path)


def test_another_npz_artifact_is_refused(tmp_path: Path) -> None:
    from importlib import resources

    path = tmp_path / "prompt.npz"  # a valid judgement-model artifact, but not a comment model
    path.write_bytes(resources.files("hegui.guard.judge").joinpath("prompt_risk.npz").read_bytes())
    with pytest.raises(ValueError, match="malformed"):
        load_model(path)


def test_an_unseen_ngram_counts_nothing(model: TextModel) -> None:
    from hegui.guard.classifier.hashed import HashedModel

    assert isinstance(model, HashedModel)
    # Private-use characters never occur in the training texts: no weight, whatever their hash.
    assert model.score("\ue000\ue001\ue002\ue003").probability == pytest.approx(
        1.0 / (1.0 + math.exp(-model.bias)), rel=1e-6
    )
    assert model.score("\ue000\ue001\ue002").top_ngrams == ()


def test_a_bundled_style_artifact_round_trips(tmp_path: Path, model: TextModel) -> None:
    from hegui.guard.classifier.hashed import HashedModel

    assert isinstance(model, HashedModel)
    path = tmp_path / "copy.npz"
    model.save(path)
    again = load_model(path)
    assert isinstance(again, HashedModel) and again.version == model.version
    text = "这个地方的人素质真差"
    assert again.score(text).probability == model.score(text).probability


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


def test_strongest_ngrams_only_for_a_score_that_reaches_explain_from(model: TextModel) -> None:
    """The check asks for the strongest n-grams only at its threshold: the probability is the same either
    way, a score below ``explain_from`` names none, and a reported finding still names them."""
    texts = [
        "今天的天气很好，我们去公园散步吧",
        "南方人和北方人的饮食习惯不一样",
        "她是我们班的女生里跑得最快的",
    ]
    for text in texts:
        full = model.score(text)
        assert model.score(text, explain_from=2.0) == type(full)(full.probability, ())
        assert model.score(text, explain_from=0.0) == full
        at = model.score(text, explain_from=full.probability)
        assert at == full
    assert any(model.score(text).top_ngrams for text in texts)  # else the test shows nothing
    check = ClassifierCheck("offensive", model, threshold=min(model.score(t).probability for t in texts) / 2)
    for text in texts:
        (finding,) = check.inspect(text, Context())
        assert finding.explanation.endswith(", ".join(model.score(text).top_ngrams) or "-")
