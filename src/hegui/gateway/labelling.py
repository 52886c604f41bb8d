"""Labels in the response path (GB 45438-2025; LBL-01 … LBL-14): the explicit label in generated text,
streamed or whole, and the implicit AIGC object in a body field and a header.

The implicit object's ProduceID is the response id, which is also the request id of the response's audit
entries, so a label found on content leads back to its decisions (`hegui audit show PRODUCE_ID`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from hegui.errors import ConfigError
from hegui.label.config import LabelPolicy
from hegui.label.implicit import AigcLabel, LabelError
from hegui.label.integrity import Sm2Key, sign
from hegui.label.producer import effective_producer
from hegui.label.text import prefix, suffix

#: Name of the body extension field (Annex E a: the field name contains AIGC) and of the HTTP header.
BODY_FIELD = "AIGC"
HEADER = "X-AIGC-Label"

_TEXT_FIELDS = ("content", "text")


class Labeller:
    """Built once at start-up; a producer that cannot go into a label stops the start."""

    def __init__(self, policy: LabelPolicy, *, source: str = "<bundled>") -> None:
        self.policy = policy
        # ContentProducer is the configured provider code, else hegui's demo code: well-formed, and
        # reported by `hegui label verify` as a demo code (and by `hegui serve` at start) until set.
        self.producer = effective_producer(policy.producer)
        self.prefix = prefix(policy)
        self.suffix = suffix(policy)
        self._key: Sm2Key | None = None
        if policy.sign_reserved_code:
            try:
                key_text = Path(policy.sm2_key_file).read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"cannot read the SM2 key: {exc}", file=source, key="labels.sm2_key_file"
                ) from None
            self._key = Sm2Key.from_private(key_text)
        # One response asks for its label several times (header, body, files); sign it once (~5 ms).
        self.implicit = functools.lru_cache(maxsize=256)(self._implicit)  # type: ignore[method-assign]
        try:
            self.implicit("check")
        except LabelError as exc:
            raise ConfigError(
                f"cannot be written into an AIGC label: {exc.message}", file=source, key="labels.producer"
            ) from None

    def implicit(self, produce_id: str) -> AigcLabel:
        """The implicit label of a response (signed into ReservedCode1 when the policy asks)."""
        return self._implicit(produce_id)

    def _implicit(self, produce_id: str) -> AigcLabel:
        label = AigcLabel.first_write(self.producer, produce_id)
        return sign(label, self._key) if self._key is not None else label

    def headers(self, produce_id: str) -> dict[str, str]:
        return {HEADER: self.implicit(produce_id).to_json()}

    def body_field(self, produce_id: str) -> dict[str, str]:
        return self.implicit(produce_id).as_dict()

    def label_answer(self, answer: dict[str, Any], produce_id: str) -> None:
        """Explicit label around each choice's text, implicit object in the body (whole answers)."""
        for choice in answer.get("choices") or []:
            message = choice.get("message")
            holder = message if isinstance(message, dict) else choice
            for name in _TEXT_FIELDS:
                if isinstance(holder.get(name), str) and holder[name]:
                    holder[name] = self.prefix + holder[name] + self.suffix
        answer[BODY_FIELD] = self.body_field(produce_id)
