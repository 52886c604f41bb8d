"""The one featurizer of the judgement models, shared by training (`scripts/train_guard_models.py`) and
inference, so that a model scores at run time exactly as it was trained.

A text is first normalized by `hegui.text.normalize` (full-width, traditional → simplified, homoglyphs,
case, invisible characters and separators dropped, repeated characters collapsed): the evasions the
lexicon folds are folded here too, and a variant of a prompt has the same features as the prompt.

Features are hashed character n-grams (``ngram_min`` … ``ngram_max``) of the normalized code points,
computed with numpy over the whole code-point array (one array operation per n, never one Python step per
n-gram), each hashed into ``2**buckets_log2`` buckets. A feature's value is its count in the window divided
by the square root of the number of n-gram positions of the window (length scaling, so a long text does not
score higher for being long).

**Windows.** A long text is scored in overlapping windows of ``window`` normalized characters, moving by
``stride``; a model takes the highest-scoring window, so one harmful sentence in a long prompt is not
diluted by the rest. Texts no longer than a window are one window. With ``sentences`` on, in a text
longer than one window each sentence of the original text (ended by 。！？；!?; … or a newline; the normalizer drops these marks, so they are found
first) is a window of its own as well: a harmful sentence between harmless ones is judged alone rather
than with 60 characters of harmless neighbours that pull its score down. Training cuts its texts into the same
windows (each window keeps its text's label, weighted 1/number of windows), so train and run time see the
same kind of input. ``head`` (0 = off) keeps only the first ``head`` normalized characters: the answer
model uses it, because a refusal shows at the start of an answer. Counts rather than binary values make
every window's score a difference of two cumulative sums over per-position weights: O(length) for any
number of windows, no sort per window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import ahocorasick_rs
import numpy as np
import numpy.typing as npt

from hegui.text.normalize import NormalizedText, default_normalizer

Buckets = npt.NDArray[np.int64]
Index = npt.NDArray[np.intp]

#: Hash constants (FNV-1a style on 64-bit code points, then a multiplicative finalizer).
_FNV_PRIME = np.uint64(0x100000001B3)
_SEEDS = tuple(np.uint64(0xCBF29CE484222325 ^ (n * 0x9E3779B97F4A7C15 % (1 << 64))) for n in range(9))
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: The seeds as a column, one row per n-gram length (row n is ``_SEEDS[n]``), for one mixing step over all.
_SEED_COLUMNS = np.array(_SEEDS, dtype=np.uint64)[:, None]
#: The constants as 0-d arrays: a ufunc takes one in about half the time it takes to convert a scalar.
_SEED0_0D = np.array(_SEEDS[0], dtype=np.uint64)
_FNV_PRIME_0D = np.array(_FNV_PRIME, dtype=np.uint64)
_GOLDEN_0D = np.array(_GOLDEN, dtype=np.uint64)
_SHIFTS_0D = tuple(np.array(64 - b, dtype=np.uint64) for b in range(33))


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """How texts become features; stored in every artifact and checked on load."""

    ngram_min: int = 1
    ngram_max: int = 4
    #: The n-gram hash ids are ``buckets_log2`` bits: a dense model's rows (at most 24 bits), or the id
    #: space of a model with an explicit vocabulary (up to 32 bits: `hegui.guard.judge.idtable`).
    buckets_log2: int = 18
    window: int = 128
    stride: int = 64
    head: int = 0
    #: Sentence windows: every sentence (ended by 。！？；!?; … or a newline in the original text) of at
    #: least this many normalized characters is a window of its own as well. 0 = off.
    sentences: int = 0
    #: 1 = n-grams that touch a question or request frame (`FRAMES`: 如何, 怎么, 请问, 告诉我, …) are not
    #: features. 0 = off (older artifacts).
    frames: int = 0
    #: A single character's value, in percent of a longer n-gram's (100 = the same, as in older
    #: artifacts). Below 100 the model leans on character pairs and longer n-grams: a lone character
    #: (和, 在, 毒, 杀) says more about a data set's register and topic than about a request's intent,
    #: and what it learns from one set's style does not carry to text of another style
    #: (docs/guard-models.md, "Issue 10: single characters weigh less"). The window's denominator still
    #: counts every n-gram, so this only changes what a character adds.
    unigram_weight: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.ngram_min <= self.ngram_max <= 8:
            raise ValueError(f"bad n-gram range {self.ngram_min}..{self.ngram_max}")
        if not 10 <= self.buckets_log2 <= 32:
            raise ValueError(f"buckets_log2 must be 10..32, got {self.buckets_log2}")
        if not 8 <= self.window <= 100_000 or not 1 <= self.stride <= self.window:
            raise ValueError(f"bad window {self.window} / stride {self.stride}")
        if self.head < 0 or self.sentences < 0:
            raise ValueError("head and sentences must be >= 0")
        if self.frames not in (0, 1):
            raise ValueError(f"frames must be 0 or 1, got {self.frames}")
        if not 0 <= self.unigram_weight <= 100:
            raise ValueError(f"unigram_weight must be 0..100 (percent), got {self.unigram_weight}")

    @property
    def buckets(self) -> int:
        return 1 << self.buckets_log2

    def order_scale(self) -> npt.NDArray[np.float32] | None:
        """Each n-gram length's factor (``ngram_min`` … ``ngram_max``), or None when every length counts
        fully (then no multiplication is done at all)."""
        if self.unigram_weight == 100 or self.ngram_min > 1:
            return None
        scale = np.ones(self.ngram_max - self.ngram_min + 1, dtype=np.float32)
        scale[0] = self.unigram_weight / 100
        return scale

    def to_json(self) -> dict[str, int]:
        data = asdict(self)
        if self.unigram_weight == 100:  # as artifacts wrote it before the setting: their versions hold
            del data["unigram_weight"]
        return data

    @classmethod
    def from_json(cls, data: Any) -> FeatureConfig:
        if not isinstance(data, dict):
            raise ValueError("feature config is not an object")
        return cls(**{k: int(v) for k, v in data.items()})


@dataclass(frozen=True, slots=True)
class Window:
    """A window ``[start, end)`` over the normalized text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Features:
    """The featurized text.

    ``buckets[i, j]`` is the bucket of the n-gram of length ``ngram_min + j`` starting at normalized
    position ``i``; ``valid[i, j]`` says whether that n-gram fits in the text. A window's features are the
    valid buckets of its rows, each worth ``1 / sqrt(number of valid entries in those rows)``.
    """

    normalized: NormalizedText
    buckets: Buckets
    valid: npt.NDArray[np.bool_]
    #: The windows as two arrays (start and end of each, over the normalized text).
    starts: Index
    ends: Index

    @property
    def windows(self) -> tuple[Window, ...]:
        return tuple(Window(int(a), int(b)) for a, b in zip(self.starts, self.ends, strict=True))

    def window_rows(self, window: Window) -> tuple[Buckets, float]:
        """The bucket indices of one window (repeats kept: they add up) and the value of each, before
        `window_values`' factor per n-gram length."""
        rows = self.buckets[window.start : window.end]
        ok = self.valid[window.start : window.end]
        idx = rows[ok]
        return idx, (1.0 / float(np.sqrt(len(idx))) if len(idx) else 0.0)

    def window_values(self, window: Window, config: FeatureConfig) -> tuple[Buckets, npt.NDArray[np.float32]]:
        """`window_rows` with each n-gram's own value: ``1 / sqrt(n)`` times its length's factor
        (`FeatureConfig.order_scale`); what a model trains on and scores by."""
        idx, value = self.window_rows(window)
        values = np.full(len(idx), value, dtype=np.float32)
        scale = config.order_scale()
        if scale is not None:
            ok = self.valid[window.start : window.end]
            values *= scale[np.nonzero(ok)[1]]
        return idx, values

    def ngram(self, position: int, column: int, config: FeatureConfig) -> str:
        """The normalized n-gram at ``buckets[position, column]``, for explanations."""
        n = config.ngram_min + column
        return self.normalized.text[position : position + n]


