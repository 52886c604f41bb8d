"""The label route's checks before decoding (hegui.gateway.uploads): what passes, what is refused."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from tests.gateway.conftest import MakeClient
from tests.gateway.test_bad_input_corpus import png_header

from hegui.errors import PayloadTooLarge
from hegui.gateway.uploads import MalformedUpload, TooManyPixels, iso_boxes, preflight

LIMIT = 36_000_000


def _video(tmp_path: Path, kind: str) -> bytes:
    import imageio_ffmpeg

    out = tmp_path / f"v.{kind}"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"),
            *("-i", "color=c=0x5aa0dc:size=64x64:rate=5:duration=1"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)),
        ],
        check=True,
        timeout=120,
    )
    return out.read_bytes()


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["mp4", "mov"])
def test_real_videos_pass_the_box_check(tmp_path: Path, kind: str) -> None:
    data = _video(tmp_path, kind)
    assert b"moov" in iso_boxes(data)
    preflight(data, kind, max_pixels=LIMIT)


@pytest.mark.parametrize(
    ("data", "kind", "error"),
    [
        (b"\x00\x00\x00\x08ftyp", "mp4", MalformedUpload),  # no movie header
        (b"\x00\x00\x00\x10ftypisom", "mp4", MalformedUpload),  # a box longer than the file
        (b"\x00\x00\x00\x04ftyp", "mov", MalformedUpload),  # a box shorter than its header
        (b"\xff\xfe#\x00 \x00", "md", MalformedUpload),  # UTF-16
        (b"caf\xe9", "txt", MalformedUpload),  # Latin-1
        (png_header(20000, 20000), "png", TooManyPixels),  # past Pillow's own refusal
        (png_header(10000, 10000), "png", TooManyPixels),  # Pillow warns: refused, not decoded
        (png_header(6001, 6000), "png", TooManyPixels),  # just above our limit
        (b"\x89PNG\r\n\x1a\n", "png", MalformedUpload),
    ],
)
def test_refused_before_decoding(data: bytes, kind: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        preflight(data, kind, max_pixels=LIMIT)


def test_too_many_pixels_is_a_413() -> None:
    assert issubclass(TooManyPixels, PayloadTooLarge)


@pytest.mark.parametrize(("data", "kind"), [(png_header(6000, 6000), "png"), ("标题".encode(), "md")])
def test_within_the_limits_passes(data: bytes, kind: str) -> None:
    preflight(data, kind, max_pixels=LIMIT)


def test_the_route_labels_a_real_video_and_refuses_a_large_image(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(max_image_pixels=1_000_000)
    r = client.post("/hegui/api/label?filename=v.mp4", content=_video(tmp_path, "mp4"))
    assert r.status_code == 200, r.text
    r = client.post("/hegui/api/label?filename=a.png", content=_png(1001, 1000))
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"
    assert client.post("/hegui/api/label?filename=a.png", content=_png(1000, 1000)).status_code == 200


@pytest.mark.parametrize(
    ("image", "message"),
    [(png_header(20000, 20000), "past the pixel limit"), (b"not a picture", "not a readable image")],
    ids=["huge", "garbage"],
)
def test_a_bad_generated_image_is_the_upstreams_fault(
    make_client: MakeClient, image: bytes, message: str
) -> None:
    import base64

    import httpx

    def upstream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"created": 1, "data": [{"b64_json": base64.b64encode(image).decode()}]}
        )

    client = make_client(mock=httpx.MockTransport(upstream))
    r = client.post("/v1/images/generations", json={"model": "mock-model", "prompt": "一只猫"})
    assert r.status_code == 502, r.text
    assert message in r.json()["error"]["message"]
