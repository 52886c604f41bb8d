"""The opt-in PyPI resolver (`--resolve pypi`).

No test touches the real network: a local HTTP server started here stands in for PyPI's JSON API
(``/pypi/<name>[/<version>]/json``) and counts the requests it gets.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.licenses.pypi import PyPIResolver, license_of_json, resolve_inventory
from hegui.licenses.scan_python import scan_requirements
from hegui.licenses.types import Inventory

SLOW_SECONDS = 1.0
TIMEOUT = 0.2


def _info(name: str, version: str, **fields: object) -> bytes:
    return json.dumps({"info": {"name": name, "version": version, **fields}}).encode()


# path -> (status, body); stand-in for https://pypi.org/pypi
ROUTES: dict[str, tuple[int, bytes]] = {
    "/pypi/expr/1.0/json": (200, _info("expr", "1.0", license_expression="MIT", license="BSD")),
    "/pypi/expr/json": (200, _info("expr", "2.0", license_expression="Apache-2.0")),
    "/pypi/short/3.1/json": (
        200,
        _info("short", "3.1", license="BSD-3-Clause", classifiers=["License :: OSI Approved :: MIT License"]),
    ),
    "/pypi/classy/json": (
        200,
        _info(
            "classy",
            "0.9",
            license="",
            classifiers=["License :: OSI Approved", "License :: OSI Approved :: Apache Software License"],
        ),
    ),
    "/pypi/nolicense/json": (200, _info("nolicense", "1.0", license=None, classifiers=[])),
    "/pypi/projectonly/json": (200, _info("projectonly", "2.0", license_expression="ISC")),
    "/pypi/broken/json": (200, b"{not json"),
    "/pypi/noinfo/json": (200, b'{"releases": {}}'),
    "/pypi/oops/json": (500, b"internal error"),
}


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Handler.hits.append(self.path)
        if self.path == "/pypi/slow/json":
            time.sleep(SLOW_SECONDS)
        status, body = ROUTES.get(self.path, (404, b'{"message": "Not Found"}'))
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (the timeout case)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def index() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pypi"
    server.shutdown()
    server.server_close()


@pytest.fixture()
def hits() -> list[str]:
    _Handler.hits.clear()
    return _Handler.hits


def _resolver(index: str, tmp_path: Path, **kw: Any) -> PyPIResolver:
    return PyPIResolver(index_url=index, cache_dir=tmp_path / "cache", timeout=TIMEOUT, **kw)


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"license_expression": "MIT", "license": "BSD"}, ("MIT", "License-Expression")),
        (
            {"license": "BSD-3-Clause", "classifiers": ["License :: OSI Approved :: MIT License"]},
            ("BSD-3-Clause", "License"),
        ),
        (
            {"license": "UNKNOWN", "classifiers": ["License :: OSI Approved :: MIT License"]},
            ("License :: OSI Approved :: MIT License", "Classifier"),
        ),
        ({"license": None, "classifiers": []}, (None, "License")),
        (
            {"license": "Apache License\nVersion 2.0, January 2004"},
            ("Apache License\nVersion 2.0, January 2004", "License"),
        ),
    ],
)
def test_json_license_read_like_installed_metadata(
    info: dict[str, object], expected: tuple[str | None, str]
) -> None:
    assert license_of_json(info) == expected


@pytest.mark.parametrize(
    ("name", "version", "license", "field", "got_version"),
    [
        ("expr", "1.0", "MIT", "info.license_expression", "1.0"),
        ("expr", "", "Apache-2.0", "info.license_expression", "2.0"),
        ("short", "3.1", "BSD-3-Clause", "info.license", "3.1"),
        ("classy", "", "License :: OSI Approved :: Apache Software License", "info.classifiers", "0.9"),
        ("nolicense", "", None, "info.license", "1.0"),
    ],
)
def test_fetch_reads_license(
    index: str, tmp_path: Path, name: str, version: str, license: str | None, field: str, got_version: str
) -> None:
    (got,) = _resolver(index, tmp_path).fetch_all([(name, version)])
    assert (got.error, got.license, got.field, got.version) == ("", license, field, got_version)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("missing", "HTTP 404 (not found on the index)"),
        ("oops", "HTTP 500 (unexpected answer)"),
        ("broken", "malformed JSON"),
        ("noinfo", "malformed JSON: no `info` object"),
        ("slow", "timed out after 0.2 s"),
    ],
)
def test_failures_are_answers_not_exceptions(index: str, tmp_path: Path, name: str, error: str) -> None:
    (got,) = _resolver(index, tmp_path).fetch_all([(name, "")])
    assert got.error.startswith(error)
    assert got.license is None


def test_offline_is_a_finding(tmp_path: Path) -> None:
    # port 9 (discard) on localhost: nothing listens, so the connection is refused
    (got,) = _resolver("http://127.0.0.1:9/pypi", tmp_path).fetch_all([("expr", "1.0")])
    assert got.error.startswith("request failed: ConnectError")


def test_cache_serves_repeat_lookups(index: str, tmp_path: Path, hits: list[str]) -> None:
    first = _resolver(index, tmp_path).fetch_all([("expr", "1.0"), ("broken", "")])
    second = _resolver(index, tmp_path).fetch_all([("expr", "1.0"), ("broken", "")])
    assert [g.cached for g in first] == [False, False]
    # the good answer comes from disk; the failure is not cached and is asked again
    assert [g.cached for g in second] == [True, False]
    assert second[0].license == "MIT"
    assert hits.count("/pypi/expr/1.0/json") == 1 and hits.count("/pypi/broken/json") == 2
    off = _resolver(index, tmp_path, use_cache=False).fetch_all([("expr", "1.0")])
    assert not off[0].cached and hits.count("/pypi/expr/1.0/json") == 2


def test_damaged_cache_entry_is_refetched(index: str, tmp_path: Path, hits: list[str]) -> None:
    resolver = _resolver(index, tmp_path)
    resolver.fetch_all([("expr", "1.0")])
    (tmp_path / "cache" / "expr" / "1.0.json").write_text("{garbage", encoding="utf-8")
    (got,) = resolver.fetch_all([("expr", "1.0")])
    assert (got.license, got.cached) == ("MIT", False)
    assert hits.count("/pypi/expr/1.0/json") == 2


def test_concurrency_is_bounded_and_progress_reported(index: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        PyPIResolver(concurrency=0)
    seen: list[tuple[int, int]] = []
    names = [("expr", "1.0"), ("short", "3.1"), ("classy", ""), ("missing", "")]
    got = _resolver(index, tmp_path, concurrency=2).fetch_all(names, lambda d, t: seen.append((d, t)))
    assert [g.name for g in got] == [n for n, _ in names]
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_resolve_inventory(index: str, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("expr==1.0\nexpr\nclassy>=0.1\nmissing==9\nprojectonly==1.0\n", encoding="utf-8")
    inv = Inventory(root=str(tmp_path))
    scan_requirements(req, inv, tmp_path, {})
    assert all("unresolved" in c.notes for c in inv.components)
    assert resolve_inventory(inv, _resolver(index, tmp_path)) == 4
    by_line = {c.evidence.field if c.license is None else c.notes[0]: c for c in inv.components}
    pinned = by_line["declared in requirements.txt:line 1"]
    assert (pinned.license, pinned.version) == ("MIT", "1.0")
    assert pinned.evidence.file.endswith("/pypi/expr/1.0/json")
    latest = by_line["declared in requirements.txt:line 2"]
    assert (latest.license, latest.version) == ("Apache-2.0", "2.0")
    assert "latest release 2.0; not pinned" in latest.evidence.field
    assert "no exact pin" in latest.notes[1]
    # an index without per-release JSON: the project JSON (latest release) answers, and says so
    fallback = by_line["declared in requirements.txt:line 5"]
    assert (fallback.license, fallback.version) == ("ISC", "1.0")
    assert "latest release 2.0; 1.0 has no JSON on this index" in fallback.evidence.field
    missing = by_line["line 4"]
    assert "unresolved" in missing.notes
    (finding,) = inv.findings
    assert (finding.rule, finding.component) == ("pypi-lookup-failed", "python:missing")
    assert "missing==9" in finding.message and "HTTP 404" in finding.message


def _scan(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["licenses", "scan", *args])
    return result.exit_code, result.stdout


def test_cli_resolve_is_opt_in(index: str, tmp_path: Path, hits: list[str]) -> None:
    (tmp_path / "requirements.txt").write_text("expr==1.0\nmissing\n", encoding="utf-8")
    common = ["--format", "json", "--fail-on", "never", "--pypi-url", index, "--no-progress"]
    code, out = _scan(str(tmp_path), *common)
    assert code == 0 and hits == []
    assert {c["name"]: c["declared"] for c in json.loads(out)["components"]} == {
        "expr": None,
        "missing": None,
    }
    code, out = _scan(str(tmp_path), *common, "--resolve", "pypi", "--pypi-cache", str(tmp_path / "c"))
    data = json.loads(out)
    assert code == 0 and sorted(hits) == ["/pypi/expr/1.0/json", "/pypi/missing/json"]
    assert {c["name"]: c["declared"] for c in data["components"]} == {"expr": "MIT", "missing": None}
    rules = {(f["rule"], f["component"]) for f in data["findings"]}
    assert ("pypi-lookup-failed", "python:missing") in rules
    assert ("unresolved-dependencies", "file:requirements.txt") in rules
