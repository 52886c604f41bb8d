"""Where the text is in a request or an answer: a small language for declaring every field, and its walk.

A *field map* (see fieldmap.py) declares, per endpoint, what each field of the request and of the answer
is: text to inspect, an identifier inspected whole, an enumerated value, a number, binary data, a
token-level echo (logprobs), or something hegui cannot inspect (refused). The walk applies a map to a
JSON body and lists the texts to inspect, each with its path and a setter (masking rewrites in place).

A field the map does not declare, or a value whose JSON type the map does not expect, is never passed on
unseen: the fallback inspects every string in it (and every key of its objects) as text; in a request, a
list of integers in such a field is refused, because it may be token ids, which hegui cannot read.

This module knows nothing of HTTP; it raises `FieldRefused`, which the routes turn into a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Segment = str | int
Path = tuple[Segment, ...]


class Kind(StrEnum):
    """What a leaf field is, and so what the gateway does with it."""

    TEXT = "text"  # inspected; masked in place; streamed through a StreamInspector per (choice, field)
    WHOLE = "whole"  # inspected as one piece (identifiers, keys): also in streams, chunk by chunk
    ENUM = "enum"  # a known value passes as it is; any other string is inspected whole
    MODEL = "model"  # the request's model name: must be routed by the policy (else 404)
    NUMBER = "number"  # numbers, booleans, null: no text
    BINARY = "binary"  # base64 data (images, audio, embeddings): not text; its own rule (media, audio)
    TOKENS = "tokens"  # token-level echoes (logprobs): dropped or released by the [gateway] policy
    TOKEN_ID = "token_id"  # a key that must be a token id (digits), as in logit_bias; else refused
    REFUSED = "refused"  # content hegui cannot inspect (image/audio/file parts, token arrays): 400


class FieldRefused(Exception):
    """A request field holds content hegui cannot inspect."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Leaf:
    kind: Kind
    values: frozenset[str] = frozenset()  # ENUM: the values that pass as they are
    reason: str = ""  # REFUSED / BINARY / TOKENS: why, for the 400 message and the docs


@dataclass(frozen=True, slots=True)
class Obj:
    """A JSON object with declared fields; undeclared ones go to the fallback."""

    fields: Mapping[str, Spec]


@dataclass(frozen=True, slots=True)
class Arr:
    """A JSON array. ``index_key``: the items carry their own index (choices, streamed tool calls), which
    names them in paths, so that the pieces of one item in successive chunks share a path."""

    item: Spec
    index_key: str | None = None


@dataclass(frozen=True, slots=True)
class Map:
    """A JSON object with free keys (metadata, logit_bias): keys and values each have a spec."""

    key: Leaf
    value: Spec


@dataclass(frozen=True, slots=True)
class Either:
    """A field that may be a string, a list, an object or a number (``content``: string or parts)."""

    str_: Spec | None = None
    list_: Spec | None = None
    obj: Spec | None = None
    num: Spec | None = None


@dataclass(frozen=True, slots=True)
class Tagged:
    """Objects told apart by a tag field (``type``): one spec per tag; ``default`` for other tags."""

    tag: str
    variants: Mapping[str, Spec]
    default: Spec | None = None  # None: the fallback (every string inspected)


@dataclass(frozen=True, slots=True)
class Tree:
    """Free-form JSON (JSON schemas, tool formats): every string and every key in it is text."""

    why: str = ""


@dataclass(frozen=True, slots=True)
class Counts:
    """Token counts (``usage``): numbers, in objects nested to any depth. Keys that are snake_case
    names (``prompt_tokens``, ``cached_tokens``: vendors add their own) are taken as names and not run
    through the checks, which would otherwise see a dozen of them with every answer; any other key and
    any string value is inspected."""


Spec = Leaf | Obj | Arr | Map | Either | Tagged | Tree | Counts

