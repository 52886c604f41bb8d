"""Verification of a labelled file against the machine-checkable requirements LBL-01 … LBL-20 and EU-01.

`verify_bytes` returns one `RequirementResult` per requirement that applies to the format, each with pass
or fail and the reason, measured on the file itself: labels are parsed from their carriers, the visible
label is measured on decoded pixels, the audible cue is found in decoded samples. It reports; it never
modifies the file. Requirements that need a person (LBL-15, -16, -17, -18, -21) are not checked here.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image

from hegui.label import audiocue, documents, files, images, integrity, text, video, visible
from hegui.label.config import LabelPolicy
from hegui.label.implicit import ParsedLabel, provider_code_issue
from hegui.label.producer import DEMO_PRODUCER, is_demo
from hegui.label.xmp import TC260_NS


@dataclass(frozen=True)
class RequirementResult:
    requirement: str
    passed: bool
    reason: str
    #: Passed in form, but something an operator must act on (hegui's demo provider code): not a clean pass.
    warning: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FileReport:
    path: str
    kind: str
    results: tuple[RequirementResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def failed(self) -> list[str]:
        return sorted({r.requirement for r in self.results if not r.passed})

    def warnings(self) -> list[RequirementResult]:
        return [r for r in self.results if r.passed and r.warning]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "passed": self.passed,
            "results": [r.as_dict() for r in self.results],
        }


def verify_bytes(
    data: bytes,
    filename_or_mime: str,
    policy: LabelPolicy,
    *,
    explicit: bool = True,
    trusted_sm2_public: str | None = None,
    ocr: bool = False,
    ocr_engine: str = "rapidocr",
) -> FileReport:
    """Check ``data``. With ``explicit`` the visible/audible/text label is required as well. With
    ``ocr``, an image without hegui's own plate is read for a label of any design (visible_ocr.py) by
    the OCR engine ``ocr_engine`` (``rapidocr`` or ``tesseract``, as ``[media] ocr_engine``)."""
    kind = files.kind_of(filename_or_mime, data)
    out: list[RequirementResult] = []
    try:
        found = files.read_labels(data, kind) if kind != "txt" else []
    except images.ContainerError as exc:
        return FileReport(filename_or_mime, kind, (RequirementResult("LBL-01", False, exc.message),))
    if kind != "txt":
        out += _implicit(found, kind, policy, trusted_sm2_public)
    if explicit:
        out += _explicit(data, kind, policy, ocr=ocr, ocr_engine=ocr_engine)
    if kind in ("png", "jpeg", "webp", "mp3", "wav", "mp4", "mov"):
        out += _c2pa(data, kind, policy)
    return FileReport(filename_or_mime, kind, tuple(out))


def _implicit(
    found: list[ParsedLabel], kind: str, policy: LabelPolicy, trusted: str | None
) -> list[RequirementResult]:
    r: list[RequirementResult] = []
    carriers = ", ".join(p.carrier for p in found)
    r.append(
        RequirementResult(
            "LBL-01",
            bool(found),
            f"found in {carriers}" if found else "no field named AIGC in any known carrier",
        )
    )
    if not found:
        return r
    expected = files.CARRIER.get(kind, "")
    in_place = [p for p in found if p.carrier.startswith(expected)]
    r.append(
        RequirementResult(
            "LBL-08",
            bool(in_place),
            f"carrier {expected}"
            if in_place
            else f"not in the documented carrier {expected} (found: {carriers})",
        )
    )
    r.append(
        RequirementResult(
            "LBL-05",
            len(found) == 1,
            "one AIGC block" if len(found) == 1 else f"{len(found)} AIGC blocks: {carriers}",
        )
    )
    for requirement in ("LBL-02", "LBL-03", "LBL-04"):
        problems = [
            f"{p.carrier}: {i.reason}" for p in found for i in p.issues if i.requirement == requirement
        ]
        r.append(RequirementResult(requirement, not problems, "; ".join(problems) or "ok"))
    values = found[0].values
    propagator, prop_id = values.get("ContentPropagator"), values.get("PropagateID")
    if not propagator or not prop_id:
        r.append(
            RequirementResult(
                "LBL-06",
                False,
                "ContentPropagator/PropagateID empty: on first write they copy the producer's",
            )
        )
    elif propagator == values.get("ContentProducer") and prop_id == values.get("ProduceID"):
        r.append(RequirementResult("LBL-06", True, "first write: propagator fields copy the producer's"))
    else:
        r.append(RequirementResult("LBL-06", True, f"propagated by {propagator}"))
    code_issues = [
        i.reason for p in found for i in [provider_code_issue(p.values.get("ContentProducer"))] if i
    ]
    # The file is judged on its own label, not on this policy: a correct file of another provider passes
    # whether or not labels.producer is configured here. hegui's demo code is well-formed but no provider's.
    demo = [p.carrier for p in found if is_demo(str(p.values.get("ContentProducer")))]
    if code_issues:
        r.append(RequirementResult("LBL-07", False, "; ".join(code_issues)))
    elif demo:
        r.append(
            RequirementResult(
                "LBL-07",
                True,
                f"ContentProducer {DEMO_PRODUCER} is hegui's demo code, not a real provider; "
                "set labels.producer to your own code",
                warning=True,
            )
        )
    else:
        r.append(RequirementResult("LBL-07", True, "provider code well-formed"))
    if kind in ("png", "jpeg", "webp"):
        xmp = [p for p in found if ":XMP:TC260:AIGC" in p.carrier]
        r.append(
            RequirementResult(
                "LBL-09",
                bool(xmp),
                f"TC260:AIGC in {TC260_NS}" if xmp else f"no TC260:AIGC element in namespace {TC260_NS}",
            )
        )
    check = integrity.verify(values, trusted_public=trusted)
    if check.present or policy.sign_reserved_code:
        r.append(RequirementResult("LBL-20", check.valid, check.reason))
    return r


def _explicit(
    data: bytes, kind: str, policy: LabelPolicy, *, ocr: bool = False, ocr_engine: str = "rapidocr"
) -> list[RequirementResult]:
    if kind in files.IMAGE_KINDS:
        with Image.open(io.BytesIO(data)) as img:
            own = _size(visible.measure(img), "image")
        if own.passed or not ocr:
            return [own]
        return [_ocr_label(data, own, ocr_engine)]
    if kind in files.VIDEO_KINDS:
        timing = video.label_duration(data, kind)
        if timing.seconds == 0:
            return [
                RequirementResult("LBL-11", False, "no visible label in the start frame"),
                RequirementResult("LBL-12", False, "no visible label in the start frame"),
            ]
        whole = timing.video_seconds and timing.seconds >= timing.video_seconds - 1 / video.SAMPLE_FPS
        ok = timing.in_start_frame and (timing.seconds >= 2.0 or bool(whole))
        return [
            RequirementResult(
                "LBL-11",
                timing.min_ratio >= 0.05,
                f"text height {timing.min_ratio:.1%} of the shortest side (≥ 5 %)",
            ),
            RequirementResult(
                "LBL-12",
                ok,
                f"label shown for {timing.seconds:.1f} s from the start frame "
                f"(≥ 2 s; video {timing.video_seconds:.1f} s)",
            ),
        ]
    if kind in files.AUDIO_KINDS:
        cue = audiocue.find_cue(data, kind)
        return [
            RequirementResult(
                "LBL-13",
                cue is not None,
                f"'AI' Morse cue at the {cue.position}, {cue.pause:.1f} s apart from the content"
                if cue
                else "no 'AI' Morse cue before or after the content (a spoken prompt "
                "is not recognised by this check)",
            )
        ]
    if kind == "pdf" and _pdf_plate(data):
        return [
            RequirementResult(
                "LBL-14",
                True,
                "label plate stamped at a corner of page 1 (an image: its wording is not read back, no OCR)",
            )
        ]
    content = _text_of(data, kind)
    if content is None:
        return []
    positions = text.explicit_positions(content)
    return [
        RequirementResult(
            "LBL-14",
            bool(positions),
            f"explicit label at the {', '.join(positions)}"
            if positions
            else "no explicit label (人工智能|AI with 生成|合成) in the text",
        ),
        RequirementResult(
            "LBL-10",
            bool(positions),
            f"wording satisfies 人工智能|AI + 生成|合成 ({positions[0]})"
            if positions
            else "no wording with 人工智能|AI and 生成|合成 found",
        ),
    ]


def _ocr_label(data: bytes, own: RequirementResult, engine: str) -> RequirementResult:
    """LBL-11 read by OCR: a label of another design (visible_ocr.py), when hegui's plate is not there."""
    from hegui.label import visible_ocr
    from hegui.media.engines import available
    from hegui.media.ocr import OcrFailed

    why = available(engine)
    if why is not None:
        return RequirementResult("LBL-11", False, f"{own.reason}; labels of other designs not read: {why}")
    try:
        found = visible_ocr.find(data, engine)
    except OcrFailed as exc:
        return RequirementResult("LBL-11", False, f"{own.reason}; OCR failed: {exc.message}")
    if found is None:
        return RequirementResult("LBL-11", False, f"{own.reason}; OCR read no AI-content label text")
    left, top, _, height = found.box
    return RequirementResult(
        "LBL-11",
        found.ratio >= 0.05,
        f"label text {found.text!r} read by OCR ({engine}) at ({left}, {top}): line height {height} px = "
        f"{found.ratio:.1%} of the shortest side {found.shortest_side} px (≥ 5 %)",
    )


