"""MP4 / MOV labels: the ``AIGC`` key in ``moov.udta.meta`` (mdta keys + ilst), and the visible label in
the start frame for at least 2 s (GB 5.4, PG-20257A).

Writing goes through ffmpeg (``-movflags use_metadata_tags``; without it the key is dropped silently, so
every write is read back by `mp4_read`, a small box parser, and by the caller). The visible label is the
same plate as on images, overlaid for ``video_label_seconds`` from t = 0. `label_duration` decodes the
start of a video and measures for how long the plate is really there (LBL-12). Nothing here removes a label.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from hegui.label.images import ContainerError
from hegui.label.implicit import ParsedLabel, parse_label
from hegui.label.media import MediaError, probe_video, run_ffmpeg, workdir
from hegui.label.visible import measure, render_plate

SAMPLE_FPS = 10


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each box in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ContainerError(f"MP4 box {kind!r} at {pos} has a bad size")
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> list[tuple[int, int]]:
    return [(s, e) for k, s, e in _boxes(data, start, end) if k == kind]


def _meta_items(data: bytes, start: int, end: int) -> list[tuple[str, str]]:
    # ISO meta is a full box (4 bytes of version and flags); QuickTime meta is not.
    if data[start + 4 : start + 8] != b"hdlr":
        start += 4
    keys: list[str] = []
    for ks, ke in _child(data, start, end, b"keys"):
        (count,) = struct.unpack(">I", data[ks + 4 : ks + 8])
        pos = ks + 8
        for _ in range(count):
            (size,) = struct.unpack(">I", data[pos : pos + 4])
            keys.append(data[pos + 8 : pos + size].decode("utf-8", "replace"))
            pos += size
        del ke
    items: list[tuple[str, str]] = []
    for ls, le in _child(data, start, end, b"ilst"):
        for kind, s, e in _boxes(data, ls, le):
            index = int.from_bytes(kind, "big")
            name = keys[index - 1] if 0 < index <= len(keys) else kind.decode("latin-1")
            for ds, de in _child(data, s, e, b"data"):
                items.append((name, data[ds + 8 : de].decode("utf-8", "replace")))
    return items


def mp4_tags(data: bytes) -> list[tuple[str, str]]:
    """Every (key, value) of the mdta/ilst metadata under ``moov`` and ``moov.udta``."""
    found: list[tuple[str, str]] = []
    for ms, me in _child(data, 0, len(data), b"moov"):
        parents = [(ms, me), *_child(data, ms, me, b"udta")]
        for ps, pe in parents:
            for s, e in _child(data, ps, pe, b"meta"):
                found += _meta_items(data, s, e)
    return found


def mp4_read(data: bytes) -> list[ParsedLabel]:
    return [
        parse_label(value, f"mp4:moov.udta.meta:{key}")
        for key, value in mp4_tags(data)
        if "AIGC" in key.upper()
    ]


def _mux_format(kind: str) -> str:
    return "mov" if kind == "mov" else "mp4"


def mp4_write(data: bytes, label_json: str, kind: str = "mp4") -> bytes:
    """Remux (no re-encoding) with the ``AIGC`` key; other AIGC-named keys are replaced by it."""
    others = {key for key, _ in mp4_tags(data) if "AIGC" in key.upper() and key != "AIGC"}
    with workdir() as tmp:
        src, dst = tmp / f"in.{kind}", tmp / f"out.{kind}"
        src.write_bytes(data)
        args = ["-i", str(src), "-map", "0", "-c", "copy", "-map_metadata", "0"]
        for key in sorted(others):
            args += ["-metadata", f"{key}="]
        args += [
            "-metadata",
            f"AIGC={label_json}",
            "-movflags",
            "use_metadata_tags",
            "-f",
            _mux_format(kind),
            str(dst),
        ]
        run_ffmpeg(args)
        return dst.read_bytes()


def add_visible(
    data: bytes,
    text: str,
    *,
    ratio: float,
    corner: str,
    seconds: float,
    kind: str = "mp4",
    font_file: str = "",
) -> bytes:
    """Overlay the label plate from the start frame for ``seconds``; audio is copied as it is."""
    with workdir() as tmp:
        src, plate, dst = tmp / f"in.{kind}", tmp / "plate.png", tmp / f"out.{kind}"
        src.write_bytes(data)
        size, _fps, _duration = probe_video(src)
        render_plate(size, text, ratio=ratio, corner=corner, font_file=font_file).save(plate)
        run_ffmpeg(
            [
                "-i",
                str(src),
                "-i",
                str(plate),
                "-filter_complex",
                f"[0:v][1:v]overlay=0:0:enable='lt(t,{seconds:.3f})'[v]",
                "-map",
                "[v]",
                "-map",
                "0:a?",
                "-map_metadata",
                "0",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "18",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "copy",
                "-movflags",
                "use_metadata_tags",
                "-f",
                _mux_format(kind),
                str(dst),
            ]
        )
        return dst.read_bytes()


@dataclass(frozen=True)
class VideoLabelTiming:
    """How long the visible label stays from the start frame, measured on decoded frames."""

    seconds: float
    video_seconds: float
    in_start_frame: bool
    min_ratio: float


def label_duration(data: bytes, kind: str = "mp4", *, limit: float = 30.0) -> VideoLabelTiming:
    """Decode the start of the video at `SAMPLE_FPS` and measure the run of frames carrying the plate."""
    import imageio_ffmpeg

    with workdir() as tmp:
        src = tmp / f"in.{kind}"
        src.write_bytes(data)
        return _measure_frames(src, imageio_ffmpeg, limit)


def _measure_frames(src: Path, imageio_ffmpeg: object, limit: float) -> VideoLabelTiming:
    reader = imageio_ffmpeg.read_frames(  # type: ignore[attr-defined]
        str(src), output_params=["-vf", f"fps={SAMPLE_FPS}", "-t", f"{limit:.3f}"]
    )
    try:
        meta = next(reader)
        size = tuple(meta["size"])
        duration = float(meta.get("duration") or 0.0)
        frames, ratios, first = 0, [], False
        for index, frame in enumerate(reader):
            found = measure(Image.frombytes("RGB", size, frame))
            if found is None:
                break
            first = first or index == 0
            frames += 1
            ratios.append(found.ratio)
    except (RuntimeError, OSError) as exc:
        raise MediaError(f"cannot decode video: {exc}") from None
    finally:
        reader.close()
    return VideoLabelTiming(frames / SAMPLE_FPS, duration, first, min(ratios) if ratios else 0.0)
