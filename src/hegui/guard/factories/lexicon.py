"""Check type ``lexicon``: a lexicon file matched with evasion-resistant normalization.

Policy example::

    [[checks]]
    name = "keywords"
    type = "lexicon"
    path = "lexicons/keywords.csv"     # plain, tags, csv or xlsx (format guessed from the suffix)
    format = "csv"                     # optional
    tags_file = "sensitive_word_tags.txt"  # optional: categories for a plain list
    tag_map = { "0" = "A.1a", "2" = "A.1f" }   # optional: merged over the default tag map
    allow = ["路口交通"]                # optional allow-listed words
    allow_file = "allow.txt"           # optional
    category_actions = { "A.1f" = "refuse", "A.1h" = "label" }
    max_gap = 3                        # inserted characters tolerated between two term characters
    builtin_allow = true               # also use the bundled context allow-list
    actions_file = "calibration.csv"   # optional: reviewed per-term actions (`hegui lexicon calibrate`)
    tiers_file = "tiers.csv"           # optional: reviewed per-term tiers (`hegui lexicon calibrate --mode tiers`)
    tier_default = "topic"             # tier of a term without one: "red-line", "topic" or "auto"
    word_boundary = true               # short Chinese terms must align with word boundaries (unless red-line)
    segmenter = "rjieba"               # "rjieba", "jieba" or "none"

The lexicon is read once here; `LexiconCheck.lexicon.reload()` reads the same files again (the
actions and tiers files included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hegui.errors import ConfigError
from hegui.guard.checkspec import check_options
from hegui.guard.lexicon.model import DEFAULT_MAX_GAP, DEFAULT_TAG_MAP
from hegui.guard.lexicon.segment import SegmenterName
from hegui.guard.types import Action, Stage
from hegui.taxonomy import is_risk

if TYPE_CHECKING:
    from hegui.guard.checkspec import CheckFactory, CheckPolicy
    from hegui.guard.lexicon.check import LexiconCheck
    from hegui.guard.lexicon.sources import Format
    from hegui.guard.lexicon.tiers import TierDefault


#: The tier of a term that neither the tiers file nor its own action decides (see docs/guard.md).
DEFAULT_TIER: TierDefault = "topic"


def _risk_values(value: Mapping[str, str]) -> Mapping[str, str]:
    for key, risk in value.items():
        if not is_risk(risk):
            raise ValueError(f"{key!r} maps to unknown risk category {risk!r}; expected A.1a … A.5b")
    return value


class LexiconOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    format: Literal["plain", "tags", "csv", "xlsx"] | None = None
    tags_file: str | None = None
    tag_map: dict[str, str] = Field(default_factory=dict)
    category_map: dict[str, str] = Field(default_factory=dict)
    allow: list[str] = Field(default_factory=list)
    allow_file: str | None = None
    category_actions: dict[str, Action] = Field(default_factory=dict)
    max_gap: int = Field(DEFAULT_MAX_GAP, ge=0, le=8)
    builtin_allow: bool = True
    actions_file: str | None = None
    tiers_file: str | None = None
    tier_default: Literal["red-line", "topic", "auto"] = DEFAULT_TIER
    word_boundary: bool = True
    segmenter: Literal["rjieba", "jieba", "none"] = "rjieba"

    @field_validator("tag_map", "category_map")
    @classmethod
    def _maps(cls, value: dict[str, str]) -> dict[str, str]:
        return dict(_risk_values(value))

    @field_validator("category_actions")
    @classmethod
    def _actions(cls, value: dict[str, Action]) -> dict[str, Action]:
        for key in value:
            if not is_risk(key):
                raise ValueError(f"unknown risk category {key!r}; expected A.1a … A.5b")
        return value


def lexicon_check(
    name: str,
    path: Path,
    fmt: Format | None = None,
    *,
    stages: Iterable[Stage] = (Stage.INPUT, Stage.OUTPUT),
    action: Action = Action.REFUSE,
    category: str = "A.1h",
    tags_file: Path | None = None,
    tag_map: Mapping[str, str] | None = None,
    category_map: Mapping[str, str] | None = None,
    allow: Iterable[str] = (),
    allow_file: Path | None = None,
    category_actions: Mapping[str, Action] | None = None,
    max_gap: int = DEFAULT_MAX_GAP,
    builtin_allow: bool = True,
    actions_file: Path | None = None,
    tiers_file: Path | None = None,
    tier_default: TierDefault = DEFAULT_TIER,
    word_boundary: bool = True,
    segmenter_name: SegmenterName = "rjieba",
) -> LexiconCheck:
    """A reloadable lexicon check over files; raises ConfigError on any problem with them."""
    # The engine (numpy, OpenCC, pypinyin) is imported only when a policy actually has a lexicon.
    from hegui.guard.lexicon.cache import cache_file, cache_key
    from hegui.guard.lexicon.check import LexiconCheck, ReloadableLexicon
    from hegui.guard.lexicon.model import Lexicon
    from hegui.guard.lexicon.overrides import apply_overrides, read_overrides
    from hegui.guard.lexicon.segment import WordBoundary, common_words, segmenter
    from hegui.guard.lexicon.sources import load_lexicon
    from hegui.guard.lexicon.tiers import assign_tiers, read_tiers

    tags = DEFAULT_TAG_MAP | dict(tag_map or {})
    allowed = list(allow)
    if segmenter_name == "none":
        if tier_default == "auto":
            raise ConfigError(
                'tier_default "auto" reads word frequencies from a segmenter; segmenter is "none"'
            )
        seg = None
    else:
        try:
            seg = segmenter(segmenter_name)
        except ImportError as exc:
            raise ConfigError(str(exc)) from None
    boundary = WordBoundary(seg) if seg is not None and word_boundary else None
    is_common = common_words(seg) if seg is not None else None

    def load() -> Lexicon:
        lexicon = load_lexicon(
            path,
            fmt,
            category=category,
            tags_file=tags_file,
            tag_map=tags,
            category_map=category_map,
            allow=allowed,
            allow_file=allow_file,
            with_builtin_allow=builtin_allow,
        )
        if actions_file is not None:
            lexicon = apply_overrides(lexicon, read_overrides(actions_file), file=str(actions_file))
        rows = read_tiers(tiers_file) if tiers_file is not None else []
        return assign_tiers(
            lexicon,
            rows,
            default=tier_default,
            is_common=is_common,
            file=str(tiers_file),
        )

    def kept() -> Path | None:
        files = (path, tags_file, allow_file, actions_file, tiers_file)
        options = {
            "format": fmt,
            "category": category,
            "tag_map": sorted(tags.items()),
            "category_map": sorted((category_map or {}).items()),
            "allow": allowed,
            "builtin_allow": builtin_allow,
            "tier_default": tier_default,
            "max_gap": max_gap,
            "word_boundary": word_boundary,
            "segmenter": segmenter_name,
        }
        key = cache_key(files, options)
        return cache_file(path, key) if key is not None else None

    try:
        source = ReloadableLexicon(load, max_gap=max_gap, boundary=boundary, cache=kept)
    except ValueError as exc:
        raise ConfigError(str(exc), file=str(path)) from None
    return LexiconCheck(name, source, stages=stages, action=action, category_actions=category_actions)


def _factory(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> LexiconCheck:

    opts = check_options(LexiconOptions, spec, index, source)

    def resolve(value: str | None) -> Path | None:
        if value is None:
            return None
        p = Path(value)
        return p if p.is_absolute() else base_dir / p

    path = resolve(opts.path)
    assert path is not None
    actions_file = resolve(opts.actions_file)
    tiers_file = resolve(opts.tiers_file)
    try:
        return lexicon_check(
            spec.name,
            path,
            opts.format,
            stages=spec.stages,
            action=spec.action,
            category=spec.category,
            tags_file=resolve(opts.tags_file),
            tag_map=opts.tag_map,
            category_map=opts.category_map,
            allow=opts.allow,
            allow_file=resolve(opts.allow_file),
            category_actions=opts.category_actions,
            max_gap=opts.max_gap,
            builtin_allow=opts.builtin_allow,
            actions_file=actions_file,
            tiers_file=tiers_file,
            tier_default=opts.tier_default,
            word_boundary=opts.word_boundary,
            segmenter_name=opts.segmenter,
        )
    except ConfigError as exc:
        key = "path"
        if actions_file is not None and exc.file == str(actions_file):
            key = "actions_file"
        elif tiers_file is not None and exc.file == str(tiers_file):
            key = "tiers_file"
        elif exc.file is None:
            key = "segmenter"
        raise ConfigError(exc.message, file=source, key=f"checks[{index}].{key}") from None


def check_types() -> dict[str, CheckFactory]:
    return {"lexicon": _factory}