TEXT = Leaf(Kind.TEXT)
WHOLE = Leaf(Kind.WHOLE)
NUM = Leaf(Kind.NUMBER)
MODEL = Leaf(Kind.MODEL)


def enum(*values: str) -> Leaf:
    return Leaf(Kind.ENUM, frozenset(values))


def refused(reason: str) -> Leaf:
    return Leaf(Kind.REFUSED, reason=reason)


def binary(reason: str) -> Leaf:
    return Leaf(Kind.BINARY, reason=reason)


def tokens(reason: str) -> Leaf:
    return Leaf(Kind.TOKENS, reason=reason)


def obj(**fields: Spec) -> Obj:
    return Obj(fields)


# -- the walk ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Text:
    """One string to inspect: where it is, what it says, how to replace it."""

    path: Path
    text: str
    set: Callable[[str], None]
    kind: Kind  # TEXT or WHOLE
    declared: bool = True  # False: found by the fallback (the map does not know the field)


@dataclass(slots=True)
class Echo:
    """A token-level echo (a ``logprobs`` object) and how to replace it."""

    path: Path
    value: Any
    set: Callable[[Any], None]


@dataclass(slots=True)
class Walk:
    texts: list[Text] = field(default_factory=list)
    echoes: list[Echo] = field(default_factory=list)
    binaries: list[Path] = field(default_factory=list)


def render(path: Path) -> str:
    """``("messages", 0, "content")`` → ``messages[0].content``."""
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out


def _item_setter(container: Any, key: Any) -> Callable[[Any], None]:
    def set_(value: Any) -> None:
        container[key] = value

    return set_


def _key_setter(container: dict[str, Any], old: str) -> Callable[[str], None]:
    def set_(new: str) -> None:
        if new == old:
            return
        items = list(container.items())
        container.clear()
        container.update((new if k == old else k, v) for k, v in items)

    return set_


