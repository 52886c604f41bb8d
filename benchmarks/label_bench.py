"""Benchmark: `label_bytes` (add, explicit + implicit, read back) and `verify_bytes` per format.

Inputs: 1024×1024 PNG and JPEG, 10 s WAV and MP3, 10 s 720p MP4, made here with Pillow and the bundled
ffmpeg. Writes its table to benchmarks/RESULTS.md (section "label").
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _results import machine, write_section

from hegui.label.config import LabelPolicy
from hegui.label.files import label_bytes
from hegui.label.implicit import AigcLabel
from hegui.label.verify import verify_bytes

POLICY = LabelPolicy(producer="001191110102MACQD9K64010000")


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True
    )


def inputs() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    img = Image.effect_mandelbrot((1024, 1024), (-2, -1.5, 1, 1.5), 100).convert("RGB")
    for fmt, kind in (("PNG", "png"), ("JPEG", "jpeg")):
        buffer = io.BytesIO()
        img.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        out[kind] = buffer.getvalue()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        _ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=330:duration=10:sample_rate=44100",
                "-ac",
                "2",
                str(tmp / "a.wav"),
            ]
        )
        _ffmpeg(["-i", str(tmp / "a.wav"), "-c:a", "libmp3lame", "-q:a", "2", str(tmp / "a.mp3")])
        _ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=1280x720:rate=25:duration=10",
                "-f",
                "lavfi",
                "-i",
                "sine=duration=10",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
                str(tmp / "v.mp4"),
            ]
        )
        for kind, file in (("wav", "a.wav"), ("mp3", "a.mp3"), ("mp4", "v.mp4")):
            out[kind] = (tmp / file).read_bytes()
    return out


def main() -> None:
    rows = [
        "| input | size | add explicit+implicit (ms) | add implicit only (ms) | verify (ms) | verify result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    names = {
        "png": "PNG 1024×1024",
        "jpeg": "JPEG 1024×1024",
        "wav": "WAV 10 s stereo 44.1 kHz",
        "mp3": "MP3 10 s",
        "mp4": "MP4 10 s 1280×720 H.264",
    }
    for kind, data in inputs().items():
        label = AigcLabel.first_write(POLICY.producer, f"bench-{kind}")
        t0 = time.perf_counter()
        out = label_bytes(data, kind, label, explicit=True, policy=POLICY)
        t1 = time.perf_counter()
        label_bytes(data, kind, label, explicit=False, policy=POLICY)
        t2 = time.perf_counter()
        report = verify_bytes(out, kind, POLICY)
        t3 = time.perf_counter()
        rows.append(
            f"| {names[kind]} | {len(data) / 1e6:.2f} MB | {(t1 - t0) * 1e3:.1f} | {(t2 - t1) * 1e3:.1f} | {(t3 - t2) * 1e3:.1f} | "
            f"{'pass' if report.passed else 'FAIL ' + ' '.join(report.failed())} |"
        )
    table = "\n".join(rows)
    print(table)
    write_section(
        "label", f"## Labels: add + verify (`benchmarks/label_bench.py`)\n\n{machine()}\n\n{table}\n"
    )


if __name__ == "__main__":
    main()
