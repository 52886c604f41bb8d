"""The media fetcher connects to the checked address, yet TLS still checks the certificate against the name.

A loopback HTTPS server with a certificate for ``images.test`` (from a throwaway CA made here with
``cryptography``); the fetcher resolves the name to 127.0.0.1 through a scripted resolver, connects to
that address and sends the name as SNI, so the certificate verifies. A certificate for another name fails.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hegui.errors import MediaFetchRefused
from hegui.gateway.fetch import FetchPolicy, MediaFetcher

BODY = b"an image, over TLS"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _certs(tmp: Path, server_name: str) -> tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("hegui test CA"))
        .issuer_name(_name("hegui test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(server_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _server(tmp: Path, server_name: str) -> Iterator[tuple[int, Path]]:
    ca, cert, key = _certs(tmp, server_name)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1]), ca
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def images_test(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    yield from _server(tmp_path, "images.test")


@pytest.fixture
def other_test(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    yield from _server(tmp_path, "other.test")


async def _to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def _fetch(port: int, ca: Path) -> bytes:
    policy = FetchPolicy(
        max_bytes=1000, timeout=5.0, max_redirects=0, allow=(ipaddress.ip_network("127.0.0.0/8"),)
    )

    async def go() -> bytes:
        verify = ssl.create_default_context(cafile=str(ca))
        async with MediaFetcher(policy, resolver=_to_loopback, verify=verify) as fetcher:
            return await fetcher.fetch(f"https://images.test:{port}/a.png")

    return asyncio.run(go())


def test_the_certificate_is_checked_against_the_name(images_test: tuple[int, Path]) -> None:
    assert _fetch(*images_test) == BODY


def test_a_certificate_for_another_name_is_refused(other_test: tuple[int, Path]) -> None:
    with pytest.raises(MediaFetchRefused, match="ConnectError"):
        _fetch(*other_test)
