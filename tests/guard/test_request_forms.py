"""Request-form augmentation of the prompt model's training (`scripts/request_forms.py`, the trainer's
``--form-augment``), on made-up rows: off changes nothing; on, every wrapper carries the same weight in
"none" as in "harmful" (so its n-grams carry no class signal), the smaller side's copies weigh the share
of their originals, comments and jailbreak-wrapped prompts are never wrapped, and the copies are the same
on every run."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _rows(trainer: ModuleType) -> list[object]:
    example = trainer.Example
    rows = []
    for source, label, kind, risk, n in (
        ("cold", "harmful", "comment", "A.2", 300),
        ("cold", "benign", "comment", "", 300),
        ("jailbench", "harmful", "prompt_jailbreak", "A.1", 60),
        ("jailbench", "harmful", "prompt", "A.1", 50),
        ("multijail", "harmful", "prompt", "A.4", 40),
        ("lccc", "benign", "dialogue_turn", "", 2600),
        ("cvalues", "borderline", "prompt", "", 100),
    ):
        for i in range(n):
            text = f"{source}{kind}{i}。"
            rows.append(example(text, label, kind, risk, source, f"{source}{kind}{i}", "train"))
    return rows


def test_off_is_the_plain_build(trainer: ModuleType) -> None:
    rows = _rows(trainer)
    plain, off = trainer.build(rows), trainer.build(rows, form=0.0)
    assert off.texts == plain.texts
    assert np.array_equal(off.weight, plain.weight) and np.array_equal(off.y, plain.y)


def test_each_wrapper_weighs_alike_in_both_classes(trainer: ModuleType) -> None:
    import request_forms

    rows = _rows(trainer)
    n = len(rows)
    data = trainer.build(rows, form=0.5)
    assert len(data.texts) > n
    copies = data.examples[n:]
    assert not any(c.kind.startswith(("comment", "prompt_jailbreak")) for c in copies)
    assert {c.source for c in copies} == {"jailbench", "multijail", "lccc", "cvalues"}
    # Labels follow the originals; the text is the original's inside a wrapper.
    mass: dict[tuple[bool, str], float] = defaultdict(float)
    for copy, y, w in zip(copies, data.y[n:], data.weight[n:], strict=True):
        original = next(r for r in rows if r.group == copy.group)  # type: ignore[attr-defined]
        assert y == trainer.prompt_label(original)
        content = original.text.rstrip("。")  # type: ignore[attr-defined]
        wrapper = next(
            k for k in request_forms.WRAPPERS if copy.text == k.replace("{x}", content)
        )  # raises when none fits
        mass[(copy.label == "harmful", wrapper)] += float(w)
    for k in request_forms.WRAPPERS:
        assert mass[(True, k)] == pytest.approx(mass[(False, k)], rel=1e-9)
        assert mass[(True, k)] > 0
    # The smaller side (harmful direct prompts here) is copied at half its originals' weight.
    harmful_direct = sum(
        float(w)
        for r, w in zip(rows, data.weight[:n], strict=True)
        if r.label == "harmful" and r.kind == "prompt"  # type: ignore[attr-defined]
    )
    total = sum(mass[(True, k)] for k in request_forms.WRAPPERS)
    assert total == pytest.approx(0.5 * harmful_direct, rel=1e-9)


def test_a_large_source_is_sampled_and_keeps_its_mass(trainer: ModuleType) -> None:
    import request_forms

    rows = _rows(trainer)
    n = len(rows)
    data = trainer.build(rows, form=1.0)
    copies = data.examples[n:]
    lccc = [i for i, c in enumerate(copies) if c.source == "lccc"]
    assert len(lccc) == request_forms.FORM_CAP  # 2,600 rows, 2,000 wrapped
    assert len({copies[i].group for i in lccc}) == len(lccc)  # each original once
    # Benign side: the copies of a source carry its share of the side's eligible mass (up to the per-
    # wrapper rescaling, which moves it a little).
    benign_orig: dict[str, float] = defaultdict(float)
    for r, w in zip(rows, data.weight[:n], strict=True):
        if r.label != "harmful" and r.source != "cold":  # type: ignore[attr-defined]
            benign_orig[r.source] += float(w)  # type: ignore[attr-defined]
    benign_copy: dict[str, float] = defaultdict(float)
    for c, w in zip(copies, data.weight[n:], strict=True):
        if c.label != "harmful":
            benign_copy[c.source] += float(w)
    share_orig = benign_orig["lccc"] / sum(benign_orig.values())
    share_copy = benign_copy["lccc"] / sum(benign_copy.values())
    assert share_copy == pytest.approx(share_orig, abs=0.02)


def test_the_copies_are_the_same_on_every_run(trainer: ModuleType) -> None:
    rows = _rows(trainer)
    a, b = trainer.build(rows, form=0.5), trainer.build(rows, form=0.5)
    assert a.texts == b.texts and np.array_equal(a.weight, b.weight)


def test_wrappers_have_one_slot_and_the_probe_says_what_it_is() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import request_forms
    finally:
        sys.path.remove(str(REPO / "scripts"))
    assert len(set(request_forms.WRAPPERS)) == len(request_forms.WRAPPERS) >= 30
    assert all(k.count("{x}") == 1 for k in request_forms.WRAPPERS)
    probe = (REPO / "benchmarks" / "data" / "requests_form_zh.txt").read_text(encoding="utf-8").splitlines()
    header = " ".join(line for line in probe if line.startswith("#"))
    assert "not taken from any data set" in header and "never trained on" in header.lower()
    requests = [line for line in probe if line.strip() and not line.startswith("#")]
    assert len(requests) >= 50
    # The probe is its own text: no probe line is a wrapper (slot empty or not). Common openers (请介绍一下…)
    # occur in both, as in any everyday traffic.
    for k in request_forms.WRAPPERS:
        assert k.replace("{x}", "") not in requests


def test_modes_move_and_keep_preserve_what_they_say(trainer: ModuleType) -> None:
    rows = _rows(trainer)
    n = len(rows)
    plain = trainer.build(rows)
    comment = np.array([r.source == "cold" for r in rows])  # type: ignore[attr-defined]
    harmful = np.array([r.label == "harmful" for r in rows])  # type: ignore[attr-defined]

    moved = trainer.build(rows, form=0.5, form_mode="move")
    # Each side keeps its total weight and the comments theirs: the copies' mass came from the originals.
    for side in (True, False):
        copies = np.array([c.label == "harmful" for c in moved.examples[n:]]) == side
        assert moved.weight[:n][harmful == side].sum() + moved.weight[n:][copies].sum() == pytest.approx(
            plain.weight[harmful == side].sum()
        )
    assert np.array_equal(moved.weight[:n][comment], plain.weight[comment])
    with pytest.raises(ValueError):
        trainer.build(rows, form=1.0, form_mode="move")

    kept = trainer.build(rows, form=0.5, form_mode="keep")
    share_before = plain.weight[comment].sum() / plain.weight.sum()
    assert kept.weight[:n][comment].sum() / kept.weight.sum() == pytest.approx(share_before)
    assert np.array_equal(kept.weight[:n][~comment], plain.weight[~comment])
    added = trainer.build(rows, form=0.5)
    assert np.array_equal(kept.weight[n:], added.weight[n:])