class Walker:
    """Applies a spec to a JSON value. ``request``: refusals raise (the request is a 400).

    Texts are listed in the body's order, an object's keys after its values; apply their setters in
    that order (a key's setter renames the key).
    """

    def __init__(self, *, request: bool, known: frozenset[str] = frozenset()) -> None:
        self.request = request
        self.known = known  # identifiers that are hegui's or the operator's own (response id, model)
        self.out = Walk()

    def walk(self, spec: Spec, value: Any, path: Path, set_: Callable[[Any], None]) -> None:
        if value is None:
            return None
        if type(spec) is Leaf:
            self._leaf(spec, value, path, set_)
        elif type(spec) is Obj:
            if not isinstance(value, dict):
                return self.fallback(value, path, set_)
            fields = spec.fields
            for key, item in value.items():
                sub = fields.get(key)
                if sub is None:
                    self.fallback(item, (*path, key), _item_setter(value, key))
                    self._key(value, key, path)
                    continue
                # fast paths (every stream chunk is walked): nulls, numbers and known enum values under
                # plain leaves carry no text; a text leaf holding a string needs no dispatch
                if item is None:
                    continue
                if type(sub) is Leaf:
                    kind, item_type = sub.kind, type(item)
                    if item_type is str:
                        if kind is Kind.TEXT:
                            self.out.texts.append(Text((*path, key), item, _item_setter(value, key), kind))
                            continue
                        if kind is Kind.ENUM and item in sub.values:
                            continue
                    elif item_type in _NUMBERS and kind in _PLAIN:
                        continue
                self.walk(sub, item, (*path, key), _item_setter(value, key))
        elif isinstance(spec, Arr):
            if not isinstance(value, list):
                return self.fallback(value, path, set_)
            for i, item in enumerate(value):
                name = i
                if spec.index_key and isinstance(item, dict) and type(item.get(spec.index_key)) is int:
                    name = item[spec.index_key]
                self.walk(spec.item, item, (*path, name), _item_setter(value, i))
        elif isinstance(spec, Map):
            if not isinstance(value, dict):
                return self.fallback(value, path, set_)
            # values before keys: a key's setter renames it, which the values' setters must not see
            for key, item in value.items():
                self.walk(spec.value, item, (*path, key), _item_setter(value, key))
            for key in list(value):
                self._leaf(spec.key, key, (*path, key), _key_setter(value, key), is_key=True)
        elif isinstance(spec, Either):
            branch = _branch(spec, value)
            if branch is None:
                return self.fallback(value, path, set_)
            self.walk(branch, value, path, set_)
        elif isinstance(spec, Tagged):
            if not isinstance(value, dict):
                return self.fallback(value, path, set_)
            tag = value.get(spec.tag)
            variant = spec.variants.get(tag) if isinstance(tag, str) else None
            chosen = variant if variant is not None else spec.default
            if chosen is None:
                return self.fallback(value, path, set_)
            self.walk(chosen, value, path, set_)
        elif isinstance(spec, Counts):
            self._counts(value, path, set_)
        else:  # Tree
            self.fallback(value, path, set_, declared=True)
        return None

    def _counts(self, value: Any, path: Path, set_: Callable[[Any], None]) -> None:
        if not isinstance(value, dict):
            return self.fallback(value, path, set_, declared=True)
        for key, item in value.items():
            if isinstance(item, dict):
                self._counts(item, (*path, key), _item_setter(value, key))
            elif not _settled(NUM, item):
                self.fallback(item, (*path, key), _item_setter(value, key), declared=True)
        for key in list(value):
            if not _COUNT_NAME.fullmatch(key):
                self._key(value, key, path)
        return None

    def _leaf(
        self, spec: Leaf, value: Any, path: Path, set_: Callable[[Any], None], *, is_key: bool = False
    ) -> None:
        kind = spec.kind
        if kind == Kind.REFUSED:
            self._refuse(path, spec.reason)
        elif kind == Kind.TOKENS:
            self.out.echoes.append(Echo(path, value, set_))
        elif kind == Kind.BINARY:
            if isinstance(value, str):
                self.out.binaries.append(path)
            else:
                self.fallback(value, path, set_)
        elif kind == Kind.TOKEN_ID:
            if not (isinstance(value, str) and value.isascii() and value.isdigit()):
                self._refuse(path, "must be a token id (digits)")
        elif not isinstance(value, str):
            self.fallback(value, path, set_)
        elif kind == Kind.TEXT:
            self.out.texts.append(Text(path, value, set_, Kind.WHOLE if is_key else Kind.TEXT))
        elif value in self.known and kind in (Kind.WHOLE, Kind.MODEL):
            return
        elif (
            (kind in (Kind.WHOLE, Kind.MODEL) and not (kind == Kind.MODEL and self.request))
            or (kind == Kind.ENUM and value not in spec.values)
            or kind == Kind.NUMBER
        ):
            self.out.texts.append(Text(path, value, set_, Kind.WHOLE))

    def _key(self, container: dict[str, Any], key: str, path: Path) -> None:
        """An undeclared key is text too (it may carry words: ``{"…": 1}``)."""
        self.out.texts.append(Text((*path, key), key, _key_setter(container, key), Kind.WHOLE, False))

    def _refuse(self, path: Path, reason: str) -> None:
        if self.request:
            raise FieldRefused(render(path), reason)

    def fallback(
        self, value: Any, path: Path, set_: Callable[[Any], None], *, declared: bool = False
    ) -> None:
        """Every string (and key) inside ``value`` is text; in a request, integer lists are refused."""
        if isinstance(value, str):
            self.out.texts.append(Text(path, value, set_, Kind.TEXT, declared))
        elif isinstance(value, dict):
            for key, item in value.items():
                self.fallback(item, (*path, key), _item_setter(value, key), declared=declared)
            for key in list(value):  # after the values (see Map)
                self.out.texts.append(Text((*path, key), key, _key_setter(value, key), Kind.WHOLE, declared))
        elif isinstance(value, list):
            if self.request and value and all(type(v) is int for v in value) and not declared:
                self._refuse(path, "a list of integers may be token ids, which hegui cannot read")
            for i, item in enumerate(value):
                self.fallback(item, (*path, i), _item_setter(value, i), declared=declared)


