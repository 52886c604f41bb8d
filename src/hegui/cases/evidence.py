"""Evidence files: the type is read from the file's first bytes (a browser's claim is not trusted), and
the size and count are bounded by ``[cases]``. A file that fits no accepted type is refused, with a
message that says which types are accepted."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hegui.cases.config import CasesPolicy
from hegui.errors import PayloadTooLarge, RequestError, UnsupportedMediaType

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` by its content, or None when it is none we know."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain"


@dataclass(frozen=True, slots=True)
class Evidence:
    filename: str
    media_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_evidence(policy: CasesPolicy, files: list[tuple[str, bytes]]) -> list[Evidence]:
    """Validate uploaded files (name, bytes); raises with a message a complainant can act on."""
    files = [(n, d) for n, d in files if d]  # an empty file input sends an empty part
    if len(files) > policy.evidence_max_files:
        raise RequestError(
            f"at most {policy.evidence_max_files} evidence files / 最多上传 {policy.evidence_max_files} 个证据文件",
            param="evidence",
        )
    out = []
    for name, data in files:
        short = (name or "evidence").replace("\\", "/").rsplit("/", 1)[-1][:200]
        if len(data) > policy.evidence_max_bytes:
            raise PayloadTooLarge(
                f"{short}: {len(data)} bytes is over the limit of {policy.evidence_max_bytes} bytes / "
                f"文件超过大小限制 {policy.evidence_max_bytes} 字节",
                param="evidence",
            )
        media_type = sniff(data)
        if media_type is None or media_type not in policy.evidence_types:
            raise UnsupportedMediaType(
                f"{short}: not an accepted file type; accepted: {', '.join(policy.evidence_types)} / "
                "文件类型不受支持",
                param="evidence",
            )
        out.append(Evidence(short, media_type, data))
    return out
