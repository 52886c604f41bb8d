"""The conversation history forwarded upstream, without the explicit labels hegui itself added.

Chat clients send earlier answers back as assistant turns, and those carry the explicit label hegui put
on them (``\\n\\n【AI生成】`` by default). A model that sees the label in its own history learns to write
it. hegui knows the exact text it adds (the labeller's prefix and suffix), so it leaves exactly that
out of the copy it forwards: only at the very start or end of an assistant turn, only when it matches
byte for byte. The user's copy keeps its label, and nothing else is touched; this is not label removal
(no file, no answer to a user, loses a label).
"""

from __future__ import annotations

from typing import Any


def _strip(text: str, prefix: str, suffix: str) -> str:
    if prefix and text.startswith(prefix):
        text = text[len(prefix) :]
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    return text


def _text_parts(content: list[Any]) -> list[dict[str, Any]]:
    return [
        p
        for p in content
        if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
    ]


def without_own_labels(body: dict[str, Any], prefix: str, suffix: str) -> int:
    """Leave hegui's explicit label out of the assistant turns of ``body`` (changed in place, it is the
    upstream's copy); return how many turns changed."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not (prefix or suffix):
        return 0
    changed = 0
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, str):
            stripped = _strip(content, prefix, suffix)
            if stripped != content:
                message["content"] = stripped
                changed += 1
        elif isinstance(content, list) and (parts := _text_parts(content)):
            first, last = parts[0], parts[-1]
            before = (first["text"], last["text"])
            first["text"] = _strip(first["text"], prefix, "")
            last["text"] = _strip(last["text"], "", suffix)
            changed += (first["text"], last["text"]) != before
    return changed
