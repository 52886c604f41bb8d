"""An image's OCR text as slots: a mask cannot be applied to a picture (flagged), and findings map to the
boxes of the lines their spans touch."""

from __future__ import annotations

from hegui.gateway.media_inspect import ImageSlots
from hegui.guard.types import Action, Finding
from hegui.media.ocr import Box, OcrLine, OcrResult

RESULT = OcrResult(
    (OcrLine("春天来了", Box(10, 20, 100, 30), 90.0), OcrLine("演示违禁词", Box(10, 80, 140, 30), 88.0)), 0.1
)


def test_slots_regions_and_masks() -> None:
    pictures = ImageSlots()
    pictures.add("image[0](ocr)", RESULT)
    pictures.add("image[1](ocr)", OcrResult((), 0.1))  # no text: no slot
    (slot,) = pictures.slots
    assert slot.field == "image[0](ocr)" and slot.text == "春天来了\n演示违禁词"
    start = slot.text.index("违禁")
    found = [("image[0](ocr)", Finding("deny", "A.1h", start, start + 2, "违禁", Action.REFUSE))]
    assert pictures.regions(found) == {"image[0](ocr):deny": [[10, 80, 140, 30]]}
    assert pictures.regions([("prompt", found[0][1])]) == {}
    assert slot.set is not None
    slot.set("春天来了\n演示**词")
    assert pictures.masked == ["image[0](ocr)"]
    assert pictures.detail() == {
        "image[0](ocr)": {"lines": 2, "seconds": 0.1},
        "image[1](ocr)": {"lines": 0, "seconds": 0.1},
    }
