"""The gateway's long-lived objects, kept out of the cyclic garbage collector's full passes.

A gateway with the 64k-term lexicon holds about 380,000 Python objects made at start-up (the terms and
their tables, the models, every imported module) that live as long as the process. CPython's full
(generation 2) collection walks all of them, about 50–100 ms during which the event loop serves
nothing; under many concurrent requests more objects survive into generation 2 and such passes come
more often (py-spy at 256 connections: single frames of 35–40 samples at 200 Hz). `gc.freeze` exists for
this: everything alive is moved to a permanent generation that collections skip. A served process
(`hegui serve`, each worker) freezes once its gateway is built (`freeze_built`); collections then walk
only what requests made.

A policy reload replaces the pipeline, which may hold reference cycles that only a collection frees:
frozen, it would never be freed. `thaw_until_gone` therefore unfreezes everything when a reload swaps, and
freezes again once the replaced pipeline is gone (a request that began before the swap may keep it
until its end). That refreeze collects once first: a pause of about 0.1 s on the event loop, once per
reload. Objects alive at that moment are frozen with it: garbage cycles among them wait until the next
reload; everything without a cycle is freed by its reference count as always.

Only served processes freeze: a test process builds hundreds of gateways, and frozen, their cycles
would never be freed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import weakref

log = logging.getLogger(__name__)

#: Weak references waiting for a replaced pipeline to be collected (a weakref must live for its callback).
_waiting: set[weakref.ref[object]] = set()


def freeze_built() -> None:
    """Collect once, then keep everything alive now out of later collections."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "%d objects of the built gateway kept out of garbage collection (%.0f ms)",
        gc.get_freeze_count(),
        1e3 * (time.perf_counter() - started),
    )


def thaw_until_gone(replaced: object, loop: asyncio.AbstractEventLoop) -> None:
    """After a swap: unfreeze (so that ``replaced`` can be collected, cycles and all), and freeze again on
    ``loop`` once it is gone. Nothing to do in a process that never froze."""
    if gc.get_freeze_count() == 0:
        return

    def gone(ref: weakref.ref[object]) -> None:
        # Runs inside whatever freed it, perhaps a collection in another thread: never collect here.
        _waiting.discard(ref)
        with contextlib.suppress(RuntimeError):  # the loop has closed: the process is ending
            loop.call_soon_threadsafe(freeze_built)

    gc.unfreeze()
    _waiting.add(weakref.ref(replaced, gone))