#: Question and request frames, in the normalizer's folded form. Harmful and harmless requests share
#: them ("如何制作炸弹", "如何制作蛋糕"), and in the training data the harmful prompts are questions far
#: more often than the harmless texts (dialogue turns, comments): a model that sees them learns that
#: asking "how" is harmful. With ``frames`` on, no n-gram that touches one is a feature, so the content
#: of a request decides, not its form.
FRAMES: tuple[str, ...] = (
    "如何",
    "怎么样",
    "怎么",
    "怎样",
    "为什么",
    "为何",
    "什么",
    "请问",
    "请你",
    "请帮我",
    "帮我",
    "帮忙",
    "告诉我",
    "能否",
    "能不能",
    "可不可以",
    "可以",
    "是否",
    "哪些",
    "哪里",
    "哪个",
    "有没有",
    "吗",
    "呢",
    "方法",
    "步骤",
    "教程",
    "指南",
    "技巧",
    "建议",
    "我想",
    "我要",
    "想要",
    "需要",
    "应该",
)


_FRAME_AUTOMATON = ahocorasick_rs.AhoCorasick(FRAMES)  # every occurrence, overlapping ones too


def frame_mask(text: str) -> npt.NDArray[np.bool_]:
    """True at every position of ``text`` covered by a frame (see `FRAMES`): one pass of an automaton
    over the text, not one search per frame."""
    return _cover(_FRAME_AUTOMATON.find_matches_as_indexes(text, overlapping=True), len(text))


