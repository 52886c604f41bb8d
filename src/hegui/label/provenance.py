"""C2PA manifests beside the GB label (EU AI Act Art. 50(2), C2PA 2.2), through c2pa-python.

`sign` embeds a manifest whose first action is ``c2pa.created`` with digitalSourceType
``trainedAlgorithmicMedia``, signed with the configured certificate; it must be the last write to a file,
because the manifest's hard binding covers every other byte (the GB label included). `read` returns the
manifest and the library's own validation state. C2PA is an extra: without c2pa-python the functions
raise a `ConfigError` with the install hint. Nothing here removes a manifest.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hegui.errors import ConfigError, HeguiError
from hegui.label.config import C2paPolicy
from hegui.label.xmp import TRAINED_ALGORITHMIC_MEDIA

C2PA_MIME = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "pdf": "application/pdf",
}


class C2paFailed(HeguiError):
    """The C2PA library refused to sign or read; the file is not returned half-labelled."""

    code = "c2pa_failed"


def _lib() -> Any:
    try:
        import c2pa
    except ImportError:
        raise ConfigError("C2PA needs c2pa-python: pip install 'hegui[c2pa]'", key="labels.c2pa") from None
    return c2pa


def manifest_definition(policy: C2paPolicy, title: str) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": policy.claim_generator}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]
                },
            }
        ],
    }


def sign(
    data: bytes,
    kind: str,
    policy: C2paPolicy,
    *,
    title: str = "AI-generated content",
    cert_pem: bytes | None = None,
    key_pem: bytes | None = None,
) -> bytes:
    """``data`` with an embedded, signed manifest. PEMs come from the policy's files unless given."""
    c2pa = _lib()
    mime = C2PA_MIME.get(kind)
    if mime is None:
        raise C2paFailed(f"C2PA is not supported here for .{kind}")
    try:
        cert = cert_pem if cert_pem is not None else Path(policy.cert_file).read_bytes()
        key = key_pem if key_pem is not None else Path(policy.key_file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the C2PA certificate or key: {exc}", key="labels.c2pa") from None
    alg = getattr(c2pa.C2paSigningAlg, policy.algorithm.upper())
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg, cert, key, None))
        with signer, c2pa.Builder(manifest_definition(policy, title)) as builder:
            out = io.BytesIO()
            builder.sign(signer, mime, io.BytesIO(data), out)
            return out.getvalue()
    except c2pa.C2paError as exc:
        raise C2paFailed(f"C2PA signing failed: {exc}") from None


@dataclass(frozen=True)
class C2paResult:
    """What the C2PA library read: the active manifest's actions and the validation state."""

    present: bool
    validation_state: str | None
    created_ai: bool
    errors: tuple[str, ...]
    manifest: dict[str, Any] | None


def read(data: bytes, kind: str) -> C2paResult:
    c2pa = _lib()
    mime = C2PA_MIME.get(kind)
    if mime is None:
        return C2paResult(False, None, False, (), None)
    try:
        with c2pa.Reader(mime, io.BytesIO(data)) as reader:
            manifest = reader.get_active_manifest()
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc) or "not found" in str(exc):
            return C2paResult(False, None, False, (), None)
        raise C2paFailed(f"C2PA manifest unreadable: {exc}") from None
    failures = tuple(
        f"{f.get('code')}: {f.get('explanation', '')}"
        for f in (results.get("activeManifest") or {}).get("failure", [])
    )
    return C2paResult(manifest is not None, state, _created_ai(manifest), failures, manifest)


def _created_ai(manifest: dict[str, Any] | None) -> bool:
    for assertion in (manifest or {}).get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            actions = assertion.get("data", {}).get("actions", [])
            if (
                actions
                and actions[0].get("action") == "c2pa.created"
                and actions[0].get("digitalSourceType") == TRAINED_ALGORITHMIC_MEDIA
            ):
                return True
    return False


def summary(result: C2paResult) -> str:
    return json.dumps(
        {
            "present": result.present,
            "validation_state": result.validation_state,
            "created_ai": result.created_ai,
            "errors": list(result.errors),
        },
        ensure_ascii=False,
    )
