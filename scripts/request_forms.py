"""Request-form augmentation for the harmful-request model (issue 10, 2026-12-01; an option of
``scripts/train_guard_models.py``, ``--form-augment``).

Why: the benign training texts are dialogue turns, comments, travel questions and safety-knowledge
questions; almost none is a request addressed to an assistant, while nearly all harmful prompts are. So
the *form* of an assistant request ("你能…", "帮我写一…", "请总结…") reads as harmful. Here the same forms
are shown around content of both classes: fitting prompts of both classes are copied inside generic
request wrappers, and each wrapper carries the same total weight in "none" as in "harmful", so that a
wrapper's n-grams carry no class signal and the content decides.

The wrappers below are the project's own text, written by the team for this purpose (not taken from any
data set and not from any probe). They cover the usual kinds of assistant traffic: polite openers and
"can you" questions, writing, explaining, summarizing, translating and rewriting, code, and instruction
prefixes.

What is wrapped (the calibration part and dev never are: the caller passes the fitting rows only):

* **harmful**: the direct prompts of every harmful prompt source (kind ``prompt``; jade-db, JailBench
  seeds, AISafetyLab, MultiJail, XSafety, JoySafety). Not the jailbreak-wrapped prompts: they already
  carry a long form of their own (a role play, a template) around a seed whose direct form is among the
  direct prompts, and an outer wrapper would sit in one of their two or three windows only. Not the
  comments (COLD, SWSR, SafetyBench), on either side: comments are not requests.
* **none**: the benign and borderline prompts, questions, dialogue turns and CrossWOZ answers (every
  benign source except the comment sources).

At most ``FORM_CAP`` rows of a source are wrapped (a seeded sample); each copy then stands for
``size / sampled`` originals, so a source's copies carry the mass of its originals. Each side's copies
weigh ``share`` times the smaller side's wrapped originals in all (the larger side's copies are scaled
down to the same total), split equally over the wrappers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Generic requests to an assistant with one slot. Team-written (see the module docstring).
WRAPPERS: tuple[str, ...] = (
    # polite openers and "can you"
    "请帮我{x}",
    "你能{x}吗？",
    "你可以帮我{x}吗？",
    "我想问一下，{x}",
    "麻烦你{x}",
    "以下是我的问题：{x}",
    "你好，{x}",
    "问个问题：{x}",
    "能不能{x}？",
    "{x}，请详细说一说。",
    "{x}，谢谢！",
    "{x}？你怎么看？",
    # writing
    "写一篇关于{x}的短文。",
    "帮我写一段话：{x}",
    "请以“{x}”为题写一篇文章。",
    "写一个故事，内容是：{x}",
    "帮我写一封信，主要说{x}",
    "请就{x}写几句话。",
    "围绕{x}写一段文字，三百字以内。",
    # explaining
    "请用简单的话解释：{x}",
    "请解释一下：{x}",
    "给我讲讲{x}",
    "请介绍一下{x}",
    "{x}是什么意思？请说明。",
    "请分析一下{x}",
    "帮我理解一下{x}",
    # summarizing
    "请总结下面的内容：{x}",
    "概括一下这段话的意思：{x}",
    "下面这段文字的要点是什么？{x}",
    "用一句话总结：{x}",
    # translating and rewriting
    "请把下面这句话翻译成英文：{x}",
    "翻译成中文：{x}",
    "把这句话改写得更通顺：{x}",
    "请润色以下内容：{x}",
    # code
    "写一个Python函数，{x}",
    "用代码实现：{x}",
    "请给出相关代码：{x}",
    # instruction prefixes
    "任务：{x}",
    "指令：{x}\n请回答。",
    "请回答下面的问题：{x}",
    "问题：{x}\n回答：",
    "请一步一步地回答：{x}",
    "作为一个AI助手，请回答：{x}",
    "你是一个有帮助的助手。{x}",
    "请列出几点：{x}",
    "我需要你的帮助：{x}",
    "{x}（请用中文回答）",
    "请给我一些建议：{x}",
)
#: The seed of the sample and of the wrapper assignment (fixed: the same copies on every run).
FORM_SEED = 20261201
#: At most this many rows of one source are wrapped.
FORM_CAP = 2000
#: Sources of comments: wrapped on neither side.
COMMENT_SOURCES = ("cold", "swsr", "safetybench")
#: How the copies' weight enters: added on top, moved from their originals, or added with the comments
#: scaled up to keep their share (`form_copies`).
FORM_MODES = ("add", "move", "keep")
#: Trailing punctuation removed from a text before it goes into a slot (the wrapper brings its own).
_TRAILING = "。？?！!.，,；; \t\n"


@dataclass(frozen=True, slots=True)
class FormCopies:
    """The wrapped copies: each copy's text, its original's row, the wrapper used and its weight; and the
    factor by which each original's weight is multiplied (1 in mode ``add``, see `form_copies`)."""

    texts: list[str]
    source_row: np.ndarray
    wrapper: np.ndarray
    weight: np.ndarray
    original_scale: np.ndarray