def _cover(matches: list[tuple[int, int, int]], length: int) -> npt.NDArray[np.bool_]:
    """True at every position of one of the ``matches`` (automaton matches: pattern, start, end)."""
    if not matches:
        return np.zeros(length, dtype=bool)
    spans = np.array(matches, dtype=np.intp).reshape(-1, 3)
    edges = np.bincount(spans[:, 1], minlength=length + 1) - np.bincount(spans[:, 2], minlength=length + 1)
    return np.cumsum(edges[:length]) > 0


#: What ends a sentence in the original text (the normalizer drops these, so they are found before it).
SENTENCE_ENDS = "。！？；!?;…\n"
_IS_END = np.zeros(0x110000, dtype=bool)
_IS_END[[ord(c) for c in SENTENCE_ENDS]] = True


#: Up to this many sentence ends `windows_of` lists the windows in Python (a prompt of a few hundred
#: characters: cheaper than its dozen array operations); above it, with array operations.
WINDOWS_LISTED = 32


def windows_of(length: int, config: FeatureConfig, ends: Index | None = None) -> tuple[Index, Index]:
    """Sliding windows over ``length`` normalized characters, then, for a text longer than one window,
    the sentence windows (``ends``: sorted normalized positions where a sentence ends) that are long enough
    and not already a window. A text of one window is judged whole, as most training texts are.
    Returns the starts and the ends, in that order (sliding first)."""
    if length <= config.window:
        return np.zeros(1, dtype=np.intp), np.array((length,), dtype=np.intp)
    if ends is None or len(ends) <= WINDOWS_LISTED:
        return windows_listed(length, config, ends)
    return windows_arrays(length, config, ends)


def windows_listed(length: int, config: FeatureConfig, ends: Index | None) -> tuple[Index, Index]:
    """`windows_of` for a text longer than one window, one sentence at a time in Python."""
    window, stride = config.window, config.stride
    last = length - window
    starts = [*range(0, last, stride), last]
    stops = [start + window for start in starts]
    if config.sentences and ends is not None and len(ends):
        previous = 0
        for end_mark in (*ends.tolist(), length):
            mark = min(end_mark, length)
            end = min(mark, previous + window)
            # Dropped when too short or a sliding window already (see `windows_arrays`).
            sliding = end - previous == window and (
                (previous % stride == 0 and previous < last) or previous == last
            )
            if end - previous >= config.sentences and not sliding:
                starts.append(previous)
                stops.append(end)
            previous = mark
    return np.array(starts, dtype=np.intp), np.array(stops, dtype=np.intp)


def windows_arrays(length: int, config: FeatureConfig, ends: Index | None) -> tuple[Index, Index]:
    """`windows_of` for a text longer than one window, with array operations (many sentences)."""
    last = length - config.window
    starts = np.append(np.arange(0, last, config.stride, dtype=np.intp), last)
    stops = starts + config.window
    if config.sentences and ends is not None and len(ends):
        marks = np.minimum(np.append(ends, length), length)
        s_start = np.concatenate([np.zeros(1, dtype=np.intp), marks[:-1]])
        s_end = np.minimum(marks, s_start + config.window)
        # Sentence windows have distinct starts (ends are distinct); one is dropped when it is too short
        # or when it is a sliding window already (full width, at a stride step or at the last start).
        full = s_end - s_start == config.window
        sliding = full & (((s_start % config.stride == 0) & (s_start < last)) | (s_start == last))
        keep = (s_end - s_start >= config.sentences) & ~sliding
        starts = np.concatenate([starts, s_start[keep]])
        stops = np.concatenate([stops, s_end[keep]])
    return starts, stops


