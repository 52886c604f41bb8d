"""A bad-input corpus across every route: 4xx with an OpenAI-shaped error, never 5xx, no partial record.

Three parts, all against one gateway in-process (the demo upstream, so nothing leaves the process):

- a table of inputs known to be bad, on every route (model API, admin API, label uploads), each of
  which must be answered 4xx;
- mutations in the manner of hypothesis, generated from a seeded random source: every field of a valid
  body of every JSON route replaced by an odd value (NUL, 10^23, 300 characters, lists, objects …),
  removed, or joined by an unknown one, the body itself replaced, and random byte flips and cuts of
  valid files for the label route. A mutation may turn out valid (then any 2xx is fine); it must never
  get a 5xx;
- for every 4xx, the audit chain and every records table are exactly as before the request (nothing
  was half-done), and the message shows no temporary path, subprocess output or object address.

The seed is fixed so that a failure can be replayed; the test prints the case that failed.
"""

from __future__ import annotations

import copy
import io
import json
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from starlette.testclient import TestClient

from hegui.gateway import create_app
from hegui.policy import parse_policy
from hegui.records.keep import settle
from hegui.records.tables import Base
from hegui.settings import Settings

POLICY = """
version = "corpus"
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]
[[checks]]
name = "demo-denylist"
type = "denylist"
terms = ["演示违禁词"]
"""

SEED = 20261130
MUTATIONS_PER_ROUTE = 24
#: Text no error message may contain: temporary paths, subprocess output, object addresses, traces.
LEAKS = ("/tmp", "hegui-label-", "ffmpeg", "Traceback", " at 0x", "stderr", "Error opening")


@dataclass(frozen=True)
class Case:
    """One request: who sends it (client or admin key), how, and whether it must be a 4xx."""

    name: str
    method: str
    path: str
    admin: bool = False
    json_body: Any = None
    content: bytes | None = None
    must_fail: bool = True
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Gateway:
    client: TestClient
    admin: TestClient
    state: Any
    data_dir: Path
    outcomes: dict[str, int] = field(default_factory=dict)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data = Path(tmp_path_factory.mktemp("corpus"))
    app = create_app(Settings(data_dir=data), policy=parse_policy(POLICY, "corpus.toml"))
    state = app.state.hegui
    key, _ = state.keys.create(name="client")
    admin_key, _ = state.keys.create(name="admin", role="admin")
    client = TestClient(app, headers={"authorization": f"Bearer {key}"}, raise_server_exceptions=False)
    admin = TestClient(app, headers={"authorization": f"Bearer {admin_key}"}, raise_server_exceptions=False)
    with client, admin:
        gw = Gateway(client, admin, state, data)
        # Something to act on: a published agreement, a DSR, an export.
        admin.post("/hegui/api/agreements", json={"kind": "service", "version": "1", "text": "协议"})
        admin.post("/hegui/api/dsr", json={"user": "u1", "kind": "access"})
        admin.post("/hegui/api/pool/exports", json={"name": "base"})
        yield gw


# ---------------------------------------------------------------- valid bodies, odd values, files

CHAT = {"model": "hegui-demo", "messages": [{"role": "user", "content": "你好"}], "user": "u1"}
RESPONSES = {
    "model": "hegui-demo",
    "instructions": "简短",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "你好"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "晴"},
    ],
    "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}],
    "user": "u1",
}
MESSAGES = {
    "model": "hegui-demo",
    "max_tokens": 16,
    "system": [{"type": "text", "text": "简短"}],
    "messages": [
        {"role": "user", "content": "你好"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"q": "x"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "晴"}]},
    ],
    "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
}
JSON_ROUTES: list[tuple[str, str, bool, dict[str, Any]]] = [
    ("POST", "/v1/chat/completions", False, CHAT),
    ("POST", "/v1/chat/completions", False, CHAT | {"stream": True}),
    ("POST", "/v1/completions", False, {"model": "hegui-demo", "prompt": "你好", "max_tokens": 5}),
    ("POST", "/v1/embeddings", False, {"model": "hegui-demo", "input": ["你好", "再见"]}),
    ("POST", "/v1/images/generations", False, {"model": "hegui-demo", "prompt": "一只猫", "size": "64x64"}),
    ("PUT", "/hegui/api/users/u1/verification", True, {"verified": True, "method": "id-card"}),
    ("POST", "/hegui/api/users/u1/agreements", True, {"kind": "service", "version": "1", "channel": "api"}),
    ("POST", "/hegui/api/users/u1/consent", True, {"granted": True, "channel": "api", "source": "form"}),
    ("POST", "/hegui/api/users/u1/sanctions", True, {"level": "none", "by": "staff", "reason": "复核"}),
    ("POST", "/hegui/api/agreements", True, {"kind": "privacy", "version": "9", "text": "隐私政策"}),
    ("POST", "/hegui/api/dsr", True, {"user": "u2", "kind": "access", "detail": {"note": "x"}}),
    ("POST", "/hegui/api/dsr/1/complete", True, {"resolution": "ok"}),
    ("POST", "/hegui/api/pool/exports", True, {"name": "weekly"}),
    ("POST", "/v1/responses", False, RESPONSES),
    ("POST", "/v1/responses", False, RESPONSES | {"stream": True}),
    ("POST", "/v1/messages", False, MESSAGES),
    ("POST", "/v1/messages", False, MESSAGES | {"stream": True}),
]

