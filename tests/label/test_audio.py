"""Audio labels through the public entry points: no GPL tagger is loaded, exiftool reads what the
hand-written carriers wrote (ID3v2.3 as well as v2.4, Opus as well as Vorbis)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import pytest

from hegui.label import files
from hegui.label.config import LabelPolicy
from hegui.label.implicit import AigcLabel


def test_labelling_audio_loads_no_mutagen() -> None:
    code = (
        "import sys\n"
        "from hegui.label import audio, files\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'mutagen'], 'mutagen was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("name", "args", "kind", "group"),
    [
        ("v23.mp3", ("-c:a", "libmp3lame", "-id3v2_version", "3"), "mp3", "ID3v2_3"),
        ("v24.mp3", ("-c:a", "libmp3lame", "-id3v2_version", "4"), "mp3", "ID3v2_4"),
        ("a.opus", ("-c:a", "libopus"), "opus", "Vorbis"),
        ("a.flac", ("-c:a", "flac"), "flac", "Vorbis"),
    ],
)
def test_exiftool_reads_labels_written_twice(
    name: str,
    args: tuple[str, ...],
    kind: str,
    group: str,
    exiftool: str,
    tmp_path: Path,
    policy: LabelPolicy,
) -> None:
    source = tmp_path / name
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
    command += ["-i", "sine=frequency=330:duration=0.2", *args, "-metadata", "title=tone", str(source)]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        timeout=60,
    )
    first = AigcLabel.first_write(policy.producer, "audio-1")
    second = AigcLabel.first_write(policy.producer, "audio-2")
    once = files.label_bytes(source.read_bytes(), name, first, explicit=False, policy=policy)
    twice = files.label_bytes(once, name, second, explicit=False, policy=policy)
    assert [p.values for p in files.read_labels(twice, kind)] == [second.as_dict()]
    path = tmp_path / f"out-{name}"
    path.write_bytes(twice)
    done = subprocess.run(
        [exiftool, "-j", "-G1", "-u", f"-{group}:all", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    shown = json.loads(done.stdout)[0]
    values = [
        str(v).removeprefix("(AIGC) ") for k, v in shown.items() if "aigc" in str(v).lower() or "Aigc" in k
    ]
    assert [json.loads(v) for v in values] == [second.as_dict()]
    assert any(str(v) == "tone" for v in shown.values())
