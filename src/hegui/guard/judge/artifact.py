"""The ``.npz`` artifact shared by the judgement models and the comment classifier: named numpy arrays
plus a UTF-8 JSON ``meta`` array, compressed, read with ``allow_pickle=False`` (an artifact is data,
never code). Each model checks its own arrays and meta; this module only writes and reads the container."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: What a malformed artifact raises while it is read and checked; a loader turns these into one
#: ValueError that names the file.
ARTIFACT_ERRORS = (KeyError, TypeError, ValueError, OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError)


@dataclass(frozen=True, slots=True)
class Artifact:
    arrays: dict[str, npt.NDArray[Any]]
    meta: dict[str, Any]
    #: The meta's bytes as stored (part of a model's version digest).
    meta_raw: bytes


def write_artifact(path: Path, meta: dict[str, Any], **arrays: npt.NDArray[Any]) -> None:
    raw = json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, meta=np.frombuffer(raw, dtype=np.uint8), **arrays)  # type: ignore[arg-type]
    path.write_bytes(buffer.getvalue())


def read_artifact(
    raw: bytes, names: tuple[str, ...], fmt: str | tuple[str, ...], optional: tuple[str, ...] = ()
) -> Artifact:
    """The arrays ``names`` (and those of ``optional`` that are present) and the meta of an artifact of
    format ``fmt`` (or one of several); raises one of ARTIFACT_ERRORS."""
    formats = (fmt,) if isinstance(fmt, str) else fmt
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        arrays = {n: np.asarray(npz[n]) for n in names}
        arrays |= {n: np.asarray(npz[n]) for n in optional if n in npz.files}
        meta_raw = bytes(np.asarray(npz["meta"], dtype=np.uint8).tobytes())
    meta = json.loads(meta_raw.decode("utf-8"))
    if not isinstance(meta, dict):
        raise ValueError("meta is not an object")
    if meta.get("format") not in formats:
        expected = " or ".join(repr(f) for f in formats)
        raise ValueError(f"unsupported format {meta.get('format')!r}, expected {expected}")
    return Artifact(arrays, meta, meta_raw)
