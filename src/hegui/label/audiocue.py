"""The audible label of GB 5.3: the rhythm "短长 短短" (Morse for "AI") placed outside the content.

`cue_pcm` synthesises the rhythm (an 880 Hz tone, 100 ms unit: dot, dash, letter gap, dot, dot) followed
by a pause, so it sits before the content and never over it. `add_cue` puts it at the start or end of a
file: WAV (16-bit PCM) is edited in place; other formats go through ffmpeg. `find_cue` decodes the head
or tail of a file and looks for the rhythm by its on/off envelope (LBL-13). A spoken prompt is also
allowed by the standard but is not recognised here (no speech recognition): verify reports it as not
found. Nothing in this module removes or masks a cue.
"""

from __future__ import annotations

import array
import io
import math
import wave
from dataclasses import dataclass

from hegui.label.images import ContainerError, _riff_chunks, riff_chunk, riff_file
from hegui.label.media import run_ffmpeg, workdir

UNIT = 0.1
TONE_HZ = 880.0
#: (on?, units): short-long, letter gap, short-short, then the pause that keeps content apart.
PATTERN: tuple[tuple[bool, int], ...] = (
    (True, 1),
    (False, 1),
    (True, 3),
    (False, 3),
    (True, 1),
    (False, 1),
    (True, 1),
    (False, 6),
)
_ENCODERS = {
    "mp3": ["-c:a", "libmp3lame", "-q:a", "2"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "5"],
    "opus": ["-c:a", "libopus", "-b:a", "96k"],
}
_SR_ANALYSIS = 16000


def cue_pcm(sample_rate: int, channels: int) -> bytes:
    """The cue as interleaved signed 16-bit little-endian PCM."""
    samples = array.array("h")
    fade = int(0.005 * sample_rate)
    for on, units in PATTERN:
        n = round(units * UNIT * sample_rate)
        for i in range(n):
            value = 0
            if on:
                envelope = min(1.0, i / fade, (n - 1 - i) / fade) if fade else 1.0
                value = int(0.5 * 32767 * envelope * math.sin(2 * math.pi * TONE_HZ * i / sample_rate))
            samples.extend([value] * channels)
    if samples.itemsize != 2:  # pragma: no cover - array('h') is 16-bit on every supported platform
        raise ContainerError("16-bit samples expected")
    return samples.tobytes()


def cue_seconds() -> float:
    return sum(units for _, units in PATTERN) * UNIT


def _wav_add(data: bytes, position: str) -> bytes:
    chunks = list(_riff_chunks(data, b"WAVE"))
    fmt = next((b for c, b in chunks if c == b"fmt "), None)
    if fmt is None or len(fmt) < 16:
        raise ContainerError("WAV without a fmt chunk")
    tag, channels, rate = (
        int.from_bytes(fmt[0:2], "little"),
        int.from_bytes(fmt[2:4], "little"),
        int.from_bytes(fmt[4:8], "little"),
    )
    bits = int.from_bytes(fmt[14:16], "little")
    if tag not in (1, 0xFFFE) or bits != 16:
        raise ContainerError("in-place cue needs 16-bit PCM WAV")
    cue = cue_pcm(rate, channels)
    out = []
    for cid, body in chunks:
        if cid == b"data":
            labelled = cue + body if position == "start" else body + _reverse_pause(cue, rate, channels)
            out.append(riff_chunk(cid, labelled))
        else:
            out.append(riff_chunk(cid, body))
    return riff_file(b"WAVE", out)


def _reverse_pause(cue: bytes, rate: int, channels: int) -> bytes:
    # At the end the pause goes first: content, pause, rhythm.
    pause = PATTERN[-1][1] * UNIT
    pause_bytes = round(pause * rate) * channels * 2
    return cue[len(cue) - pause_bytes :] + cue[: len(cue) - pause_bytes]


