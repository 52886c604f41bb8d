"""A process killed (SIGKILL) in the middle of an export or a deletion leaves a consistent state.

The child process runs the real code on the same database and kills itself at a chosen point inside
the operation (after the records file is written but before the rename; after the key is shredded and
the turns deleted but before the transaction commits)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hegui.records.config import RecordsPolicy
from hegui.records.conversations import store_turn, turns_of
from hegui.records.dsr import erase_user
from hegui.records.export import check_export, export_pool
from hegui.records.pool import admit_to_pool, pool_size
from hegui.records.vault import Vault

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from hegui.records.db import make_engine
    from hegui.records.vault import Vault

    url, master, what, out = sys.argv[1:5]
    engine = make_engine(url)

    def die(*_a, **_k):
        os.kill(os.getpid(), signal.SIGKILL)

    if what == "export":
        import hegui.records.export as ex
        ex._fsync_dir = die  # records and manifest written, not yet renamed
        ex.export_pool(engine, Path(out))
    else:
        import hegui.records.dsr as dsr
        dsr.tombstone_user = die  # key shredded and turns deleted, transaction not committed
        dsr.erase_user(engine, Vault(engine, bytes.fromhex(master)), "t", "u")
    """
)


def _fill(engine: Engine, vault: Vault) -> None:
    for i, text in enumerate(["讲个笑话吧", "写一首关于春天的诗", "解释一下光合作用"]):
        store_turn(
            engine, vault, tenant="t", user="u", session=None, request_id=f"r{i}", role="user", text=text
        )
        admit_to_pool(
            engine,
            RecordsPolicy(),
            tenant="t",
            user="u",
            channel="chat",
            request_id=f"r{i}",
            prompt=text,
            answer="好的",
            input_action="allow",
            output_action="allow",
        )


def _kill_child(engine: Engine, master: bytes, what: str, out: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, url, master.hex(), what, str(out)], capture_output=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]


@pytest.mark.parametrize("what", ["export", "deletion"])
def test_killed_midway_leaves_a_consistent_state(engine: Engine, tmp_path: Path, what: str) -> None:
    master = os.urandom(32)
    vault = Vault(engine, master)
    _fill(engine, vault)
    out = tmp_path / "export"
    _kill_child(engine, master, what, out)
    # Nothing half-done is visible: no export under the real name, no partial erasure.
    assert not out.exists()
    fresh = Vault(engine, master)
    assert [t.text for t in turns_of(engine, fresh, "t", "u")] == [
        "讲个笑话吧",
        "写一首关于春天的诗",
        "解释一下光合作用",
    ]
    assert pool_size(engine) == 3
    # And the operation can simply be run again.
    if what == "export":
        assert export_pool(engine, out).records == 3 and check_export(engine, out).clean
    else:
        assert erase_user(engine, fresh, "t", "u").turns_deleted == 3
        assert turns_of(engine, Vault(engine, master), "t", "u") == [] and pool_size(engine) == 0
