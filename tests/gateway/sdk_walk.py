"""Walks the official `openai` package's request TypedDicts and response models against a field map.

`uncovered(spec, type)` lists every string field of the SDK type that the map does not declare (so it
would only be caught by the fallback), or declares as something a string cannot be. Literal strings are
enumerated values, not free text, and are not counted.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any

import pydantic
import typing_extensions

from hegui.gateway.fields import Arr, Counts, Either, Kind, Leaf, Map, Obj, Spec, Tagged, Tree

#: Leaf kinds that account for a free string: inspected, or refused/dropped/released by a stated rule.
STRING_KINDS = {Kind.TEXT, Kind.WHOLE, Kind.ENUM, Kind.MODEL, Kind.BINARY, Kind.TOKENS, Kind.REFUSED}
_LISTS = {list, collections.abc.Iterable, collections.abc.Sequence, typing.List}  # noqa: UP006
_WRAPPERS = {
    typing.Required,
    typing.NotRequired,
    typing.Annotated,
    typing_extensions.Required,
    typing_extensions.NotRequired,
    typing_extensions.Annotated,
}


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) in _WRAPPERS:
        tp = typing.get_args(tp)[0]
    return tp


def _fields(tp: Any) -> dict[str, Any] | None:
    """The fields of a TypedDict or a pydantic model, by their JSON names."""
    if typing_extensions.is_typeddict(tp):
        return dict(typing_extensions.get_type_hints(tp, include_extras=True))
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return {(f.alias or name): f.annotation for name, f in tp.model_fields.items()}
    return None


def _is_list(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return (
        origin in _LISTS
        or getattr(origin, "__name__", "") == "SequenceNotStr"
        or (getattr(tp, "__name__", "") == "SequenceNotStr")
    )


def _members(tp: Any) -> list[Any]:
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _members(a)]
    return [tp]


def has_string(tp: Any, seen: frozenset[Any] = frozenset()) -> bool:
    """Whether a free string can occur anywhere in ``tp``."""
    for m in _members(tp):
        if m is str or m is object or m is Any:
            return True
        if typing.get_origin(m) is typing.Literal or m in (int, float, bool, type(None)):
            continue
        if m in seen:
            continue
        fields = _fields(m)
        if fields is not None:
            if any(has_string(f, seen | {m}) for f in fields.values()):
                return True
            continue
        args = typing.get_args(m)
        if typing.get_origin(m) in (dict, typing.Dict, collections.abc.Mapping):  # noqa: UP006
            if args[0] is str or has_string(args[1], seen):
                return True
            continue
        if args and any(has_string(a, seen) for a in args):
            return True
    return False


def _tag_of(tp: Any, tag: str) -> str | None:
    fields = _fields(tp) or {}
    lit = _strip(fields.get(tag)) if tag in fields else None
    if typing.get_origin(lit) in (typing.Union, types.UnionType):  # Optional[Literal["custom"]]
        named = [a for a in typing.get_args(lit) if a is not type(None)]
        lit = named[0] if len(named) == 1 else None
    if lit is not None and typing.get_origin(lit) is typing.Literal and len(typing.get_args(lit)) == 1:
        value = typing.get_args(lit)[0]
        return value if isinstance(value, str) else None
    return None


def uncovered(spec: Spec | None, tp: Any, path: str = "", seen: frozenset[Any] = frozenset()) -> list[str]:
    problems: list[str] = []
    for m in _members(tp):
        problems += _one(spec, m, path, seen)
    return problems


def _one(spec: Spec | None, tp: Any, path: str, seen: frozenset[Any]) -> list[str]:
    if typing.get_origin(tp) is typing.Literal or tp in (int, float, bool, type(None)):
        return []
    if not has_string(tp):
        return []
    if spec is None:
        return [f"{path}: not declared ({tp!r})"]
    if isinstance(spec, Tree | Counts):
        return []  # every string in it is inspected
    if isinstance(spec, Leaf) and spec.kind in (Kind.TOKENS, Kind.REFUSED, Kind.BINARY):
        return []  # the whole value is refused, dropped or handled by its rule
    if isinstance(spec, Either):
        return _either(spec, tp, path, seen)
    if tp is str:
        if isinstance(spec, Leaf) and spec.kind in STRING_KINDS:
            return []
        return [f"{path}: a string, declared as {spec!r}"]
    if tp is object or tp is Any:
        return [f"{path}: free-form, declared as {type(spec).__name__} (needs a Tree)"]
    if tp in seen:
        return []
    fields = _fields(tp)
    if fields is not None:
        return _object(spec, tp, fields, path, seen | {tp})
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (dict, typing.Dict, collections.abc.Mapping):  # noqa: UP006
        if not isinstance(spec, Map):
            return [f"{path}: a mapping, declared as {type(spec).__name__}"]
        out = []
        if args[0] is str and spec.key.kind not in STRING_KINDS | {Kind.TOKEN_ID}:
            out.append(f"{path}{{key}}: a string key, declared as {spec.key!r}")
        return out + uncovered(spec.value, args[1], f"{path}{{value}}", seen)
    if _is_list(tp):
        if not isinstance(spec, Arr):
            return [f"{path}: a list, declared as {type(spec).__name__}"]
        return uncovered(spec.item, args[0], f"{path}[]", seen)
    return [f"{path}: unhandled SDK type {tp!r}"]


def _either(spec: Either, tp: Any, path: str, seen: frozenset[Any]) -> list[str]:
    if tp is str:
        branch = spec.str_
    elif _is_list(tp):
        branch = spec.list_
    elif tp in (int, float, bool):
        branch = spec.num
    else:
        branch = spec.obj
    if branch is None:
        return [f"{path}: {tp!r} has no branch in {spec!r}"]
    return _one(branch, tp, path, seen)


def _object(spec: Spec, tp: Any, fields: dict[str, Any], path: str, seen: frozenset[Any]) -> list[str]:
    if isinstance(spec, Tagged):
        tag = _tag_of(tp, spec.tag)
        chosen = spec.variants.get(tag) if tag is not None else None
        if chosen is None:
            chosen = spec.default
        if chosen is None:
            return [f"{path}: {tp.__name__} (tag {tag!r}) has no variant"]
        return _one(chosen, tp, path, seen - {tp})
    if not isinstance(spec, Obj):
        return [f"{path}: an object ({tp.__name__}), declared as {type(spec).__name__}"]
    out: list[str] = []
    for name, ftp in fields.items():
        sub = f"{path}.{name}" if path else name
        out += uncovered(spec.fields.get(name), ftp, sub, seen)
    return out
