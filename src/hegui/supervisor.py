"""The supervisor of `hegui serve --workers N`: uvicorn's process manager, and nothing of the gateway.

`hegui serve` prepares what the workers must not do all at once (policy check, secrets, migration, first
key: see `hegui.cli.workers`), then replaces itself (``exec``, same pid, so signals and a container's
PID 1 stay where they were) with this module, which imports only uvicorn and the log format. The
supervisor serves no request: keeping the command's imports alive in it would cost ~150 MiB for nothing
(docs/deploy.md measures it). Its one argument is uvicorn's options as JSON.

SIGHUP: uvicorn's supervisor would restart every worker in turn; this one forwards the signal to each
worker instead, and each reloads its policy file in place (`hegui.gateway.policy_reload`): the same
reload as one process's, with the same refusals, and no worker's start-up cost.

A dead worker is replaced at once. uvicorn pings each worker every half second and waits for its answer
up to `timeout_worker_healthcheck` (120 s here, so that a busy or starting worker is not killed); its
wait reads only the pipe, whose other end the supervisor also holds, so a worker killed while a ping to
it was outstanding was replaced only after those 120 s. Here the wait also ends when the worker's
process does (`WatchedProcess`).
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sys
from multiprocessing.connection import wait
from typing import TYPE_CHECKING

from uvicorn.supervisors.multiprocess import Process

if TYPE_CHECKING:
    from uvicorn.supervisors import Multiprocess

#: What each worker process imports and calls to build its gateway (from the HEGUI_* environment).
WORKER_FACTORY = "hegui.gateway.app:create_served_app"


def forwarding_supervisor() -> type[Multiprocess]:
    """uvicorn's process manager, with SIGHUP forwarded to the workers rather than restarting them."""
    from uvicorn.supervisors import Multiprocess

    class ForwardingSupervisor(Multiprocess):
        def handle_hup(self) -> None:
            for process in self.processes:
                if process.pid is not None and process.exitcode is None:
                    os.kill(process.pid, signal.SIGHUP)

    return ForwardingSupervisor


class WatchedProcess(Process):
    """uvicorn's worker process, whose health-check ping also ends when the process does. (At module
    level: a spawned worker unpickles its process object by name.)"""

    def _healthcheck(self, timeout: float) -> bool | None:
        """The worker's start-up flag, or None if it does not answer in time or dies meanwhile."""
        try:
            self.parent_conn.send(b"ping")
            if self.parent_conn not in wait([self.parent_conn, self.process.sentinel], timeout):
                return None
            started: bool = self.parent_conn.recv()
            return started
        except (OSError, EOFError, pickle.UnpicklingError):
            return None


def main(argv: list[str] | None = None) -> None:
    import uvicorn
    from uvicorn.supervisors import multiprocess

    # The supervisor builds its workers by this name; this process is the supervisor and nothing else.
    multiprocess.Process = WatchedProcess  # type: ignore[misc]

    options = json.loads((argv if argv is not None else sys.argv[1:])[0])
    # What `uvicorn.run` does for workers > 1, with our supervisor class.
    config = uvicorn.Config(WORKER_FACTORY, factory=True, **options)
    forwarding_supervisor()(config, sockets=[config.bind_socket()]).run()


if __name__ == "__main__":
    main()
