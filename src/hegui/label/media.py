"""Running the ffmpeg that imageio-ffmpeg ships, on bytes, through a private temporary directory.

Video and compressed-audio labelling needs a real encoder and muxer; this is the one place that starts
one. Inputs and outputs stay in a `TemporaryDirectory` that is removed afterwards. A failing ffmpeg
raises `MediaError` with the tail of its log: a label that could not be written is an error, never a
silently unlabelled file.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from hegui.errors import HeguiError

TIMEOUT_SECONDS = 600


class MediaError(HeguiError):
    """ffmpeg is missing or failed; the file is not labelled."""

    code = "media_tool_failed"


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise MediaError("video and audio labels need imageio-ffmpeg: pip install 'hegui[label]'") from None
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def run_ffmpeg(args: list[str]) -> None:
    """Run ffmpeg with ``args`` (no shell); raise `MediaError` on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, check=False, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise MediaError(f"ffmpeg took longer than {TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise MediaError(f"ffmpeg failed ({done.returncode}): {' | '.join(tail)}")


@contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hegui-label-") as name:
        yield Path(name)


_VIDEO_SIZE = re.compile(r", (\d{1,5})x(\d{1,5})\b")
_FPS = re.compile(r"(\d+(?:\.\d+)?) fps")
_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")


def probe_video(path: Path) -> tuple[tuple[int, int], float, float]:
    """(width, height), frames per second and duration in seconds of a video file, from ffmpeg's
    description of its input. (Not imageio-ffmpeg's frame reader: when ffmpeg exits before the reader
    is closed, as it does on a short or unreadable file, the reader leaves its pipes open.)"""
    try:
        done = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            check=False,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise MediaError(f"ffmpeg took longer than {TIMEOUT_SECONDS} s to read the video") from None
    text = done.stderr.decode("utf-8", "replace")
    if "Input #0" not in text:
        raise MediaError("cannot read video: ffmpeg does not recognise the file")
    line = next(
        (ln for ln in text.splitlines() if ln.lstrip().startswith("Stream ") and " Video: " in ln), None
    )
    size = _VIDEO_SIZE.search(line) if line is not None else None
    if line is None or size is None:
        raise MediaError("the file has no video stream")
    fps = _FPS.search(line)
    duration = _DURATION.search(text)
    seconds = 0.0
    if duration is not None:
        seconds = int(duration[1]) * 3600 + int(duration[2]) * 60 + float(duration[3])
    return (int(size[1]), int(size[2])), float(fps[1]) if fps else 0.0, seconds