def sentence_ends(normalized: NormalizedText) -> Index:
    """Normalized positions at which a sentence of the original text ends (sorted, distinct)."""
    original = np.frombuffer(normalized.original.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    marks = _IS_END[original].nonzero()[0]
    kept_before = normalized.kept.searchsorted(marks)  # kept characters before each mark
    runs_before = normalized.first.searchsorted(kept_before)  # normalized characters before it
    # Sorted already (marks are), so distinct values are where the value changes (np.unique sorts again).
    change = np.ones(len(runs_before), dtype=bool)
    change[1:] = runs_before[1:] != runs_before[:-1]
    distinct: Index = runs_before[change]
    return distinct


def codes_of(normalized: str) -> npt.NDArray[np.uint64]:
    return np.frombuffer(normalized.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


#: Up to this many frame occurrences `featurize` marks their positions with one slice each (a chat prompt
#: holds a few frames, and a slice costs less than an array operation); above it, with `frame_mask`.
_FRAME_SLICES = 32


def featurize(text: str, config: FeatureConfig) -> Features:
    """Normalize ``text`` and hash its n-grams (see the module doc).

    Written for few numpy calls per text (each costs about a microsecond whatever its size, and a chat
    prompt is 20 to 300 characters): the running hashes of every n-gram length are rows of one array,
    mixed into buckets by three whole-array operations, and the frames are cut out by slices."""
    normalized = default_normalizer().normalize(text)
    codes = normalized.codes
    if config.head:
        codes = codes[: config.head]
    length = len(codes)
    lo, hi = config.ngram_min, config.ngram_max
    width = hi - lo + 1
    # Row n - 1 of ``hashes`` is the running hash of codes[i : i + n]; past i = length - n the row holds
    # hashes of the zero padding, which are not n-grams of the text (marked invalid, their buckets 0).
    # (uint64 codes: a ufunc that mixes uint64 with uint32 casts on every call.)
    padded = np.zeros(length + hi - 1, dtype=np.uint64)
    padded[:length] = codes
    hashes = np.empty((hi, length), dtype=np.uint64)
    previous = _SEED0_0D
    for n in range(1, hi + 1):
        row = hashes[n - 1]
        np.bitwise_xor(previous, padded[n - 1 : n - 1 + length], out=row)
        np.multiply(row, _FNV_PRIME_0D, out=row)
        previous = row
    mixed = hashes[lo - 1 :]
    np.bitwise_xor(mixed, _SEED_COLUMNS[lo : hi + 1], out=mixed)
    np.multiply(mixed, _GOLDEN_0D, out=mixed)
    np.right_shift(mixed, _SHIFTS_0D[config.buckets_log2], out=mixed)
    # Below 2**32: the same values as int64. A length's entries past its last n-gram are 0.
    buckets = mixed.view(np.int64)
    for j in range(width):
        buckets[j, max(length - lo - j + 1, 0) :] = 0
    valid = _valid_ngrams(normalized.text[:length] if config.frames else None, length, lo, hi)
    ends = sentence_ends(normalized) if config.sentences and length > config.window else None
    starts, stops = windows_of(length, config, ends)
    # Stored one n-gram length per row ([width x length], each row contiguous) and handed out transposed
    # ([length x width] views): reading one length at a time is then a contiguous pass.
    return Features(normalized, buckets.T, valid.T, starts, stops)


def _valid_ngrams(text: str | None, length: int, ngram_min: int, ngram_max: int) -> npt.NDArray[np.bool_]:
    """``[lengths x positions]``: whether the n-gram of each length at each position is a feature: it
    fits in the text and (with ``text`` given, the frames on) touches no frame occurrence.

    One boolean array ``blocked`` marks the positions an n-gram must not cover: those past the end and,
    for frames, every position of an occurrence. The n-gram of length n at i is blocked when one of
    ``blocked[i : i + n]`` is, which is the one of length n - 1 at i or-ed with ``blocked[i + n - 1]``: one
    array operation per length, for the end and the frames alike."""
    blocked = np.zeros(length + ngram_max - 1, dtype=bool)
    blocked[length:] = True
    if text:
        matches = _FRAME_AUTOMATON.find_matches_as_indexes(text, overlapping=True)
        if len(matches) <= _FRAME_SLICES:
            for _, start, end in matches:
                blocked[start:end] = True
        else:
            blocked[:length] = _cover(matches, length)
    touched = np.empty((ngram_max, length), dtype=bool)
    touched[0] = blocked[:length]
    for n in range(2, ngram_max + 1):
        np.logical_or(touched[n - 2], blocked[n - 1 : n - 1 + length], out=touched[n - 1])
    return np.logical_not(touched[ngram_min - 1 :])
