"""Fixtures for the label room: small real media made here (Pillow, the ffmpeg of imageio-ffmpeg),
a policy with a provider code, and a throw-away C2PA certificate chain."""

from __future__ import annotations

import datetime as dt
import io
import math
import shutil
import struct
import subprocess

import imageio_ffmpeg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from hegui.label.audiocue import wav_bytes
from hegui.label.config import LabelPolicy
from hegui.label.files import C2paPem, label_bytes
from hegui.label.implicit import AigcLabel

PRODUCER = "001191110102MACQD9K64010000"  # an observed provider code (spec §1.3), not a made-up one


@pytest.fixture(scope="session")
def policy() -> LabelPolicy:
    return LabelPolicy(producer=PRODUCER)


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _image(fmt: str, size: tuple[int, int] = (320, 240)) -> bytes:
    img = Image.new("RGB", size, (90, 160, 220))
    for x in range(0, size[0], 16):  # some structure, so that the encoders have real work
        img.paste((200, 120, 40), (x, 0, x + 8, size[1] // 2))
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": 90} if fmt != "PNG" else {}))
    return out.getvalue()


def _tone_wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    samples = [int(8000 * math.sin(2 * math.pi * 330 * i / rate)) for i in range(int(seconds * rate))]
    return wav_bytes(struct.pack(f"<{len(samples)}h", *samples), rate, 1)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One small unlabelled sample per format."""
    tmp = tmp_path_factory.mktemp("media")
    out = {"png": _image("PNG"), "jpeg": _image("JPEG"), "webp": _image("WEBP"), "wav": _tone_wav()}
    (tmp / "in.wav").write_bytes(out["wav"])
    for kind, codec in (("mp3", "libmp3lame"), ("flac", "flac"), ("ogg", "libvorbis")):
        _ffmpeg(["-i", str(tmp / "in.wav"), "-c:a", codec, str(tmp / f"a.{kind}")])
        out[kind] = (tmp / f"a.{kind}").read_bytes()
    for kind in ("mp4", "mov"):
        _ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                "color=c=0x5aa0dc:size=320x240:rate=10:duration=4",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=330:duration=4",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
                str(tmp / f"v.{kind}"),
            ]
        )
        out[kind] = (tmp / f"v.{kind}").read_bytes()
    pdf = io.BytesIO()
    Image.new("RGB", (595, 842), (255, 255, 255)).save(pdf, "PDF")
    out["pdf"] = pdf.getvalue()
    import docx

    document = docx.Document()
    document.add_paragraph("An answer written by a model.")
    buffer = io.BytesIO()
    document.save(buffer)
    out["docx"] = buffer.getvalue()
    out["md"] = b"---\ntitle: demo\n---\n# Heading\n\nA generated paragraph.\n"
    out["txt"] = b"A generated paragraph.\n"
    return out


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hegui tests"),
        ]
    )


@pytest.fixture(scope="session")
def c2pa_pem() -> C2paPem:
    """A CA and an ES256 leaf certificate made for this run (C2PA refuses self-signed leaves)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    usage = {
        "content_commitment": False,
        "key_encipherment": False,
        "data_encipherment": False,
        "key_agreement": False,
        "encipher_only": False,
        "decipher_only": False,
    }
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("hegui test CA"))
        .issuer_name(_name("hegui test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("hegui test signer"))
        .issuer_name(_name("hegui test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return C2paPem(
        cert=leaf.public_bytes(pem) + ca.public_bytes(pem),
        key=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (its Debian package is listed in scripts/debian-packages.txt)")
    return path


@pytest.fixture(scope="session")
def exiftool() -> str:
    return _tool("exiftool")


@pytest.fixture(scope="session")
def ffprobe() -> str:
    return _tool("ffprobe")


@pytest.fixture(scope="session")
def labelled(media: dict[str, bytes], policy: LabelPolicy) -> dict[str, tuple[AigcLabel, bytes]]:
    """Every sample labelled once, explicit and implicit, through the public entry point."""
    out = {}
    for kind, data in media.items():
        label = AigcLabel.first_write(PRODUCER, f"chatcmpl-{kind}-0001")
        out[kind] = (label, label_bytes(data, f"sample.{kind}", label, explicit=True, policy=policy))
    return out
