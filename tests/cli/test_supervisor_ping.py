"""The supervisor of `hegui serve --workers N` sees a worker die while its health-check ping is out."""

from __future__ import annotations

import multiprocessing
import threading
import time

import uvicorn
from uvicorn.supervisors import multiprocess

from hegui.supervisor import WORKER_FACTORY, WatchedProcess


def test_uvicorn_still_pings_through_the_method_the_supervisor_replaces() -> None:
    assert callable(getattr(multiprocess.Process, "_healthcheck", None))


def test_a_ping_to_a_worker_that_dies_ends_when_the_worker_does() -> None:
    """uvicorn's own ping reads only the pipe and would wait the whole timeout (60 s here)."""
    worker = WatchedProcess(uvicorn.Config(WORKER_FACTORY, factory=True), sockets=[])
    # A process that never answers a ping (as a busy worker), in place of the server process.
    worker.process = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    worker.process.start()
    killer = threading.Timer(0.5, worker.process.kill)
    killer.start()
    started = time.monotonic()
    try:
        assert worker.is_alive(timeout=60) is False
        assert time.monotonic() - started < 10
    finally:
        killer.cancel()
        worker.process.kill()
        worker.process.join()
