"""Labels in documents (PG-20258A): PDF Info ``/AIGC`` (§6.3) and OOXML ``docProps/custom.xml``
property ``AIGC`` (§6.1), plus the explicit label as text in the document.

PDF goes through pypdf; the visible PDF label is the same plate as on images, rendered by Pillow into a
one-page PDF and stamped onto the first page (pypdf cannot set CJK text without an embedded font). DOCX
text goes through python-docx; the custom property part is edited in the zip by hand because
python-docx does not expose custom properties. Writers replace an earlier AIGC value (GB 6.1 c); nothing
here removes a label without writing one.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from hegui.label.config import LabelPolicy
from hegui.label.images import ContainerError
from hegui.label.implicit import ParsedLabel, parse_label

if TYPE_CHECKING:
    from pypdf import PageObject

CUSTOM_PART = "docProps/custom.xml"
CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
_PROPS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"

# --- PDF -------------------------------------------------------------------------------------------


def pdf_read(data: bytes) -> list[ParsedLabel]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        info: dict[str, object] = dict(PdfReader(io.BytesIO(data)).metadata or {})
    except (PdfReadError, ValueError, OSError) as exc:
        raise ContainerError(f"not a readable PDF: {exc}") from None
    return [
        parse_label(str(value), f"pdf:Info:{key}") for key, value in info.items() if "AIGC" in key.upper()
    ]


def pdf_write(data: bytes, label_json: str, policy: LabelPolicy, *, explicit: bool) -> bytes:
    from pypdf import PdfReader, PdfWriter, Transformation
    from pypdf.errors import PdfReadError
    from pypdf.generic import NameObject, TextStringObject

    try:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    except (PdfReadError, ValueError, OSError) as exc:
        raise ContainerError(f"not a readable PDF: {exc}") from None
    if explicit and writer.pages:
        page = writer.pages[0]
        stamp, width, height = _pdf_stamp(policy, float(page.mediabox.width), float(page.mediabox.height))
        x = float(page.mediabox.left) + (
            0 if policy.image_corner.endswith("left") else float(page.mediabox.width) - width
        )
        y = float(page.mediabox.bottom) + (
            0 if policy.image_corner.startswith("bottom") else float(page.mediabox.height) - height
        )
        page.merge_transformed_page(stamp, Transformation().translate(x, y))
    # Setting /AIGC replaces an earlier /AIGC value (one label per file).
    writer.add_metadata({NameObject("/AIGC"): TextStringObject(label_json)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf_stamp(policy: LabelPolicy, page_w: float, page_h: float) -> tuple[PageObject, float, float]:
    """A one-page PDF holding the label plate, sized to the page (height share per policy)."""
    from pypdf import PdfReader

    from hegui.label.visible import render_plate

    scale = 4  # pixels per PDF point, for a crisp raster
    size = (int(page_w * scale), int(page_h * scale))
    layer = render_plate(
        size,
        policy.explicit_text,
        ratio=policy.image_height_ratio,
        corner="top-left",
        font_file=policy.font_file,
    )
    box = layer.getbbox()
    if box is None:  # pragma: no cover - render_plate always draws
        raise ContainerError("empty label plate")
    # Drop the border on the outer sides: it lies outside the page once the plate sits in its corner.
    plate = layer.crop((0, 0, box[2], box[3])).convert("RGB")
    buffer = io.BytesIO()
    plate.save(buffer, "PDF", resolution=72 * scale)
    stamp = PdfReader(io.BytesIO(buffer.getvalue())).pages[0]
    return stamp, plate.width / scale, plate.height / scale


# --- DOCX / XLSX / PPTX ----------------------------------------------------------------------------


def ooxml_read(data: bytes) -> list[ParsedLabel]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if CUSTOM_PART not in zf.namelist():
                return []
            root = ET.fromstring(zf.read(CUSTOM_PART))
    except (zipfile.BadZipFile, ET.ParseError) as exc:
        raise ContainerError(f"not a readable OOXML package: {exc}") from None
    found = []
    for prop in root.iter(f"{{{_PROPS_NS}}}property"):
        name = prop.attrib.get("name", "")
        if "AIGC" in name.upper():
            value = "".join(child.text or "" for child in prop)
            found.append(parse_label(value, f"ooxml:custom.xml:{name}"))
    return found


def _custom_xml(existing: bytes | None, label_json: str) -> bytes:
    props: list[str] = []
    pid = 1
    if existing:
        for match in re.finditer(rb"<(?:\w+:)?property\b.*?</(?:\w+:)?property>", existing, re.S):
            block = match.group(0).decode("utf-8")
            name = re.search(r'name="([^"]*)"', block)
            if name and "AIGC" in name.group(1).upper():
                continue
            props.append(block)
            found = re.search(r'pid="(\d+)"', block)
            pid = max(pid, int(found.group(1))) if found else pid
    props.append(
        f'<property fmtid="{_FMTID}" pid="{pid + 1}" name="AIGC"><vt:lpwstr>{escape(label_json)}</vt:lpwstr>'
        "</property>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Properties xmlns="{_PROPS_NS}" xmlns:vt="{_VT_NS}">{"".join(props)}</Properties>'
    ).encode()


def ooxml_write(data: bytes, label_json: str) -> bytes:
    try:
        src = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ContainerError(f"not a readable OOXML package: {exc}") from None
    out = io.BytesIO()
    with src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        existing = src.read(CUSTOM_PART) if CUSTOM_PART in names else None
        for item in src.infolist():
            body = src.read(item)
            if item.filename == CUSTOM_PART:
                continue
            if item.filename == "[Content_Types].xml" and b"/docProps/custom.xml" not in body:
                body = body.replace(
                    b"</Types>",
                    f'<Override PartName="/{CUSTOM_PART}" ContentType="{CUSTOM_TYPE}"/></Types>'.encode(),
                )
            if item.filename == "_rels/.rels" and CUSTOM_REL.encode() not in body:
                body = body.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rIdHeguiAIGC" Type="{CUSTOM_REL}" Target="{CUSTOM_PART}"/>'
                    "</Relationships>".encode(),
                )
            dst.writestr(item, body)
        dst.writestr(CUSTOM_PART, _custom_xml(existing, label_json))
    return out.getvalue()


def docx_explicit(data: bytes, policy: LabelPolicy) -> bytes:
    """The document with the explicit label as a paragraph at its start and/or end (per policy)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ContainerError(f"not a readable DOCX: {exc}") from None
    text = "\n".join(p.text for p in document.paragraphs)
    if policy.bracketed not in text:
        if policy.text_position in ("end", "both") or not document.paragraphs:
            document.add_paragraph(policy.bracketed)
        if policy.text_position in ("start", "both") and document.paragraphs:
            document.paragraphs[0].insert_paragraph_before(policy.bracketed)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_text(data: bytes) -> str:
    import docx

    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