ODD: list[Any] = [
    None,
    True,
    0,
    -3,
    10**23,
    -(10**23),
    1.5,
    1e308,
    "",
    "x" * 300,
    "\x00",
    "a\x00b",
    "\u202e\u200b\ufeff",
    "😀" * 40,
    [],
    {},
    [1, "a", None],
    {"a": {"b": [{"c": "d"}]}},
    ["你好"] * 3,
]

RAW_BODIES: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b"1",
    b"\xff\xfe{\x00",
    b'{"model": "hegui-demo", "messages": [{"role": "user", "content": "\\ud800"}]}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"model": 1e999}',
    b'{"model": NaN}',
    b'{"model": "hegui-demo", "model": 3}',
]


def _png(width: int = 32, height: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` pixels, with (almost) no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _label(name: str, data: bytes, *, must_fail: bool = True, query: str = "") -> Case:
    return Case(
        f"label:{name}", "POST", f"/hegui/api/label?filename={name}{query}", content=data, must_fail=must_fail
    )


def _is_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        return False


def table_cases() -> list[Case]:
    """Inputs known to be bad, on every route."""
    rnd = random.Random(SEED)
    noise = rnd.randbytes(4096)
    cases = [
        # Admin: export names, ids and user ids the file system or the database cannot take.
        Case("export:300", "POST", "/hegui/api/pool/exports", True, {"name": "x" * 300}),
        Case("export:nul", "POST", "/hegui/api/pool/exports", True, {"name": "a\x00b"}),
        Case("export:dots", "POST", "/hegui/api/pool/exports", True, {"name": ".."}),
        Case("export:slash", "POST", "/hegui/api/pool/exports", True, {"name": "a/b"}),
        Case("export:backslash", "POST", "/hegui/api/pool/exports", True, {"name": "a\\b"}),
        Case("export:hidden", "POST", "/hegui/api/pool/exports", True, {"name": ".hidden"}),
        Case("export:number", "POST", "/hegui/api/pool/exports", True, {"name": 7}),
        Case("export:exists", "POST", "/hegui/api/pool/exports", True, {"name": "base"}),
        Case("check:300", "GET", "/hegui/api/pool/exports/" + "x" * 300 + "/check", True),
        Case("check:nul", "GET", "/hegui/api/pool/exports/a%00b/check", True),
        Case("check:dotdot", "GET", "/hegui/api/pool/exports/..%2F..%2Fetc/check", True),
        Case("check:missing", "GET", "/hegui/api/pool/exports/nothing-here/check", True),
        Case("dsr:1e23", "POST", "/hegui/api/dsr/100000000000000000000000/complete", True, {}),
        Case("dsr:2^63", "POST", f"/hegui/api/dsr/{2**63}/complete", True, {}),
        Case("dsr:negative", "POST", "/hegui/api/dsr/-1/complete", True, {}),
        Case("dsr:zero", "POST", "/hegui/api/dsr/0/complete", True, {}),
        Case("dsr:fullwidth", "POST", "/hegui/api/dsr/%EF%BC%91/complete", True, {}),
        Case("dsr:text", "POST", "/hegui/api/dsr/abc/complete", True, {}),
        Case("dsr:missing", "POST", "/hegui/api/dsr/999999/complete", True, {}),
        Case("dsr:user-nul", "POST", "/hegui/api/dsr", True, {"user": "a\x00b", "kind": "access"}),
        Case("dsr:user-300", "POST", "/hegui/api/dsr", True, {"user": "u" * 300, "kind": "access"}),
        Case("user:300", "GET", "/hegui/api/users/" + "u" * 300 + "/sanctions", True),
        Case("user:nul", "POST", "/hegui/api/users/a%00b/consent", True, {"granted": True}),
        Case("user:ctrl", "PUT", "/hegui/api/users/a%0Ab/verification", True, {"verified": True}),
        Case("consent:fax", "GET", "/hegui/api/users/u1/consent?channel=fax", True),
        Case(
            "agreement:version-300",
            "POST",
            "/hegui/api/agreements",
            True,
            {"kind": "service", "version": "v" * 300, "text": "t"},
        ),
        Case(
            "agreement:text-nul",
            "POST",
            "/hegui/api/agreements",
            True,
            {"kind": "service", "version": "n", "text": "a\x00"},
        ),
        Case(
            "agreement:kind",
            "POST",
            "/hegui/api/agreements",
            True,
            {"kind": "cookie", "version": "1", "text": "t"},
        ),
        Case(
            "consent:source-300",
            "POST",
            "/hegui/api/users/u1/consent",
            True,
            {"granted": True, "source": "s" * 300},
        ),
        Case(
            "sanction:level",
            "POST",
            "/hegui/api/users/u1/sanctions",
            True,
            {"level": "banished", "by": "x", "reason": "y"},
        ),
        Case("admin:client-key", "GET", "/hegui/api/dsr", False),
        # Model API.
        Case("chat:unknown-model", "POST", "/v1/chat/completions", json_body=CHAT | {"model": "nope"}),
        Case("chat:n-1e9", "POST", "/v1/chat/completions", json_body=CHAT | {"n": 10**9}),
        Case("chat:n-negative", "POST", "/v1/chat/completions", json_body=CHAT | {"n": -3}),
        Case("chat:no-messages", "POST", "/v1/chat/completions", json_body={"model": "hegui-demo"}),
        Case(
            "completion:prompt-int", "POST", "/v1/completions", json_body={"model": "hegui-demo", "prompt": 5}
        ),
        Case("embedding:empty", "POST", "/v1/embeddings", json_body={"model": "hegui-demo", "input": []}),
        Case("image:no-prompt", "POST", "/v1/images/generations", json_body={"model": "hegui-demo"}),
        Case("model:unknown", "GET", "/v1/models/" + "m" * 300),
        Case("model:nul", "GET", "/v1/models/a%00b"),
        Case("no-key", "GET", "/v1/models/hegui-demo", json_body=None),
        Case(
            "session:300",
            "POST",
            "/v1/chat/completions",
            json_body=CHAT,
            headers=(("x-hegui-session", "s" * 300),),
        ),
        Case(
            "session:empty",
            "POST",
            "/v1/chat/completions",
            json_body=CHAT,
            headers=(("x-hegui-session", ""),),
        ),
        Case(
            "session:tab",
            "POST",
            "/v1/completions",
            json_body={"model": "hegui-demo", "prompt": "x"},
            headers=(("x-hegui-session", "a\tb"),),
        ),
        Case(
            "body:too-large",
            "POST",
            "/v1/chat/completions",
            json_body=CHAT | {"messages": [{"role": "user", "content": "长" * 400_000}]},
        ),
        Case("method:get-chat", "GET", "/v1/chat/completions"),
        Case("method:delete-dsr", "DELETE", "/hegui/api/dsr", True),
        Case("url:unknown", "POST", "/v1/nothing", json_body={}),
        Case("url:unknown-admin", "GET", "/hegui/api/nothing", True),
        Case("auth:basic", "GET", "/v1/models", headers=(("authorization", "Basic abc"),)),
        Case("auth:empty-bearer", "GET", "/v1/models", headers=(("authorization", "Bearer "),)),
        Case("auth:unknown", "GET", "/v1/models", headers=(("authorization", "Bearer hg-" + "x" * 5000),)),
        # Label uploads: odd files of every carrier.
        _label("random.txt", noise),
        _label("utf16.md", "# 标题\n正文".encode("utf-16")),
        _label("utf16be.txt", "正文".encode("utf-16-be")),
        _label("latin1.txt", "café ".encode("latin-1") * 10),
        _label("garbage.mp4", noise),
        _label("garbage.mov", noise[:900]),
        _label("garbage.wav", noise),
        _label("riff.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + noise[:40]),
        _label("garbage.mp3", noise),
        _label("id3.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x10" + noise[:200]),
        _label("garbage.flac", b"fLaC" + noise[:300]),
        _label("garbage.ogg", b"OggS" + noise[:300]),
        _label("garbage.opus", noise[:300]),
        _label("huge.png", png_header(20000, 20000)),
        _label("big.png", png_header(7000, 7000)),
        _label("bomb.png", png_header(10000, 10000)),
        _label("garbage.png", noise[:500]),
        _label("garbage.jpg", b"\xff\xd8" + noise[:500]),
        _label("garbage.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + noise[:50]),
        _label("garbage.pdf", b"%PDF-1.4\n" + noise[:500]),
        _label("garbage.docx", noise[:500]),
        _label("garbage.xlsx", b"PK\x03\x04" + noise[:500]),
        _label("garbage.pptx", b"PK\x03\x04" + noise[:100]),
        _label("program.exe", b"MZ" + noise[:100]),
        _label("", b"abc"),
        _label("a.png", _png(), query="&explicit=maybe"),
        _label("empty.png", b""),
        _label("empty.txt", b""),
    ]
    for raw in RAW_BODIES:
        for method, path, admin, _ in JSON_ROUTES:
            # A JSON object may still be a valid body (a route whose fields are all optional).
            name = f"raw:{path}:{raw[:12]!r}"
            cases.append(Case(name, method, path, admin, content=raw, must_fail=not _is_object(raw)))
    return cases


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _delete(doc: Any, path: tuple[Any, ...]) -> None:
    for key in path[:-1]:
        doc = doc[key]
    del doc[path[-1]]


def mutation_cases() -> list[Case]:
    """Hypothesis-style: every field of every valid body replaced by an odd value, then random
    combinations (replace, delete, add, wrap) drawn from a seeded source; and byte-level damage to
    valid files for the label route."""
    rnd = random.Random(SEED)
    cases: list[Case] = []
    for method, path, admin, body in JSON_ROUTES:
        paths = list(_paths(body))
        for p in paths:  # each field, each odd value once across the route (round robin)
            for odd in rnd.sample(ODD, 4):
                doc = copy.deepcopy(body)
                _set(doc, p, odd)
                cases.append(Case(f"set:{path}:{p}={odd!r:.40}", method, path, admin, doc, must_fail=False))
            doc = copy.deepcopy(body)
            _delete(doc, p)
            cases.append(Case(f"del:{path}:{p}", method, path, admin, doc, must_fail=False))
        for i in range(MUTATIONS_PER_ROUTE):
            doc = copy.deepcopy(body)
            for _ in range(rnd.randint(1, 3)):
                live = list(_paths(doc))
                op = rnd.choice(("set", "set", "delete", "add", "wrap"))
                if op == "add" or not live:
                    _set(
                        doc,
                        (rnd.choice(["extra", "suffix", "negative_prompt", "n", "\x00"]),),
                        rnd.choice(ODD),
                    )
                    continue
                target = rnd.choice(live)
                if op == "set":
                    _set(doc, target, rnd.choice(ODD))
                elif op == "delete":
                    _delete(doc, target)
                else:
                    parent = doc
                    for key in target[:-1]:
                        parent = parent[key]
                    _set(doc, target, [parent[target[-1]]])
            cases.append(
                Case(
                    f"mix{i}:{path}:{json.dumps(doc, ensure_ascii=False)[:60]}",
                    method,
                    path,
                    admin,
                    doc,
                    must_fail=False,
                )
            )
    queries = [
        "x" * 300,
        "%00",
        "a%00b",
        "%ff%fe",
        "..%2F..%2Fetc",
        "1e999",
        "-1",
        "%E5%90%8D",
        "true&status=done",
    ]
    for q in queries:
        cases.append(
            Case(
                f"query:dsr-status={q}",
                "GET",
                f"/hegui/api/dsr?status={q}&overdue={q}",
                True,
                must_fail=False,
            )
        )
        cases.append(
            Case(
                f"query:consent={q}", "GET", f"/hegui/api/users/u1/consent?channel={q}", True, must_fail=False
            )
        )
        cases.append(Case(f"query:models={q}", "GET", f"/v1/models?limit={q}", must_fail=False))
        cases.append(_label(f"{q}.txt", "好的".encode(), must_fail=False))
        cases.append(_label("a.png", _png(), must_fail=False, query=f"&explicit={q}"))
    valid = {
        "img.png": _png(),
        "doc.txt": "好的，这是一段文字。".encode(),
        "doc.md": "# 标题\n\n正文".encode(),
    }
    for name, data in valid.items():
        for i in range(12):
            damaged = bytearray(data)
            if rnd.random() < 0.5:
                damaged = damaged[: rnd.randint(0, len(damaged))]
            for _ in range(rnd.randint(1, 8)):
                if damaged:
                    damaged[rnd.randrange(len(damaged))] = rnd.randrange(256)
            cases.append(_label(f"{i}-{name}", bytes(damaged), must_fail=False))
    return cases


# ---------------------------------------------------------------- running a case


def _snapshot(gw: Gateway) -> dict[str, int]:
    """Rows in every table (the audit chain and every records table), once the turns of earlier requests
    are kept (the keep journal is carried out after the responses: records/keep.py)."""
    state = gw.state
    assert settle(state.engine, state.vault, state.policy.records) == 0
    with gw.state.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }


def _check(gw: Gateway, case: Case) -> None:
    who = gw.admin if case.admin else gw.client
    if case.name == "no-key":
        who = TestClient(gw.client.app, raise_server_exceptions=False)
    before = _snapshot(gw)
    kwargs: dict[str, Any] = {}
    if case.content is not None:
        kwargs["content"] = case.content
        kwargs["headers"] = (
            {"content-type": "application/json"} if not case.path.startswith("/hegui/api/label") else {}
        )
    elif case.json_body is not None or case.method in ("POST", "PUT"):
        kwargs["content"] = json.dumps(case.json_body, ensure_ascii=False).encode()
        kwargs["headers"] = {"content-type": "application/json"}
    if case.headers:
        kwargs["headers"] = kwargs.get("headers", {}) | dict(case.headers)
    r = who.request(case.method, case.path, **kwargs)
    gw.outcomes[case.name] = r.status_code
    assert r.status_code < 500, f"{case.name}: {r.status_code} {r.text[:300]}"
    if case.must_fail:
        assert 400 <= r.status_code < 500, f"{case.name}: {r.status_code} {r.text[:300]}"
    if r.status_code < 400:
        return
    error = r.json()["error"]
    if case.path == "/v1/messages":  # Anthropic's Messages API answers errors in its own shape
        assert r.json()["type"] == "error" and set(error) == {"type", "message"}, f"{case.name}: {error}"
    else:
        assert set(error) == {"message", "type", "param", "code"}, f"{case.name}: {error}"
    assert isinstance(error["message"], str) and error["message"], case.name
    for leak in (*LEAKS, str(gw.data_dir)):
        assert leak not in error["message"], f"{case.name}: the message shows {leak!r}: {error['message']}"
    assert gw.state.audit.healthy
    assert _snapshot(gw) == before, f"{case.name}: a rejected request left a record"


TABLE = table_cases()
MUTATIONS = mutation_cases()


def test_the_corpus_is_large() -> None:
    assert len(TABLE) + len(MUTATIONS) >= 400


def test_known_bad_inputs_are_4xx_and_leave_nothing(gateway: Gateway) -> None:
    failures = []
    for case in TABLE:
        try:
            _check(gateway, case)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures)


def test_mutated_inputs_are_never_5xx(gateway: Gateway) -> None:
    failures = []
    for case in MUTATIONS:
        try:
            _check(gateway, case)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures)
    rejected = sum(1 for c in MUTATIONS if gateway.outcomes[c.name] >= 400)
    assert rejected >= len(MUTATIONS) // 3, f"only {rejected} of {len(MUTATIONS)} mutations were rejected"
