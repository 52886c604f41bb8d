"""End to end: egress control through a started gateway whose upstream is marked foreign.

The fake upstream (a local server started by the test) logs every body it receives, so the test sees
exactly what crossed the border.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import openai
import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import VENV_BIN, create_key, fake_upstream, free_port, hegui_env, hegui_server

from hegui.policy import load_policy
from hegui.records.db import make_engine
from hegui.records.egress import counting_year, year_counts

pytestmark = pytest.mark.e2e

RID = "11010519491231002X"
PHONE = "13812345678"
POLICY = """
version = "e2e-egress"
[provider]
region = "CN"

[[upstreams]]
name = "foreign"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
region = "US"
models = ["foreign-model"]
read_timeout = 5.0
total_timeout = 10.0
"""


@dataclass(frozen=True)
class Foreign:
    base_url: str
    key: str
    env: dict[str, str]
    log: Path
    policy: Path


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Foreign]:
    root = tmp_path_factory.mktemp("egress")
    up_port, port = free_port(), free_port()
    policy = root / "hegui.toml"
    policy.write_text(POLICY.format(port=up_port), encoding="utf-8")
    log = root / "upstream.jsonl"
    env = hegui_env(root / "data", policy)
    key = create_key(env)
    with fake_upstream(up_port, log), hegui_server(port, env, root / "hegui.log"):
        yield Foreign(f"http://127.0.0.1:{port}/v1", key, env, log, policy)


def sent(fx: Foreign) -> str:
    return fx.log.read_text(encoding="utf-8") if fx.log.exists() else ""


def client(fx: Foreign) -> OpenAI:
    return OpenAI(base_url=fx.base_url, api_key=fx.key, max_retries=0)


def counts(fx: Foreign) -> tuple[int, int]:
    engine = make_engine(f"sqlite:///{Path(fx.env['HEGUI_DATA_DIR']) / 'hegui.db'}")
    try:
        return year_counts(engine, counting_year(load_policy(fx.policy).egress, datetime.now(UTC)))
    finally:
        engine.dispose()


def test_phone_is_pseudonymized_upstream_and_restored_for_the_user(foreign: Foreign) -> None:
    before = counts(foreign)
    answer = client(foreign).chat.completions.create(
        model="foreign-model", messages=[{"role": "user", "content": f"请回电{PHONE}"}], user="alice"
    )
    text = answer.choices[0].message.content or ""
    assert PHONE in text  # the fake upstream echoes the token; the gateway restored it
    assert PHONE not in sent(foreign) and "[PHONE_1]" in sent(foreign)
    assert counts(foreign)[0] > before[0]


@pytest.mark.parametrize("split", [1, 3, 7])
def test_streamed_answer_is_restored_across_chunks(foreign: Foreign, split: int) -> None:
    token = "[PHONE_1]"
    chunks = ["号码是", token[:split], token[split:], "。"]
    stream = client(foreign).chat.completions.create(
        model="foreign-model",
        messages=[{"role": "user", "content": f"我的号码{PHONE}"}],
        stream=True,
        user="bob",
        extra_body={"x_script": {"chunks": chunks}},
    )
    out = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert f"号码是{PHONE}。" in out
    assert PHONE not in sent(foreign)


def test_resident_id_without_consent_is_refused_and_not_sent(foreign: Foreign) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(foreign).chat.completions.create(
            model="foreign-model", messages=[{"role": "user", "content": f"身份证{RID}"}], user="carol"
        )
    assert "resident ID numbers" in str(info.value) and "PIPL art. 39" in str(info.value)
    assert RID not in sent(foreign)


def test_resident_id_with_consent_passes_pseudonymized(foreign: Foreign) -> None:
    subprocess.run(
        [str(VENV_BIN / "hegui"), "egress", "consent", "add", "dave", "--recipient", "Foreign Inc.",
         "--contact", "privacy@foreign.example", "--purpose", "answers", "--method", "API",
         "--data-type", "identity number", "--rights", "write to privacy@foreign.example"],
        env={**os.environ, **foreign.env},  # as create_key: the code under test, also with PYTHONPATH
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    before = counts(foreign)
    answer = client(foreign).chat.completions.create(
        model="foreign-model", messages=[{"role": "user", "content": f"身份证{RID}"}], user="dave"
    )
    assert RID in (answer.choices[0].message.content or "")
    assert RID not in sent(foreign)
    assert counts(foreign)[1] > before[1]
    assert load_policy(foreign.policy).egress.enabled
    assert all(RID not in json.dumps(json.loads(line)) for line in sent(foreign).splitlines())
