"""The ``[media] person_names = "refuse"`` switch at the image routes: a prompt that names a person the
Chinese name recognizer finds (`hegui.guard.person_names`), and whom the registry does not know, is
refused with ``[media] person_names_notice``; the refusal is recorded (stage ``input``) with the names.

Registered persons are left to the ``persona`` check (which allows what their authorizations allow).
"""

from __future__ import annotations

import asyncio
import functools

from sqlalchemy import Engine, inspect

from hegui.errors import ContentRefused
from hegui.gateway.exchange import Exchange
from hegui.guard.person_names import NameRecognizer
from hegui.text.normalize import default_normalizer


@functools.lru_cache(maxsize=1)
def recognizer() -> NameRecognizer:
    return NameRecognizer()


def registered_spellings(engine: Engine) -> frozenset[str]:
    """Every spelling of every registered person, normalized."""
    if not inspect(engine).has_table("persons"):
        return frozenset()
    from hegui.records.persons_store import PersonRegistry

    norm = default_normalizer()
    return frozenset(norm.normalize(s).text for p in PersonRegistry(engine).persons() for s in p.spellings())


async def refuse_unregistered(ex: Exchange, prompt: str) -> None:
    """Raise ContentRefused (recorded) when the switch is on and the prompt names an unregistered person."""
    policy = ex.state.policy.media
    if policy.person_names != "refuse" or not prompt:
        return
    found = recognizer().names(prompt)
    if not found:
        return
    known = await asyncio.to_thread(registered_spellings, ex.state.engine)
    norm = default_normalizer()
    names = list(dict.fromkeys(n.name for n in found if norm.normalize(n.name).text not in known))
    if not names:
        return
    await ex.record(ex.draft("input", "refuse", "", person_names=names))
    raise ContentRefused(policy.person_names_notice.replace("{names}", "、".join(names)), param="prompt")
