"""The supervisor of `hegui serve --workers N`: uvicorn's process manager, and nothing of the gateway.

`hegui serve` prepares what the workers must not do all at once (policy check, secrets, migration, first
key: see `hegui.cli.workers`), then replaces itself (``exec``, same pid, so signals and a container's
PID 1 stay where they were) with this module, which imports only uvicorn and the log format. The
supervisor serves no request: keeping the command's imports alive in it would cost ~150 MiB for nothing
(docs/deploy.md measures it). Its one argument is uvicorn's options as JSON.
"""

from __future__ import annotations

import json
import sys

#: What each worker process imports and calls to build its gateway (from the HEGUI_* environment).
WORKER_FACTORY = "hegui.gateway.app:create_app"


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    options = json.loads((argv if argv is not None else sys.argv[1:])[0])
    uvicorn.run(WORKER_FACTORY, factory=True, **options)


if __name__ == "__main__":
    main()
