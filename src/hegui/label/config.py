"""The ``[labels]`` table of the policy file: how generated content is labelled.

Every field has a default so that the bundled policy stays valid; an unset provider code means "not
configured", which `hegui label verify` reports as a failing LBL-07. This module validates wording and
codes once, at load time; it never relaxes a requirement at run time.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hegui.label.producer import code_problem

#: LBL-10: an AI element and a generation element.
_AI = re.compile(r"人工智能|AI")
_GEN = re.compile(r"生成|合成")


def explicit_wording_ok(text: str, *, corner_mark: bool = False) -> bool:
    """LBL-10: the wording holds (人工智能|AI) and (生成|合成); a corner mark needs only AI."""
    if corner_mark:
        return "AI" in text
    return bool(_AI.search(text)) and bool(_GEN.search(text))


class C2paPolicy(BaseModel):
    """C2PA manifests beside the GB label (EU AI Act Art. 50(2)). Off unless a certificate is set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="Sign a C2PA manifest into images, audio and video.")
    cert_file: str = Field("", description="PEM certificate chain (leaf first) used to sign manifests.")
    key_file: str = Field("", description="PEM private key of the leaf certificate.")
    algorithm: Literal["es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"] = Field(
        "es256", description="Signature algorithm matching the key."
    )
    claim_generator: str = Field("hegui", description="Name written as the manifest's claim generator.")


class LabelPolicy(BaseModel):
    """The ``[labels]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    producer: str = Field(
        "",
        description="Your 27-character provider code (网安秘字〔2025〕29号), written as ContentProducer. "
        "Empty means not configured: `hegui label verify` then fails LBL-07.",
    )
    explicit_text: str = Field(
        "AI生成",
        description="Wording of every explicit (visible or audible) label; must hold 人工智能|AI and 生成|合成.",
    )
    text_position: Literal["start", "end", "both"] = Field(
        "end", description="Where text answers and documents carry the explicit label."
    )
    text_separator: str = Field(
        "\n\n", description="Put between the label and the text (start: after the label; end: before it)."
    )
    text_bracket: tuple[str, str] = Field(
        ("【", "】"), description="Brackets around the wording in text: 【AI生成】."
    )
    label_text_answers: bool = Field(
        True, description="Chat and completion answers carry the explicit label."
    )
    image_height_ratio: float = Field(
        0.06,
        ge=0.05,
        le=0.5,
        description="Visible image/video label text height as a share of the shortest side (≥ 0.05, GB 5.2).",
    )
    image_corner: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = Field(
        "bottom-right", description="Corner of the visible label on images and video."
    )
    font_file: str = Field(
        "", description="Font with CJK glyphs for visible labels; empty: Noto Sans CJK or fc-match's choice."
    )
    video_label_seconds: float = Field(
        3.0,
        ge=2.0,
        le=600.0,
        description="How long the video label shows from the start frame (≥ 2 s, GB 5.4).",
    )
    audio_cue: Literal["morse", "none"] = Field(
        "morse",
        description="Audible label: the 'AI' Morse rhythm (short-long short-short) placed before the content.",
    )
    audio_position: Literal["start", "end"] = Field("start", description="Where the audible cue goes.")
    sign_reserved_code: bool = Field(
        False,
        description="Write an SM3withSM2 SecurityData signature into ReservedCode1 (needs sm2_key_file).",
    )
    sm2_key_file: str = Field("", description="File holding the SM2 private key as 64 hex digits.")
    c2pa: C2paPolicy = C2paPolicy()

    @field_validator("producer")
    @classmethod
    def _producer_code(cls, value: str) -> str:
        problem = code_problem(value) if value else None
        if problem is not None:
            raise ValueError(
                f"{value!r} is not a provider code: {problem} (a code is 00 + 25 of 0-9/A-Z, with "
                "position 23, counting from 1, in 0/1/2)"
            )
        return value

    @field_validator("explicit_text")
    @classmethod
    def _wording(cls, value: str) -> str:
        if not explicit_wording_ok(value):
            raise ValueError("explicit_text must contain 人工智能 or AI and 生成 or 合成 (GB 5.1, LBL-10)")
        return value

    @property
    def bracketed(self) -> str:
        """The wording as it appears in text: 【AI生成】."""
        return f"{self.text_bracket[0]}{self.explicit_text}{self.text_bracket[1]}"
