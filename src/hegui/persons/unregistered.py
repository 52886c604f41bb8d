"""The ``unregistered_persons`` check: a request to depict or voice a real person whom the registry does
not know is refused (issue 15, point 2: "unregistered public figures: a policy switch to refuse depiction
of any person name found by a Chinese name recognizer in image and voice requests").

On any text route (chat, Responses, Messages, completions) a *voice or likeness request* is a
name found by the recognizer (`hegui.guard.person_names`) with the ``persona`` check's intent patterns
around it (``用张伟的声音读``: 用 … 声音; ``画一张张伟的照片``: 画 … 照片). The image routes go further
with ``[media] person_names = "refuse"``: there the whole prompt is a depiction, so any name counts.
Names of registered persons are left to the ``persona`` check (their authorizations decide).

Pure: the registry's spellings are read once by the factory.
"""

from __future__ import annotations

from collections.abc import Iterable

from hegui.guard.person_names import NameRecognizer
from hegui.guard.types import Action, Context, Finding, Stage
from hegui.persons.check import CATEGORY, _asks
from hegui.persons.intents import INTENTS
from hegui.persons.model import RegistrySnapshot, Scope
from hegui.text.normalize import Normalizer, default_normalizer

_SCOPES = (Scope.LIKENESS, Scope.VOICE)


class UnregisteredPersonsCheck:
    def __init__(
        self,
        name: str,
        registry: RegistrySnapshot,
        *,
        stages: Iterable[Stage] = (Stage.INPUT,),
        action: Action = Action.REFUSE,
        window: int = 16,
        normalizer: Normalizer | None = None,
        recognizer: NameRecognizer | None = None,
    ) -> None:
        self.name = name
        self.stages = frozenset(stages)
        self._action = action
        self._window = window
        self._norm = normalizer or default_normalizer()
        self._recognizer = recognizer or NameRecognizer()
        self._known = frozenset(self._norm.normalize(s).text for p in registry.persons for s in p.spellings())
        self._intents = [i for i in INTENTS if i.scope in _SCOPES]
        self.horizon: int | None = 2 * (4 + 2 * window)
        self.version = f"{registry.version}.w{window}.c{self._recognizer.common}"

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for found in self._recognizer.names(text):
            if self._norm.normalize(found.name).text in self._known:
                continue
            w = 2 * self._window  # original characters: punctuation and spaces are still in them
            left = self._norm.normalize(text[max(0, found.start - w) : found.start]).text[-self._window :]
            right = self._norm.normalize(text[found.end : found.end + w]).text[: self._window]
            around = left + "\x00" + right
            for intent in self._intents:
                if not _asks(intent, around):
                    continue
                out.append(
                    Finding(
                        self.name,
                        CATEGORY[intent.scope],
                        found.start,
                        found.end,
                        found.name,
                        self._action,
                        explanation=(
                            f"a request to {intent.wording} {found.name!r}, a person name the registry does not "
                            "know (unregistered persons are not depicted or voiced)"
                        ),
                    )
                )
                break
        return out