_COUNT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_PLAIN = frozenset((Kind.TEXT, Kind.WHOLE, Kind.ENUM, Kind.MODEL, Kind.NUMBER))
_NUMBERS = frozenset((int, float, bool))


def _settled(spec: Spec, value: Any) -> bool:
    """A fast path (every stream chunk is walked): a null, a number under a plain leaf, a known enum
    value. These carry no text, so walking them would only cost time."""
    if value is None:
        return True
    if type(spec) is not Leaf or spec.kind not in _PLAIN:
        return False
    if type(value) in (int, float, bool):
        return True
    return spec.kind == Kind.ENUM and type(value) is str and value in spec.values


def _branch(spec: Either, value: Any) -> Spec | None:
    if isinstance(value, str):
        return spec.str_
    if isinstance(value, list):
        return spec.list_
    if isinstance(value, dict):
        return spec.obj
    if isinstance(value, bool | int | float):
        return spec.num
    return None


def walk(spec: Spec, body: Any, *, request: bool, known: frozenset[str] = frozenset()) -> Walk:
    """The texts, echoes and binary fields of ``body`` under ``spec``; raises FieldRefused (request).
    ``known``: identifier values not to inspect (hegui's response id, the requested model name)."""
    walker = Walker(request=request, known=known)
    holder = [body]
    walker.walk(spec, body, (), _item_setter(holder, 0))
    return walker.out


# -- description (docs/gateway.md's tables; a test keeps them in step) --------------------------------

_WHAT = {
    Kind.TEXT: "text: inspected",
    Kind.WHOLE: "inspected whole",
    Kind.ENUM: "enumerated: other values inspected whole",
    Kind.MODEL: "model: routed (request), inspected whole unless the requested name (answer)",
    Kind.NUMBER: "number (a string here is inspected)",
    Kind.BINARY: "binary",
    Kind.TOKENS: "token echo: [gateway] logprobs",
    Kind.TOKEN_ID: "token id (digits), else refused",
    Kind.REFUSED: "refused (400)",
}


@dataclass(frozen=True, slots=True)
class Row:
    path: str
    what: str


def rows(spec: Spec, path: str = "") -> list[Row]:
    """The declared fields of ``spec`` as rows: ``messages[].tool_calls[].function.name`` → what it is.
    Numbers and enumerations are left out (no text); variants are named ``<type>``."""
    if isinstance(spec, Leaf):
        if spec.kind in (Kind.NUMBER, Kind.ENUM):
            return []
        note = f" — {spec.reason}" if spec.reason else ""
        return [Row(path, _WHAT[spec.kind] + note)]
    if isinstance(spec, Tree):
        return [Row(path, f"every string and key inspected — {spec.why}")]
    if isinstance(spec, Counts):
        return [Row(path, "counts: numbers; strings and keys that are not snake_case names inspected")]
    if isinstance(spec, Obj):
        return [r for k, v in spec.fields.items() for r in rows(v, f"{path}.{k}" if path else k)]
    if isinstance(spec, Arr):
        return rows(spec.item, f"{path}[]")
    if isinstance(spec, Map):
        return rows(spec.key, f"{path}{{key}}") + rows(spec.value, f"{path}{{value}}")
    if isinstance(spec, Either):
        out: list[Row] = []
        for branch in (spec.str_, spec.list_, spec.obj, spec.num):
            if branch is not None:
                out += rows(branch, path)
        return out
    out = []
    for tag, variant in spec.variants.items():
        out += rows(variant, f"{path}<{tag}>")
    if spec.default is not None:
        out += rows(spec.default, f"{path}<other>")
    return out