def _size(measured: visible.LabelMeasure | None, what: str) -> RequirementResult:
    if measured is None:
        return RequirementResult(
            "LBL-11", False, f"no visible label found on an edge or corner of the {what}"
        )
    return RequirementResult(
        "LBL-11",
        measured.ratio >= 0.05,
        f"text height {measured.text_height} px = {measured.ratio:.1%} of the shortest side "
        f"{measured.shortest_side} px at the {measured.corner} (≥ 5 %)",
    )


def _text_of(data: bytes, kind: str) -> str | None:
    if kind in files.TEXT_KINDS:
        return data.decode("utf-8", "replace")
    if kind == "docx":
        return documents.docx_text(data)
    if kind == "pdf":
        return _pdf_text(data)
    return None


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(data)).pages[0].extract_text() or ""


def _pdf_plate(data: bytes) -> bool:
    """True when page 1 carries a hegui label plate as an image."""
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(data)).pages[0]
    return any(img.image is not None and visible.measure(img.image) is not None for img in page.images)


def _c2pa(data: bytes, kind: str, policy: LabelPolicy) -> list[RequirementResult]:
    from hegui.label import provenance

    result = provenance.read(data, kind)
    if not result.present and not policy.c2pa.enabled:
        return []
    # A certificate missing from the C2PA trust list is the signer's trust question, not a broken
    # manifest: it is reported in the reason and does not fail EU-01 (the signature itself must verify).
    errors = [e for e in result.errors if not e.startswith("signingCredential.untrusted")]
    untrusted = len(errors) != len(result.errors)
    ok = (
        result.present
        and result.created_ai
        and not errors
        and result.validation_state in ("Valid", "Trusted")
    )
    reason = (
        f"C2PA manifest {result.validation_state}; c2pa.created trainedAlgorithmicMedia"
        + ("; signing certificate not on the C2PA trust list" if untrusted else "")
        if ok
        else f"C2PA: present={result.present}, state={result.validation_state}, "
        f"created_ai={result.created_ai}, errors={list(result.errors)}"
    )
    return [RequirementResult("EU-01", ok, reason)]