def add_cue(data: bytes, kind: str, position: str = "start") -> bytes:
    """The file with the cue before (or after) its content."""
    if kind == "wav":
        try:
            return _wav_add(data, position)
        except ContainerError:
            pass  # not 16-bit PCM: re-encoded through ffmpeg below, as 16-bit PCM
    if kind not in _ENCODERS and kind != "wav":
        raise ContainerError(f"no audible label for .{kind}")
    with workdir() as tmp:
        src, cue, dst = tmp / f"in.{kind}", tmp / "cue.wav", tmp / f"out.{kind}"
        src.write_bytes(data)
        with wave.open(str(cue), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(48000)
            pcm = cue_pcm(48000, 1)
            w.writeframes(pcm if position == "start" else _reverse_pause(pcm, 48000, 1))
        first, second = ("[c]", "[s]") if position == "start" else ("[s]", "[c]")
        graph = (
            "[1:a]aresample=48000,aformat=sample_fmts=s16:channel_layouts=stereo[s];"
            "[0:a]aresample=48000,aformat=sample_fmts=s16:channel_layouts=stereo[c];"
            f"{first}{second}concat=n=2:v=0:a=1[a]"
        )
        encoder = _ENCODERS.get(kind, ["-c:a", "pcm_s16le"])
        run_ffmpeg(
            [
                "-i",
                str(cue),
                "-i",
                str(src),
                "-filter_complex",
                graph,
                "-map",
                "[a]",
                "-map_metadata",
                "1",
                *encoder,
                str(dst),
            ]
        )
        return dst.read_bytes()


def decode_pcm(data: bytes, kind: str) -> tuple[array.array[int], int]:
    """Mono 16-bit samples at 16 kHz (decoded by ffmpeg) and the sample rate."""
    with workdir() as tmp:
        src, dst = tmp / f"in.{kind}", tmp / "out.raw"
        src.write_bytes(data)
        run_ffmpeg(["-i", str(src), "-vn", "-ac", "1", "-ar", str(_SR_ANALYSIS), "-f", "s16le", str(dst)])
        samples = array.array("h")
        samples.frombytes(dst.read_bytes())
        return samples, _SR_ANALYSIS


@dataclass(frozen=True)
class CueMatch:
    position: str
    tones: tuple[float, ...]
    pause: float


def _segments(samples: array.array[int], rate: int) -> list[tuple[bool, float]]:
    window = int(rate * 0.01)
    levels = []
    for start in range(0, len(samples) - window + 1, window):
        chunk = samples[start : start + window]
        levels.append(math.sqrt(sum(v * v for v in chunk) / window))
    peak = max(levels, default=0.0)
    if peak <= 0:
        return []
    runs: list[tuple[bool, float]] = []
    for level in levels:
        on = level > 0.2 * peak
        if runs and runs[-1][0] == on:
            runs[-1] = (on, runs[-1][1] + 0.01)
        else:
            runs.append((on, 0.01))
    return runs


def _matches(runs: list[tuple[bool, float]], long_at: int) -> CueMatch | None:
    while runs and not runs[0][0]:
        runs = runs[1:]
    if len(runs) < 7:
        return None
    tones = [runs[i][1] for i in (0, 2, 4, 6)]
    gaps = [runs[i][1] for i in (1, 3, 5)]
    shorts = [t for i, t in enumerate(tones) if i != long_at]
    short = sum(shorts) / len(shorts)
    rhythm = tones[long_at] >= 2 * short and max(shorts) < 1.6 * short
    letter_gap = gaps[1] >= 2 * max(gaps[0], gaps[2])
    pause = runs[7][1] if len(runs) > 7 and not runs[7][0] else (0.0 if len(runs) > 7 else math.inf)
    if rhythm and letter_gap and pause >= 0.3:
        return CueMatch("", tuple(round(t, 2) for t in tones), pause)
    return None


def find_cue(data: bytes, kind: str) -> CueMatch | None:
    """The Morse 'AI' cue at the start or the end, followed (or preceded) by a pause; None if absent."""
    samples, rate = decode_pcm(data, kind)
    span = int((cue_seconds() + 0.3) * rate)
    head = _matches(_segments(samples[:span], rate), long_at=1)
    if head is not None:
        return CueMatch("start", head.tones, head.pause)
    tail = _segments(samples[-span:], rate)
    tail.reverse()
    found = _matches(tail, long_at=2)
    if found is not None:
        return CueMatch("end", tuple(reversed(found.tones)), found.pause)
    return None


def wav_bytes(samples: bytes, rate: int, channels: int) -> bytes:
    """A 16-bit PCM WAV file of ``samples`` (used to build demonstration and test inputs)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples)
    return buffer.getvalue()
