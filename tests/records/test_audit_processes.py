"""Several processes append to one audit chain on PostgreSQL, as `hegui serve --workers N` and replicas
do: each has its own writer thread and group commit, and they serialize on the head row's lock. The chain
must come out whole: one entry per append, numbered without gaps, every link and MAC verifying."""

from __future__ import annotations

import secrets
import subprocess
import sys
import textwrap
from collections import Counter
from itertools import pairwise

import pytest
from sqlalchemy import Engine

from hegui.records.audit import iter_entries, verify_chain
from hegui.records.audit_keys import MacKeyRing

pytestmark = pytest.mark.postgres

PROCESSES = 3
APPENDS = 150  # per process, from 6 threads each: many group commits racing for the head

# The child: its own engine and AuditLog, appending from several threads at once.
CHILD = textwrap.dedent(
    """
    import sys, threading
    from hegui.records.audit import AuditDraft, AuditLog, with_audit_keys
    from hegui.records.audit_keys import MacKeyRing
    from hegui.records.db import make_engine

    url, key, name, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    engine = with_audit_keys(make_engine(url), MacKeyRing.parse(key))
    log = AuditLog(engine, batch_max=16)
    log.start()
    print("ready", flush=True)
    sys.stdin.readline()  # all start at once: a child slow to import must not find the others done

    def work(t):
        for i in range(t, n, 6):
            log.append_sync(AuditDraft(f"{name}-{i}", "input", "allow", "p", f"{i:064x}"))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    print(log.batches)
    """
)


# Several writing processes are a PostgreSQL deployment: SQLite takes one per file (writer_lock).
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_processes_appending_at_once_keep_one_whole_chain(engine: Engine) -> None:
    key = secrets.token_hex(32)
    url = engine.url.render_as_string(hide_password=False)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url, key, f"w{p}", str(APPENDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for p in range(PROCESSES)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()  # communicate() closes it
    batches = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        batches.append(int(out.strip()))
    report = verify_chain(engine, keys=MacKeyRing.parse(key))
    assert report.entries == report.macs_checked == PROCESSES * APPENDS
    entries = list(iter_entries(engine))
    assert [e.seq for e in entries] == list(range(1, PROCESSES * APPENDS + 1))
    by_writer = Counter(e.request_id.split("-")[0] for e in entries)
    assert by_writer == {f"w{p}": APPENDS for p in range(PROCESSES)}
    assert all(b < APPENDS for b in batches), f"group commit wrote one entry per transaction: {batches}"
    # The writers interleaved on the chain (they raced), rather than one finishing before the next began.
    switches = sum(1 for a, b in pairwise(entries) if a.request_id[:2] != b.request_id[:2])
    assert switches >= PROCESSES
