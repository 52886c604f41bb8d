"""AIGC labels (GB 45438-2025, TC260 practice guides, C2PA): add, read and verify; never remove.

Modules:

    config      the ``[labels]`` table of the policy file (LabelPolicy)
    implicit    the seven-key AIGC object (AigcLabel), parsing of the bare and wrapped forms, LBL-02 … LBL-07
    integrity   the optional SM3withSM2 SecurityData in ReservedCode1 (LBL-20)
    text        explicit labels in text and streams; Markdown front matter
    xmp         the TC260 XMP packet
    images      PNG / JPEG / WebP carriers          audio     MP3 / WAV / FLAC / Ogg carriers
    video       MP4 / MOV carrier and visible label  documents PDF / DOCX / XLSX / PPTX carriers
    visible     visible label plates: render, measure on pixels
    audiocue    the 'AI' Morse rhythm: add, find
    provenance  C2PA manifests (c2pa-python)
    files       label_bytes / read_labels for every format, with read-back
    verify      per-requirement results for a file (hegui label verify)

The regulations (LBL 10, DS 18) forbid tools that remove, tamper with or forge labels: nothing in this
room removes a label except to replace it by exactly one new label in the same write (GB 6.1 c).
Only `config`, `implicit` and `text` are imported by the gateway's text path; the file modules need the
``label`` extra (Pillow, imageio-ffmpeg, pypdf, python-docx).
"""

from __future__ import annotations

from hegui.label.config import LabelPolicy
from hegui.label.implicit import AigcLabel, LabelError, ParsedLabel, parse_label

__all__ = ["AigcLabel", "LabelError", "LabelPolicy", "ParsedLabel", "parse_label"]