def eligible(label: str, kind: str, source: str) -> bool:
    """Whether a fitting row of this label, kind and source is wrapped (see the module docstring)."""
    if source in COMMENT_SOURCES or kind in ("comment", "prompt_jailbreak"):
        return False
    return kind == "prompt" if label == "harmful" else True


def wrap(wrapper: str, text: str) -> str:
    return wrapper.replace("{x}", text.strip().rstrip(_TRAILING) or text.strip())


def form_copies(
    labels: Sequence[str],
    kinds: Sequence[str],
    sources: Sequence[str],
    texts: Sequence[str],
    weights: np.ndarray,
    share: float,
    wrappers: Sequence[str] = WRAPPERS,
    cap: int = FORM_CAP,
    seed: int = FORM_SEED,
    mode: str = "add",
) -> FormCopies:
    """Wrapped copies of the eligible rows (``weights``: the originals' training weights). Side
    "harmful" = label harmful, side "none" = benign and borderline. Each (side, wrapper) cell carries
    ``share * min(eligible mass of either side) / len(wrappers)``; inside a cell the copies share it by
    their originals' weight times ``size / sampled`` of their source.

    ``mode``: ``add``: the copies are added on top (every other row's share of the total falls a little);
    ``move``: the copies' mass is taken from the eligible originals of their side (each side's eligible
    originals are scaled by ``1 - copies' mass / their mass``; ``share`` below 1), so every side and the
    comments keep their weight; ``keep``: added, and the comment rows (both sides) are scaled up so that
    the comments keep their share of the total weight (``1 + copies' mass / non-comment mass``)."""
    if mode not in FORM_MODES:
        raise ValueError(f"form mode must be one of {FORM_MODES}")
    unchanged = np.ones(len(texts))
    if share <= 0:
        return FormCopies([], np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0), unchanged)
    if mode == "move" and share >= 1:
        raise ValueError("a moved share must be below 1")
    rng = np.random.default_rng(seed)
    by_key: dict[tuple[bool, str], list[int]] = defaultdict(list)
    for i, (label, kind, source) in enumerate(zip(labels, kinds, sources, strict=True)):
        if eligible(label, kind, source):
            by_key[(label == "harmful", source)].append(i)
    rows: list[int] = []
    pre: list[float] = []
    side: list[bool] = []
    wrapper: list[int] = []
    mass = {True: 0.0, False: 0.0}
    next_wrapper = {True: 0, False: 0}
    for (harmful, _source), members in sorted(by_key.items()):
        idx = np.array(members)
        mass[harmful] += float(weights[idx].sum())
        picked = idx if len(idx) <= cap else np.sort(rng.choice(idx, cap, replace=False))
        scale = len(idx) / len(picked)
        for i in rng.permutation(picked):
            rows.append(int(i))
            pre.append(float(weights[i]) * scale)
            side.append(harmful)
            wrapper.append(next_wrapper[harmful] % len(wrappers))
            next_wrapper[harmful] += 1
    if not rows:
        return FormCopies([], np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0), unchanged)
    row_a, pre_a, side_a, wrap_a = np.array(rows), np.array(pre), np.array(side), np.array(wrapper)
    cell_total = share * min(mass.values()) / len(wrappers)
    weight = np.zeros(len(rows))
    for harmful in (True, False):
        for k in range(len(wrappers)):
            cell = (side_a == harmful) & (wrap_a == k)
            if cell.any():
                weight[cell] = pre_a[cell] / pre_a[cell].sum() * cell_total
    scale = unchanged.copy()
    if mode == "move":
        for (harmful, _source), members in by_key.items():
            scale[members] = 1.0 - cell_total * len(wrappers) / mass[harmful]
    elif mode == "keep":
        comment = np.array([source in COMMENT_SOURCES for source in sources])
        scale[comment] = 1.0 + float(weight.sum()) / float(weights[~comment].sum())
    return FormCopies(
        [wrap(wrappers[k], texts[i]) for i, k in zip(rows, wrapper, strict=True)],
        row_a,
        wrap_a,
        weight,
        scale,
    )
