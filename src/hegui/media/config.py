"""The ``[media]`` table of the policy: image parts, OCR, edit consent, unregistered person names.

Defaults keep what the gateway did before OCR existed: image parts in chat requests are refused, and
generated images are labelled without being read. ``image_parts`` is the issue's three-way choice for a
request's images: refuse them, inspect them (OCR), or pass them unread with a mark that says so. OCR is the optional ``[ocr]`` extra:
``ocr_engine = "rapidocr"`` (the default; rapidocr-onnxruntime, its models in its wheel, run in a child
process) or ``"tesseract"`` (pytesseract driving Debian's ``tesseract-ocr`` with
``tesseract-ocr-chi-sim``); a policy that turns OCR on where its engine is not installed is refused at
start-up (never another engine instead), and an OCR that fails at run time refuses the request (fail
closed).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_EDIT_NOTICE = (
    "本次编辑涉及他人的{what}。依《互联网信息服务深度合成管理规定》第十四条，请您先告知被编辑人并取得其单独同意；"
    "服务提供者记录该同意（被编辑人、范围、证据、有效期）后，请在请求中以 X-Hegui-Consent 标头注明同意编号再试。"
    " This edit touches another person's {what_en}. The rule (Deep Synthesis Provisions Art. 14) asks you to "
    "notify the edited person and obtain their separate consent; once the provider has recorded it (who, "
    "scope, evidence, expiry), send its id in the X-Hegui-Consent header."
)

DEFAULT_NAME_NOTICE = (
    "图像或语音请求中出现了人名（{names}）。本服务不生成真实人物的形象或声音，除非该人物已登记并授权。"
    " The request names a person ({names}); this service does not depict or voice real persons unless they "
    "are registered and have authorized it."
)


class MediaPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    image_parts: Literal["refuse", "ocr", "pass_with_label"] = Field(
        "refuse",
        description=(
            "Image parts of requests (chat image_url parts, the images of /v1/images/edits and variations): "
            "refuse (chat parts are a 400; edit images pass unread), ocr (their text is read and inspected) "
            "or pass_with_label (forwarded unread, and marked so: the input audit entry lists them as "
            "uninspected and the answer carries the X-Hegui-Uninspected header)."
        ),
    )
    generated_image_ocr: bool = Field(
        False, description="Read the text drawn into generated images and inspect it at the output stage."
    )
    ocr_engine: Literal["rapidocr", "tesseract"] = Field(
        "rapidocr",
        description=(
            "rapidocr (rapidocr-onnxruntime, its models inside its wheel, in a child process; one pass "
            "per image) or tesseract (Debian's tesseract, a process per reading, a scale pyramid). "
            "Measured in RESULTS.md (ocr): rapidocr read the term at every text height in one pass, "
            "in less than half of tesseract's time."
        ),
    )
    ocr_languages: str = Field(
        "chi_sim+eng", description="Tesseract languages (installed traineddata); tesseract only."
    )
    ocr_timeout: float = Field(20.0, gt=0, le=300, description="Longest OCR of one image, in seconds.")
    ocr_max_side: int = Field(
        2048, ge=256, le=8192, description="Images are scaled down to this longest side before OCR."
    )
    ocr_scales: list[float] = Field(
        default_factory=lambda: [1.0, 0.5, 0.25],
        min_length=1,
        max_length=5,
        description=(
            "Scales each image is read at (every reading is inspected); more scales, more recall, more "
            "time. Tesseract only."
        ),
    )
    ocr_modes: list[Literal[3, 4, 6, 11, 12]] = Field(
        default_factory=lambda: [11],  # type: ignore[arg-type]
        min_length=1,
        max_length=3,
        description="Tesseract page segmentation modes run at every scale (11 sparse text; 6 one block); tesseract only.",
    )
    edit_consent_scopes: list[Literal["likeness", "voice", "brand", "document"]] = Field(
        default_factory=lambda: ["likeness", "voice"],  # type: ignore[arg-type]
        description="Edit kinds whose scope needs a recorded separate consent of the edited person (DS-02).",
    )
    edit_notice: str = Field(
        DEFAULT_EDIT_NOTICE,
        description="The refusal of an edit without consent; {what} / {what_en} name what is edited.",
    )
    person_names: Literal["allow", "refuse"] = Field(
        "allow",
        description=(
            "refuse: an image request (generation or edit) whose prompt names a person found by the "
            "Chinese name recognizer, and who is not registered, is refused."
        ),
    )
    person_names_notice: str = Field(DEFAULT_NAME_NOTICE, description="Its refusal; {names} lists them.")
    audio_parts: Literal["refuse", "transcribe"] = Field(
        "refuse",
        description=(
            "Audio parts of chat requests: refuse (no speech recognizer ships with hegui), or transcribe "
            "with the operator's own OpenAI-compatible /v1/audio/transcriptions endpoint (asr_url) and "
            "inspect the transcript."
        ),
    )
    asr_url: str = Field(
        "", description="Base URL of the operator's ASR server (…/v1); required by transcribe."
    )
    asr_model: str = Field("whisper-1", description="The model name sent to the ASR server.")
    asr_api_key_env: str | None = Field(
        None, description="Environment variable holding the ASR server's key."
    )
    asr_timeout: float = Field(60.0, gt=0, le=600, description="Longest transcription, in seconds.")

    @model_validator(mode="after")
    def _ocr_installed(self) -> MediaPolicy:
        """A policy that reads images where no OCR is installed is refused when it is loaded (serve,
        config validate), not at the first image."""
        if self.image_parts == "ocr" or self.generated_image_ocr:
            from hegui.media.ocr import OcrFailed, TesseractOcr
            from hegui.media.rapidocr import RapidOcr

            engine = RapidOcr() if self.ocr_engine == "rapidocr" else TesseractOcr(self.ocr_languages)
            try:
                engine.check()  # no silent fallback to the other engine: the operator chose this one
            except OcrFailed as exc:
                raise ValueError(
                    f"[media] asks for OCR with ocr_engine = {self.ocr_engine!r}: {exc}"
                ) from None
        if self.audio_parts == "transcribe" and not self.asr_url.startswith(("http://", "https://")):
            raise ValueError(
                "[media] audio_parts = 'transcribe' needs asr_url (an http(s) base URL ending in /v1)"
            )
        if self.person_names == "refuse":
            from hegui.guard.person_names import available

            why = available()
            if why is not None:
                raise ValueError(f"[media] person_names = 'refuse' needs the name recognizer: {why}")
        return self
