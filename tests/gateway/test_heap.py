"""A served gateway keeps its built objects out of full garbage collections (hegui.gateway.heap), and a
policy reload unfreezes until the replaced pipeline is collected, then freezes again.

Each scenario runs in its own interpreter: freezing is process-wide, and frozen, the objects of the
other tests' gateways would never be collected."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

POLICY = """
version = "1"
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]
[[checks]]
name = "deny"
type = "denylist"
terms = ["冻结测试词"]
"""


def _run(script: str, tmp_path: Path, **env: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env={**os.environ, "HEGUI_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_worker_s_gateway_is_frozen_once_built(tmp_path: Path) -> None:
    """The supervisor's factory (`create_served_app`) freezes; `create_app` alone does not."""
    out = _run(
        """
        import gc
        from hegui.gateway.app import create_app, create_served_app
        from hegui.supervisor import WORKER_FACTORY
        assert WORKER_FACTORY == "hegui.gateway.app:create_served_app"
        create_app()
        print("plain", gc.get_freeze_count())
        app = create_served_app()
        print("served", gc.get_freeze_count())
        """,
        tmp_path,
    )
    counts = dict(line.split() for line in out.splitlines())
    assert int(counts["plain"]) == 0
    assert int(counts["served"]) > 10_000  # the modules, the policy and the pipeline


@pytest.mark.parametrize("pinned", [False, True])
def test_a_reload_thaws_until_the_replaced_pipeline_is_gone(tmp_path: Path, pinned: bool) -> None:
    """While a request still holds the replaced pipeline nothing is frozen; once it is collected, the
    gateway freezes again (with the new pipeline)."""
    policy = tmp_path / "hegui.toml"
    policy.write_text(POLICY, encoding="utf-8")
    out = _run(
        f"""
        import gc, time, weakref
        from pathlib import Path
        from starlette.testclient import TestClient
        from hegui.gateway.app import create_app
        from hegui.gateway.heap import freeze_built
        from hegui.settings import Settings
        app = create_app(Settings(policy_file=Path("hegui.toml")))
        state = app.state.hegui
        key, _ = state.keys.create(name="t", role="admin")
        freeze_built()
        print("built", gc.get_freeze_count())
        with TestClient(app, headers={{"authorization": f"Bearer {{key}}"}}) as client:
            held = state.pinned() if {pinned} else None  # a request that began before the swap
            old = weakref.ref(state.pipeline)
            Path("hegui.toml").write_text(Path("hegui.toml").read_text().replace("冻结测试词", "新词"))
            assert client.post("/hegui/api/policy/reload").status_code == 200
            print("after-swap", gc.get_freeze_count())
            held = None
            gc.collect()
            print("old-gone", old() is None)
            for _ in range(100):  # the refreeze is scheduled on the app's loop
                client.get("/healthz")
                if gc.get_freeze_count():
                    break
                time.sleep(0.02)
            print("refrozen", gc.get_freeze_count())
            print("new-frozen", state.pipeline.policy_version)
        """,
        tmp_path,
    )
    lines = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert int(lines["built"]) > 10_000
    assert lines["old-gone"] == "True"
    assert int(lines["refrozen"]) > 10_000
    if pinned:
        assert int(lines["after-swap"]) == 0  # the held pipeline is not frozen (it could never be freed)
