"""The TC260 XMP packet: ``TC260:AIGC`` in namespace ``http://www.tc260.org.cn/ns/AIGC/1.0/``.

Used by the PNG, JPEG and WebP carriers (LBL-09). `build_packet` writes one packet holding the label and
the IPTC digital source type (mirroring C2PA, EU Art. 50); `find_labels` returns every ``TC260:AIGC``
value in a packet, in either the element or the attribute form, so that a second label is seen and
reported (LBL-05) rather than silently ignored. The parser is the standard library's ElementTree with
entity expansion left off (no DTDs are accepted).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

_TEMPLATE = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="hegui">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '  <rdf:Description rdf:about=""\n'
    '    xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"\n'
    '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">\n'
    "   <TC260:AIGC>{label}</TC260:AIGC>\n"
    "   <Iptc4xmpExt:DigitalSourceType>{source}</Iptc4xmpExt:DigitalSourceType>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>'
)


class XmpError(ValueError):
    """The XMP packet is not well-formed XML."""


def build_packet(label_json: str) -> bytes:
    """One XMP packet holding the label (entity-escaped) and the IPTC digital source type."""
    return _TEMPLATE.format(label=escape(label_json), source=TRAINED_ALGORITHMIC_MEDIA).encode("utf-8")


def _xml_part(packet: bytes) -> str:
    text = packet.decode("utf-8", errors="strict").lstrip("\ufeff")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise XmpError("XMP packet with a DTD is refused")
    # The xpacket processing instructions are legal XML; keep them, ElementTree skips them.
    return text


def find_labels(packet: bytes) -> list[str]:
    """Every ``TC260:AIGC`` value in the packet (element text or attribute), in document order."""
    try:
        root = ET.fromstring(_xml_part(packet))
    except (ET.ParseError, UnicodeDecodeError) as exc:
        raise XmpError(f"XMP packet is not well-formed: {exc}") from None
    found: list[str] = []
    tag = f"{{{TC260_NS}}}AIGC"
    for element in root.iter():
        attr = element.attrib.get(tag)
        if attr is not None:
            found.append(attr)
        if element.tag == tag:
            found.append((element.text or "").strip())
    return found


def has_foreign_aigc_namespace(packet: bytes) -> bool:
    """True when a packet names an AIGC element under a namespace other than TC260's (LBL-09)."""
    text = packet.decode("utf-8", errors="replace")
    for prefix, uri in re.findall(r'xmlns:([\w.-]+)="([^"]*)"', text):
        if uri != TC260_NS and re.search(rf"<{re.escape(prefix)}:AIGC[\s>]", text):
            return True
    return False


def digital_source_type(packet: bytes) -> str | None:
    try:
        root = ET.fromstring(_xml_part(packet))
    except (ET.ParseError, UnicodeDecodeError):
        return None
    for element in root.iter(f"{{{IPTC_EXT_NS}}}DigitalSourceType"):
        return (element.text or "").strip()
    return None


_ELEMENT = re.compile(r"<(?P<p>[\w.-]+):AIGC\b[^>]*?(?:/>|>.*?</(?P=p):AIGC>)", re.S)
_ATTRIBUTE = re.compile(r'\s(?P<p>[\w.-]+):AIGC="[^"]*"')
_DESCRIPTION = re.compile(r"<rdf:Description\b(?P<attrs>[^>]*?)(?P<close>/?)>", re.S)


def _tc260_prefixes(text: str) -> set[str]:
    return {p for p, uri in re.findall(r'xmlns:([\w.-]+)="([^"]*)"', text) if uri == TC260_NS}


def merge_packet(existing: bytes | None, label_json: str) -> bytes:
    """Set ``TC260:AIGC`` in an existing packet, keeping every other property (PG: update property by
    property, never replace the namespace). Any earlier TC260 AIGC value is overwritten, never kept
    beside the new one (GB 6.1 c). Without a usable packet, a new one is built.
    """
    if not existing:
        return build_packet(label_json)
    try:
        text = existing.decode("utf-8")
        ET.fromstring(_xml_part(existing))
    except (UnicodeDecodeError, ET.ParseError, XmpError):
        # An unreadable packet cannot be updated property by property; it is replaced so that the file
        # ends with exactly one readable label rather than an unreadable one.
        return build_packet(label_json)
    prefixes = _tc260_prefixes(text)
    text = _ELEMENT.sub(lambda m: "" if m.group("p") in prefixes else m.group(0), text)
    text = _ATTRIBUTE.sub(lambda m: "" if m.group("p") in prefixes else m.group(0), text)
    match = _DESCRIPTION.search(text)
    if match is None:
        return build_packet(label_json)
    attrs = match.group("attrs")
    if 'xmlns:TC260="' not in attrs:
        attrs += f' xmlns:TC260="{TC260_NS}"'
    if 'xmlns:Iptc4xmpExt="' not in attrs and "Iptc4xmpExt:DigitalSourceType" not in text:
        attrs += f' xmlns:Iptc4xmpExt="{IPTC_EXT_NS}"'
    body = f"<TC260:AIGC>{escape(label_json)}</TC260:AIGC>"
    if "Iptc4xmpExt:DigitalSourceType" not in text:
        body += f"<Iptc4xmpExt:DigitalSourceType>{TRAINED_ALGORITHMIC_MEDIA}</Iptc4xmpExt:DigitalSourceType>"
    opening = f"<rdf:Description{attrs}>"
    replacement = opening + body + ("</rdf:Description>" if match.group("close") else "")
    merged = text[: match.start()] + replacement + text[match.end() :]
    out = merged.encode("utf-8")
    if len(find_labels(out)) != 1:
        raise XmpError("merging the label into the XMP packet did not leave exactly one TC260:AIGC")
    return out
