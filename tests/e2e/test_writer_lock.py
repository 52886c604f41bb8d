"""One gateway per SQLite file (issue 12.10): a second `hegui serve` on the same data directory refuses
to start with a message naming the file and the holder; once the first stops, the next one starts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from servers import VENV_BIN, free_port, hegui_env, hegui_server

from hegui.errors import DatabaseInUse
from hegui.records.writer_lock import acquire, sqlite_file

pytestmark = pytest.mark.e2e


def test_a_second_serve_on_the_same_data_refuses(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = hegui_env(data)
    first, second = free_port(), free_port()
    with hegui_server(first, env):
        refused = subprocess.run(
            [str(VENV_BIN / "hegui"), "serve", "--port", str(second)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2, refused.stderr
        database = (data / "hegui.db").resolve()
        assert refused.stderr.startswith(f"error: {database} is in use by another hegui serve (pid "), (
            refused.stderr
        )
        assert f"http://127.0.0.1:{first})" in refused.stderr
        assert "another --data-dir" in refused.stderr and refused.stderr.count("\n") == 1
    with hegui_server(second, env):  # the first released its lock when it stopped
        pass


def test_the_lock_is_for_sqlite_files_only(tmp_path: Path) -> None:
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgresql+psycopg://u:p@h/db") is None
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert sqlite_file(url) == tmp_path / "x.db"
    lock = acquire(url, "pid 1")
    assert lock is not None and (tmp_path / "x.db.lock").read_text() == "pid 1"
    with pytest.raises(DatabaseInUse, match=r"in use by another hegui serve \(pid 1\)"):
        acquire(url, "pid 2")
    lock.release()
    again = acquire(url, "pid 2")
    assert again is not None and (tmp_path / "x.db.lock").read_text() == "pid 2"
    again.release()
