"""Reversible pseudonymization: replace personal information by tokens, restore it in the answer.

The egress stage (a request to an upstream outside the provider's jurisdiction) calls
`Pseudonymizer.pseudonymize` on every outgoing message with the conversation's `PseudonymVault`, sends
the tokenised text, and puts the answer back through `restore` (whole) or a `StreamRestorer` (streamed:
a token split across chunks is held back until it is complete, and nothing else is held).

Tokens look like ``[PHONE_1]``: ASCII, short, and kept intact by language models. The same value gets
the same token for the whole conversation; a token that already occurs in the text the user wrote is
never issued, and only tokens the vault issued are restored. The vault holds personal information: the
caller must keep it no longer than the conversation and never write it to logs or the audit chain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from hegui.guard.pii.analyzer import PIIAnalyzer
from hegui.guard.pii.recognizers import PIIMatch

TOKEN_RE = re.compile(r"\[([A-Z][A-Z_]{0,15})_(\d{1,4})\]")
#: Longest token: "[" + 16-character label + "_" + 4 digits + "]".
MAX_TOKEN_LENGTH = 23
_TOKEN_PREFIX = re.compile(r"\[[A-Z0-9_]{0,21}")


@dataclass
class PseudonymVault:
    """Token ↔ original value for one conversation. Not thread-safe: one conversation at a time."""

    _by_token: dict[str, str] = field(default_factory=dict)
    _by_value: dict[str, str] = field(default_factory=dict)
    _counters: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._by_token)

    def token_for(self, label: str, value: str, avoid: str = "") -> str:
        key = f"{label}\x00{value}"
        token = self._by_value.get(key)
        if token is not None:
            return token
        n = self._counters.get(label, 0)
        while True:
            n += 1
            if n > 9999:
                raise ValueError(f"more than 9999 distinct {label} values in one conversation")
            token = f"[{label}_{n}]"
            if token not in avoid and token not in self._by_token:
                break
        self._counters[label] = n
        self._by_token[token] = value
        self._by_value[key] = token
        return token

    def original(self, token: str) -> str | None:
        return self._by_token.get(token)

    def to_json(self) -> dict[str, str]:
        """Token → value, for the caller to store encrypted with the conversation."""
        return dict(self._by_token)

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> PseudonymVault:
        vault = cls()
        for token, value in data.items():
            m = TOKEN_RE.fullmatch(token)
            if m is None:
                raise ValueError(f"not a pseudonym token: {token!r}")
            label, n = m.group(1), int(m.group(2))
            vault._by_token[token] = value
            vault._by_value[f"{label}\x00{value}"] = token
            vault._counters[label] = max(vault._counters.get(label, 0), n)
        return vault


@dataclass(frozen=True, slots=True)
class Pseudonymized:
    text: str
    #: What was replaced, with spans in the original text (for counting persons exported, not for logs).
    matches: tuple[PIIMatch, ...]


class Pseudonymizer:
    """Immutable; share one between threads and pass each conversation's vault in."""

    def __init__(self, analyzer: PIIAnalyzer | None = None) -> None:
        self.analyzer = analyzer or PIIAnalyzer()

    def pseudonymize(self, text: str, vault: PseudonymVault) -> Pseudonymized:
        matches = self.analyzer.analyze(text)
        out: list[str] = []
        pos = 0
        for m in matches:
            label = self.analyzer.by_entity[m.entity].label_en
            out.append(text[pos : m.start])
            out.append(vault.token_for(label, m.text, avoid=text))
            pos = m.end
        out.append(text[pos:])
        return Pseudonymized("".join(out), tuple(matches))

    @staticmethod
    def restore(text: str, vault: PseudonymVault) -> str:
        """Put the original values back for every token the vault issued; leave anything else alone."""

        def back(m: re.Match[str]) -> str:
            original = vault.original(m.group(0))
            return m.group(0) if original is None else original

        return TOKEN_RE.sub(back, text)

    def restorer(self, vault: PseudonymVault) -> StreamRestorer:
        return StreamRestorer(vault)


class StreamRestorer:
    """Restores tokens in a streamed answer; holds back only a possible unfinished token."""

    def __init__(self, vault: PseudonymVault) -> None:
        self._vault = vault
        self._pending = ""

    def feed(self, chunk: str) -> str:
        text = self._pending + chunk
        cut = text.rfind("[")
        if cut >= 0 and len(text) - cut < MAX_TOKEN_LENGTH and _TOKEN_PREFIX.fullmatch(text, cut):
            self._pending = text[cut:]
            text = text[:cut]
        else:
            self._pending = ""
        return Pseudonymizer.restore(text, self._vault)

    def finish(self) -> str:
        text, self._pending = self._pending, ""
        return Pseudonymizer.restore(text, self._vault)
