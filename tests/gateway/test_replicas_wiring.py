"""The gateway's side of replication: a lexicon reload heard from another replica, and the fast path of
the rate-limit gate when no limit applies."""

from __future__ import annotations

from pathlib import Path

from hegui.cluster.limiter import Holder
from hegui.gateway.replicas import lexicon_checks, reload_lexicons
from hegui.guard.types import Context, Stage
from hegui.pipelines import build_pipeline
from hegui.policy import parse_policy

from .conftest import BASE_POLICY, MakeClient

CHECKS = """
[[checks]]
name = "kw"
type = "lexicon"
path = "{path}"
category = "A.1h"
action = "refuse"
tier_default = "red-line"

[[checks]]
name = "split"
type = "split_turns"
terms = ["分开的词"]
"""


def test_reload_lexicons_reads_the_files_again(tmp_path: Path) -> None:
    lex = tmp_path / "lex.txt"
    lex.write_text("第一个禁词\n", encoding="utf-8")
    pipeline = build_pipeline(parse_policy(BASE_POLICY + CHECKS.format(path=lex), str(tmp_path / "t.toml")))
    assert [c.name for c in lexicon_checks(pipeline)] == ["kw"]
    ctx = Context(tenant="t")
    assert not pipeline.run(Stage.INPUT, "第二个禁词", ctx).stops
    lex.write_text("第一个禁词\n第二个禁词\n", encoding="utf-8")
    reload_lexicons(pipeline)
    assert pipeline.run(Stage.INPUT, "第二个禁词", ctx).stops
    lex.write_bytes(b"\xff\xfe broken")
    reload_lexicons(pipeline)  # logged; the check keeps its last good version
    assert pipeline.run(Stage.INPUT, "第二个禁词", ctx).stops


def test_no_limit_applies_without_limits(make_client: MakeClient) -> None:
    client = make_client()
    limiter = client.app.state.hegui.replicas.limiter
    holder = Holder(1, "default", "someone")
    assert not limiter.applies(holder)
    assert limiter.charges(holder, stream=True, prompt_tokens=10) == []
    assert (
        client.post(
            "/v1/chat/completions",
            json={"model": "hegui-demo", "messages": [{"role": "user", "content": "hi"}]},
        ).status_code
        == 200
    )


def test_redis_down_fails_closed_where_it_must(make_client: MakeClient) -> None:
    """Nothing listens on port 1. The gateway starts; requests without session memory are served,
    counting their limits in process memory; a request whose check needs the (shared) session memory
    is refused, not passed unchecked; readiness can say why."""
    policy = BASE_POLICY + '[[checks]]\nname = "split"\ntype = "split_turns"\nterms = ["分开的词"]\n'
    client = make_client(
        policy + "[limits.key]\nrequests_per_minute = 100\n", redis_url="redis://127.0.0.1:1/0"
    )
    state = client.app.state.hegui
    assert not state.shared.connected
    body = {"model": "hegui-demo", "messages": [{"role": "user", "content": "hi"}]}
    assert client.post("/v1/chat/completions", json=body).status_code == 200
    refused = client.post("/v1/chat/completions", json=body | {"user": "u1"})
    assert refused.status_code == 500 and refused.json()["error"]["code"] == "check_failed"
    assert client.portal.call(_ping_fails, state)


async def _ping_fails(state: object) -> bool:
    from hegui.errors import StorageError

    try:
        await state.shared.ping()  # type: ignore[attr-defined]
    except StorageError:
        return True
    return False
