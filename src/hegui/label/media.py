"""Running the ffmpeg that imageio-ffmpeg ships, on bytes, through a private temporary directory.

Video and compressed-audio labelling needs a real encoder and muxer; this is the one place that starts
one. Inputs and outputs stay in a `TemporaryDirectory` that is removed afterwards. A failing ffmpeg
raises `MediaError` with the tail of its log: a label that could not be written is an error, never a
silently unlabelled file.
"""

from __future__ import annotations

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


def probe_video(path: Path) -> tuple[tuple[int, int], float, float]:
    """(width, height), frames per second and duration in seconds of a video file."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (RuntimeError, StopIteration, OSError) as exc:
        # imageio-ffmpeg raises OSError ("Could not load meta information" + ffmpeg's log) on a file
        # it cannot open; that log is for the operator, not for the error's message.
        raise MediaError(f"cannot read video: {str(exc).splitlines()[0][:200]}") from None
    finally:
        reader.close()
    size = meta.get("size")
    if not size:
        raise MediaError("the file has no video stream")
    return (int(size[0]), int(size[1])), float(meta.get("fps") or 0.0), float(meta.get("duration") or 0.0)
